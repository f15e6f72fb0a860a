import type { BuildCachePruneResult } from '@tsbuild/builder';
import { makeContext } from '../context.js';
import { humanSize } from '../format.js';
import { println } from '../io.js';
import { builderModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild prune`: removes dangling images, blobs no name reaches, and the build cache that used them. */
export const registerPrune: RegisterCommand = (program, io, signal) =>
  program
    .command('prune')
    .description('Remove dangling images, every blob no image name reaches, and the build cache and snapshots that used them')
    .action(async (_options: unknown, ...rest: unknown[]) => {
      const { pruneBuildCache } = await builderModule();
      const ctx = makeContext(commandOf(rest), io, signal);
      const store = await ctx.store();
      let cache: BuildCachePruneResult = { records: 0, snapshots: 0 };
      const result = await store.prune({
        onPruned: async ({ blobs, index }) => {
          cache = await pruneBuildCache(store, blobs, index);
        },
      });
      println(io.stdout, `Deleted ${result.removedImages} dangling image(s) and ${result.removedBlobs} blob(s)`);
      println(io.stdout, `Deleted ${cache.records} build cache record(s) and ${cache.snapshots} snapshot(s)`);
      println(io.stdout, `Total reclaimed space: ${humanSize(result.freedBytes)} of blobs`);
    });
