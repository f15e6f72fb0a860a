import { makeContext } from '../context.js';
import { imageModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild unpack IMAGE DIR`: the flattened root filesystem. */
export const registerUnpack: RegisterCommand = (program, io, signal) =>
  program
    .command('unpack')
    .description("Write an image's flattened root filesystem into a new or empty directory (like umoci unpack)")
    .argument('<image>', 'name or image ID')
    .argument('<dir>', 'target directory (created if missing; must be empty)')
    .action(async (image: string, dir: string, _flags: unknown, ...rest: unknown[]) => {
      const ctx = makeContext(commandOf(rest), io, signal);
      const { unpackImage } = await imageModule();
      await unpackImage(await ctx.store(), image, dir, { signal });
    });
