import { makeContext } from '../context.js';
import { println } from '../io.js';
import { isUserError, reportError } from '../program.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild rmi IMAGE...`: removes names; `prune` frees the blobs. */
export const registerRmi: RegisterCommand = (program, io, signal, state) =>
  program
    .command('rmi')
    .description('Remove image names (an image that loses its last name is removed; its blobs go with `prune`)')
    .argument('<images...>', 'names or image IDs')
    .action(async (queries: string[], _options: unknown, ...rest: unknown[]) => {
      const ctx = makeContext(commandOf(rest), io, signal);
      const store = await ctx.store();
      for (const query of queries) {
        try {
          const removed = await store.removeImage(query);
          for (const name of removed) println(io.stdout, `Untagged: ${name}`);
          if (removed.length === 0) println(io.stdout, `Deleted: ${query}`);
        } catch (err) {
          if (!(await isUserError(err))) throw err;
          state.exitCode = await reportError(io, err, ctx.debug);
        }
      }
    });
