import { makeContext } from '../context.js';
import { humanSize } from '../format.js';
import { println } from '../io.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild prune`: removes dangling images and blobs no name reaches. */
export const registerPrune: RegisterCommand = (program, io, signal) =>
  program
    .command('prune')
    .description('Remove dangling images and every blob no image name reaches')
    .action(async (_options: unknown, ...rest: unknown[]) => {
      const ctx = makeContext(commandOf(rest), io, signal);
      const store = await ctx.store();
      const result = await store.prune();
      println(io.stdout, `Deleted ${result.removedImages} dangling image(s) and ${result.removedBlobs} blob(s)`);
      println(io.stdout, `Total reclaimed space: ${humanSize(result.freedBytes)}`);
    });
