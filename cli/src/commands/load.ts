import { makeContext } from '../context.js';
import { println } from '../io.js';
import { CommandFailed, ExitCode } from '../program.js';
import { imageModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild load -i FILE`. */
export const registerLoad: RegisterCommand = (program, io, signal) =>
  program
    .command('load')
    .description('Load images from a docker-archive or oci-archive tar (format detected; gzip-compressed too)')
    .option('-i, --input <file>', 'archive to read, or - for standard input (the default)')
    .action(async (options: { input?: string }, ...rest: unknown[]) => {
      const { loadArchive } = await imageModule();
      const ctx = makeContext(commandOf(rest), io, signal);
      const input = options.input ?? '-';
      if (input === '-' && io.stdin.isTTY) {
        throw new CommandFailed('no archive given: use -i FILE or pipe one to standard input', ExitCode.usage);
      }
      const store = await ctx.store();
      const loaded = await loadArchive(store, input, { stdin: io.stdin, signal });
      for (const image of loaded) {
        if (image.names.length === 0) println(io.stdout, `Loaded image ID: ${image.id}`);
        for (const name of image.names) println(io.stdout, `Loaded image: ${name}`);
      }
    });
