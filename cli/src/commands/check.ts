import { Option } from 'commander';
import { makeContext } from '../context.js';
import { humanSize } from '../format.js';
import { println } from '../io.js';
import { ExitCode } from '../program.js';
import { imageModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

/** `tsbuild check`: re-hash every blob; exit 1 if anything is corrupt or missing. */
export const registerCheck: RegisterCommand = (program, io, signal, state) =>
  program
    .command('check')
    .description('Re-hash every blob in the store and report corrupt, missing and orphaned ones')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (options: { format: string }, ...rest: unknown[]) => {
      const { checkStore } = await imageModule();
      const ctx = makeContext(commandOf(rest), io, signal);
      const report = await checkStore(await ctx.store());
      if (!report.ok) state.exitCode = ExitCode.failure;
      if (options.format === 'json') {
        println(io.stdout, JSON.stringify(report, null, 2));
        return;
      }
      for (const { digest, actual } of report.corrupt) println(io.stdout, `corrupt: ${digest} (content hashes to ${actual})`);
      for (const { digest, neededBy } of report.missing) println(io.stdout, `missing: ${digest} (needed by ${neededBy})`);
      for (const { digest, size } of report.orphaned) println(io.stdout, `orphaned: ${digest} (${humanSize(size)}; tsbuild prune removes it)`);
      for (const name of report.strayFiles) println(io.stdout, `stray file: blobs/sha256/${name}`);
      println(
        io.stdout,
        `checked ${report.checked} blobs: ${report.corrupt.length} corrupt, ${report.missing.length} missing, ${report.orphaned.length} orphaned`,
      );
    });
