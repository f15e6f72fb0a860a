import { Option } from 'commander';
import type { ArchiveFormat } from '@tsbuild/image';
import { makeContext } from '../context.js';
import { imageModule } from '../lazy.js';
import { CommandFailed, ExitCode } from '../program.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild save -o FILE IMAGE...`. */
export const registerSave: RegisterCommand = (program, io, signal) =>
  program
    .command('save')
    .description('Write images to a docker-archive (docker save format) or oci-archive tar')
    .argument('<images...>', 'names or image IDs')
    .option('-o, --output <file>', 'archive to write, or - for standard output (the default when it is not a terminal)')
    .addOption(new Option('--format <format>', 'archive format').choices(['docker-archive', 'oci-archive']).default('docker-archive'))
    .action(async (queries: string[], options: { output?: string; format: ArchiveFormat }, ...rest: unknown[]) => {
      const ctx = makeContext(commandOf(rest), io, signal);
      const output = options.output ?? '-';
      if (output === '-' && io.stdout.isTTY) {
        throw new CommandFailed('refusing to write an archive to a terminal: use -o FILE or redirect standard output', ExitCode.usage);
      }
      const { saveImages } = await imageModule();
      const store = await ctx.store();
      await saveImages(store, queries, output === '-' ? io.stdout : output, { format: options.format, signal });
    });
