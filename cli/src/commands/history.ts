import { Option } from 'commander';
import type { History } from '@tsbuild/oci';
import { makeContext } from '../context.js';
import { humanSize, shortId, table, timeAgo, truncate } from '../format.js';
import { println } from '../io.js';
import { commandOf, type RegisterCommand } from './types.js';

/** One row of `tsbuild history`. */
export interface HistoryRow {
  /** The layer digest for a step that made one (the top row also names the image). */
  layer: string | null;
  created: string | null;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** `tsbuild history IMAGE`: one row per history entry, newest first, like `docker history`. */
export const registerHistory: RegisterCommand = (program, io, signal) =>
  program
    .command('history')
    .description('Show what made each layer of an image')
    .argument('<image>', 'name, name@digest or image ID')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--no-trunc', 'do not truncate the CREATED BY column')
    .action(async (query: string, options: { format: string; trunc: boolean }, ...rest: unknown[]) => {
      const ctx = makeContext(commandOf(rest), io, signal);
      const store = await ctx.store();
      const image = await store.getImage(query);
      const layers = [...image.layers];
      const history: History[] = image.config.history ?? layers.map(() => ({}));
      const rows: HistoryRow[] = [];
      let next = 0;
      for (const entry of history) {
        const empty = entry.empty_layer === true;
        const layer = empty ? undefined : layers[next++];
        rows.push({
          layer: layer?.descriptor.digest ?? null,
          created: entry.created ?? null,
          createdBy: entry.created_by ?? '',
          size: layer?.descriptor.size ?? 0,
          comment: entry.comment ?? '',
          emptyLayer: empty,
        });
      }
      // Layers the history does not account for (a config without history for them).
      for (; next < layers.length; next++) {
        rows.push({ layer: layers[next]!.descriptor.digest, created: null, createdBy: '', size: layers[next]!.descriptor.size, comment: '', emptyLayer: false });
      }
      rows.reverse();
      if (options.format === 'json') {
        println(io.stdout, JSON.stringify(rows.map(({ created, createdBy, size, comment, emptyLayer }) => ({ created, createdBy, size, comment, emptyLayer })), null, 2));
        return;
      }
      println(
        io.stdout,
        table(
          ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
          rows.map((row, i) => [
            i === 0 ? shortId(image.id) : '<missing>',
            timeAgo(row.created ?? undefined),
            options.trunc ? truncate(row.createdBy.replace(/\s+/g, ' '), 45) : row.createdBy,
            humanSize(row.size),
            row.comment,
          ]),
        ),
      );
    });
