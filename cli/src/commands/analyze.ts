import { Option } from 'commander';
import { makeContext } from '../context.js';
import { humanSize, shortId, table, truncate } from '../format.js';
import { println } from '../io.js';
import { layersModule, ociModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild analyze IMAGE`: what each layer adds, changes and removes, and the bytes wasted. */
export const registerAnalyze: RegisterCommand = (program, io, signal) =>
  program
    .command('analyze')
    .description('Show what each layer adds, changes and removes, wasted bytes and efficiency (like dive)')
    .argument('<image>', 'name or image ID')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--top <n>', 'how many of the largest wasted paths to show', (value) => Number.parseInt(value, 10), 10)
    .action(async (query: string, flags: { format: string; top: number }, ...rest: unknown[]) => {
      const { parseDigest } = await ociModule();
      const { analyzeLayers } = await layersModule();
      const ctx = makeContext(commandOf(rest), io, signal);
      const store = await ctx.store();
      const image = await store.getImage(query);
      const steps = (image.config.history ?? []).filter((entry) => entry.empty_layer !== true).map((entry) => entry.created_by);
      const analysis = await analyzeLayers(
        image.layers.map((layer, i) => ({
          digest: parseDigest(layer.descriptor.digest),
          ...(steps[i] !== undefined ? { createdBy: steps[i] } : {}),
          open: () => layer.open(signal),
        })),
        { top: flags.top, signal },
      );
      if (flags.format === 'json') {
        println(io.stdout, JSON.stringify(analysis, null, 2));
        return;
      }
      const count = (c: { files: number; bytes: number }): string => (c.files === 0 ? '-' : `${c.files} (${humanSize(c.bytes)})`);
      println(
        io.stdout,
        table(
          ['LAYER', 'SIZE', 'ADDED', 'CHANGED', 'REMOVED', 'WASTED', 'CREATED BY'],
          analysis.layers.map((layer) => [
            shortId(layer.digest),
            humanSize(layer.bytes),
            count(layer.added),
            count(layer.changed),
            count(layer.removed),
            humanSize(layer.wastedBytes),
            truncate((layer.createdBy ?? '').replace(/\s+/g, ' '), 60),
          ]),
        ),
      );
      println(io.stdout);
      println(io.stdout, `Image size: ${humanSize(analysis.imageBytes)} of ${humanSize(analysis.totalBytes)} in layers`);
      println(io.stdout, `Wasted: ${humanSize(analysis.wastedBytes)}, efficiency ${analysis.efficiency.toFixed(1)}%`);
      if (analysis.largestWasted.length > 0) {
        println(io.stdout);
        println(
          io.stdout,
          table(
            ['WASTED', 'VERSIONS', 'PATH'],
            analysis.largestWasted.map((path) => [humanSize(path.bytes), String(path.versions), `/${path.path}`]),
          ),
        );
      }
    });
