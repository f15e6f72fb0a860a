import { writeFile } from 'node:fs/promises';
import { makeContext } from '../context.js';
import { println } from '../io.js';
import { imageModule, ociModule } from '../lazy.js';
import { blobProgressReporter, createProgressDisplay } from '../progress/index.js';
import { connectionOptions, withRegistryOptions, type RegistryFlags } from './pull.js';
import { commandOf, type RegisterCommand } from './types.js';

/** The repository a push goes to, for the first line of output; undefined if the name does not parse. */
async function repositoryOf(image: string, destination: string | undefined): Promise<string | undefined> {
  const { familiarRepositoryName, parseReference } = await ociModule();
  try {
    const ref = parseReference(destination ?? image);
    return familiarRepositoryName(ref);
  } catch {
    return undefined;
  }
}

/** `tsbuild push IMAGE [DEST] [--digestfile F]`. */
export const registerPush: RegisterCommand = (program, io, signal) =>
  withRegistryOptions(
    program
      .command('push')
      .description('Push an image from the store to a registry (to DEST, or to the name it has)')
      .argument('<image>', 'image in the store: name or image ID')
      .argument('[destination]', 'where to push, e.g. localhost:5000/app:1 (default: the image name)')
      .option('--digestfile <file>', 'write the digest of the pushed manifest to this file'),
  ).action(async (image: string, destination: string | undefined, options: RegistryFlags & { digestfile?: string }, ...rest: unknown[]) => {
    const { pushImage } = await imageModule();
    const { parseReference } = await ociModule();
    const ctx = makeContext(commandOf(rest), io, signal);
    const store = await ctx.store();
    const display = createProgressDisplay(io.stderr);
    try {
      const repository = await repositoryOf(image, destination);
      const result = await pushImage(store, image, destination, {
        ...connectionOptions(options),
        onProgress: blobProgressReporter(display, 'push', repository !== undefined ? `The push refers to repository [${repository}]` : undefined),
        signal,
      });
      display.stop();
      const target = parseReference(result.reference);
      println(io.stderr, `${target.tag ?? target.digest ?? ''}: digest: ${result.digest} size: ${result.size}`);
      if (options.digestfile !== undefined) await writeFile(options.digestfile, result.digest);
      println(io.stdout, result.digest);
    } finally {
      display.stop();
    }
  });
