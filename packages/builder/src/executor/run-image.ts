import type { ImageStore } from '@tsbuild/image';
import type { SandboxStdin } from '../run/index.js';
import type { Writable } from 'node:stream';
import { BuildError } from './errors.js';
import { setEnv } from './image-config.js';
import { Snapshots } from './snapshots.js';

/** Options of {@link runImage}. */
export interface RunImageOptions {
  /** Arguments after the image name: replace the image's CMD (docker's rule). */
  readonly command?: readonly string[];
  /** Replaces the image's ENTRYPOINT (`--entrypoint`; an empty string clears it). */
  readonly entrypoint?: string;
  /** Extra `NAME=value` entries (`-e`). */
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly network?: 'host' | 'none';
  readonly stdin?: SandboxStdin;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  readonly signal?: AbortSignal;
}

/**
 * Runs a command in an image (`tsbuild run`) with the same isolation as a RUN step; nothing is committed. The
 * argv is ENTRYPOINT + (the given command or the image's CMD), as docker computes it.
 * @returns the command's exit code.
 */
export async function runImage(store: ImageStore, query: string, options: RunImageOptions = {}): Promise<number> {
  const image = await store.getImage(query);
  const runtime = image.config.config ?? {};
  const entrypoint = options.entrypoint !== undefined ? (options.entrypoint === '' ? [] : [options.entrypoint]) : [...(runtime.Entrypoint ?? [])];
  const cmd = options.command && options.command.length > 0 ? [...options.command] : options.entrypoint !== undefined ? [] : [...(runtime.Cmd ?? [])];
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw new BuildError(undefined, `${query} has no CMD or ENTRYPOINT: give a command to run`);
  let env = [...(runtime.Env ?? [])];
  for (const entry of options.env ?? []) {
    const eq = entry.indexOf('=');
    env = eq === -1 ? setEnv(env, entry, process.env[entry] ?? '') : setEnv(env, entry.slice(0, eq), entry.slice(eq + 1));
  }
  const snapshots = new Snapshots(store.snapshotsDir);
  await snapshots.init();
  const lowerDirs = await snapshots.ensure(image.layers, options.signal);
  const user = options.user ?? runtime.User;
  const { runEphemeral } = await import('../run/run-ephemeral.js');
  const result = await runEphemeral({
    lowerDirs,
    command: argv,
    env,
    cwd: options.workdir ?? (runtime.WorkingDir || '/'),
    ...(user ? { user } : {}),
    network: options.network ?? 'host',
    stdin: options.stdin ?? 'ignore',
    ...(options.stdout ? { stdout: options.stdout } : {}),
    ...(options.stderr ? { stderr: options.stderr } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    tempDir: store.tmpDir,
  });
  return result.exitCode;
}
