import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { SandboxStdin } from './sandbox-process.js';
import { runSandbox, type SandboxOptions } from './sandbox.js';

/** Options of {@link runEphemeral}: the sandbox options plus where stdin comes from. */
export interface RunEphemeralOptions extends SandboxOptions {
  /** `inherit` passes tsbuild's own stdin, a stream is piped in, `ignore` (default) gives `/dev/null`. */
  readonly stdin?: SandboxStdin;
}

/** How a `tsbuild run` command ended. */
export interface RunEphemeralResult {
  /** The command's exit code (127 when it does not exist, 128+N after signal N). */
  readonly exitCode: number;
  /** Set when the sandbox as a whole was killed by a signal from outside. */
  readonly signal?: NodeJS.Signals;
}

/**
 * `tsbuild run IMAGE CMD`: the same sandbox as a RUN step, over a throwaway upper dir that is removed afterwards,
 * so nothing the command does is kept.
 * @throws {RunError} when the sandbox cannot be set up; {@link UserLookupError} for an unknown `user`;
 *   the signal's reason when `signal` aborts.
 */
export async function runEphemeral(options: RunEphemeralOptions): Promise<RunEphemeralResult> {
  options.signal?.throwIfAborted();
  const scratch = await mkdtemp(join(options.tempDir ?? tmpdir(), 'tsbuild-container-'));
  try {
    const upperDir = join(scratch, 'upper');
    const workDir = join(scratch, 'work');
    await Promise.all([mkdir(upperDir), mkdir(workDir)]);
    const result = await runSandbox({ ...options, upperDir, workDir, stdin: options.stdin ?? 'ignore' });
    const { exitCode, signal } = result;
    return signal === undefined ? { exitCode } : { exitCode, signal };
  } finally {
    await rm(scratch, { recursive: true, force: true, maxRetries: 3 });
  }
}
