import { Option } from 'commander';
import type { UsageRow } from '@tsbuild/image';
import { makeContext } from '../context.js';
import { humanSize, table } from '../format.js';
import { println } from '../io.js';
import { imageModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild df`: disk used by the store, like `docker system df`. */
export const registerDf: RegisterCommand = (program, io, signal) =>
  program
    .command('df')
    .description('Show disk used by images, unique and shared layers, build cache and snapshots')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (options: { format: string }, ...rest: unknown[]) => {
      const { diskUsage } = await imageModule();
      const ctx = makeContext(commandOf(rest), io, signal);
      const usage = await diskUsage(await ctx.store());
      if (options.format === 'json') {
        println(io.stdout, JSON.stringify(usage, null, 2));
        return;
      }
      const row = (type: string, u: UsageRow): string[] => [
        type,
        String(u.count),
        String(u.active),
        humanSize(u.size),
        `${humanSize(u.reclaimable)} (${u.size === 0 ? 0 : Math.round((u.reclaimable / u.size) * 100)}%)`,
      ];
      println(
        io.stdout,
        table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], [
          row('Images', usage.images),
          row('Layers (unique)', usage.uniqueLayers),
          row('Layers (shared)', usage.sharedLayers),
          row('Build cache', usage.buildCache),
          row('Snapshots', usage.snapshots),
        ]),
      );
    });
