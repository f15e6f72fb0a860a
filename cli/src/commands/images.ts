import { Option } from 'commander';
import { makeContext } from '../context.js';
import { humanSize, shortId, table, timeAgo } from '../format.js';
import { println } from '../io.js';
import { imageModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild images`: the images in the store. */
export const registerImages: RegisterCommand = (program, io, signal) =>
  program
    .command('images')
    .alias('ls')
    .description('List images in the store')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--digests', 'show manifest digests')
    .action(async (options: { format: string; digests?: boolean }, ...rest: unknown[]) => {
      const { splitStoreName } = await imageModule();
      const ctx = makeContext(commandOf(rest), io, signal);
      const store = await ctx.store();
      const images = await store.listImages();
      const rows = images.flatMap((image) => {
        const names = image.names.length > 0 ? image.names : [undefined];
        return names.map((name) => {
          const { repository, tag } = name ? splitStoreName(name) : { repository: '<none>', tag: '<none>' };
          return { name: name ?? null, repository, tag, id: image.id, digest: image.manifest.digest, created: image.created ?? null, size: image.size };
        });
      });
      rows.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
      if (options.format === 'json') {
        println(io.stdout, JSON.stringify(rows, null, 2));
        return;
      }
      const header = ['REPOSITORY', 'TAG', ...(options.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
      println(
        io.stdout,
        table(
          header,
          rows.map((row) => [row.repository, row.tag, ...(options.digests ? [row.digest] : []), shortId(row.id), timeAgo(row.created ?? undefined), humanSize(row.size)]),
        ),
      );
    });
