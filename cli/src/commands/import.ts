import { makeContext } from '../context.js';
import { println } from '../io.js';
import { builderModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `tsbuild import SOURCE NAME[:TAG] [--change ...]`: a root filesystem as a one-layer image. */
export const registerImport: RegisterCommand = (program, io, signal) =>
  program
    .command('import')
    .description('Make a one-layer image from a root filesystem directory or tarball (like docker import)')
    .argument('<source>', 'directory, or tarball (plain, gzip or zstd; - for standard input)')
    .argument('<name>', 'name for the image, e.g. busybox:latest')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL (repeatable)', collect, [])
    .option('-m, --message <text>', 'history comment (default: Imported from SOURCE)')
    .action(async (source: string, name: string, flags: { change: string[]; message?: string }, ...rest: unknown[]) => {
      const { importImage } = await builderModule();
      const ctx = makeContext(commandOf(rest), io, signal);
      const store = await ctx.store();
      const result = await importImage(store, source, name, {
        changes: flags.change,
        ...(flags.message !== undefined ? { message: flags.message } : {}),
        stdin: io.stdin,
        signal,
      });
      println(io.stdout, result.id);
    });
