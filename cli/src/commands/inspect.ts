import { Option } from 'commander';
import { makeContext } from '../context.js';
import { println } from '../io.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild inspect IMAGE`: manifest and config exactly as stored. */
export const registerInspect: RegisterCommand = (program, io, signal) =>
  program
    .command('inspect')
    .description('Show an image: its names, digests, manifest and config as stored')
    .argument('<image>', 'name, name@digest or image ID')
    .addOption(new Option('--format <format>', 'output format').choices(['json']).default('json'))
    .action(async (query: string, _options: unknown, ...rest: unknown[]) => {
      const ctx = makeContext(commandOf(rest), io, signal);
      const store = await ctx.store();
      const stored = await store.findImage(query);
      const image = await store.imageFromDescriptor(stored.manifest);
      // JSON.parse of the stored bytes keeps every field and its order; nothing is re-validated away.
      const result = {
        name: stored.names[0] ?? null,
        names: stored.names,
        manifestDigest: image.manifest.digest,
        manifestMediaType: image.manifest.mediaType,
        configDigest: image.id,
        manifest: JSON.parse(image.manifest.bytes.toString('utf8')) as unknown,
        config: JSON.parse(image.configBytes.toString('utf8')) as unknown,
      };
      println(io.stdout, JSON.stringify(result, null, 2));
    });
