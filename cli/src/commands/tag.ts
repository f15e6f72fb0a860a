import { makeContext } from '../context.js';
import { imageModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild tag SRC DST`. */
export const registerTag: RegisterCommand = (program, io, signal) =>
  program
    .command('tag')
    .description('Give an image another name')
    .argument('<source>', 'name, name@digest or image ID')
    .argument('<target>', 'new name, e.g. app:2 or localhost:5000/app:2')
    .action(async (source: string, target: string, _options: unknown, ...rest: unknown[]) => {
      const ctx = makeContext(commandOf(rest), io, signal);
      const { storeName } = await imageModule();
      storeName(target); // reject a bad name before touching the store
      const store = await ctx.store();
      await store.tag(source, target);
    });
