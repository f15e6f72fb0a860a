import { mkdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { posix } from 'node:path';
import type { Writable } from 'node:stream';

import { TsbuildError } from '@tsbuild/oci';

import { type CommandLookup, lookupCommand } from './command-lookup.js';
import { commandEnvironment, envValue } from './environment.js';
import { RunError } from './errors.js';
import { formatFstab } from './fstab.js';
import { DEFAULT_INIT_BINARY, type HostTools, locateHostTools } from './host-tools.js';
import { type MountTargets, prepareMountTargets } from './mount-targets.js';
import { joinRoot, resolveInRoot } from './resolve-in-root.js';
import { createRunDir, removeRunDir } from './run-dir.js';
import { findHostLayout, type HostLayout, populateDev, populateStage, RUN_DIR, sandboxFstab } from './sandbox-mounts.js';
import { type SandboxExit, SandboxProcess, type SandboxStdin } from './sandbox-process.js';
import { type NetworkMode, sandboxArgv, SCRIPT_PATH } from './sandbox-script.js';
import { type ResolvedUser, resolveUser, userDbReaderForRoot } from './user.js';


/** The hostname of a sandbox when none is given. */
export const DEFAULT_HOSTNAME = 'tsbuild';

/** What to run and how; shared by {@link runInSnapshot} and `runEphemeral`. */
export interface SandboxOptions {
  /**
   * Extracted layer dirs in overlay form (whiteouts as char 0/0 devices, opaque dirs marked with
   * `trusted.overlay.opaque=y`), top layer first; empty for `scratch`. At most 500.
   */
  readonly lowerDirs: readonly string[];
  /** argv of the command; a shell-form RUN is already wrapped (`/bin/sh -c "…"`) by the caller. Not empty. */
  readonly command: readonly string[];
  /**
   * A script to run instead of `command` (a RUN heredoc that starts with `#!`): written to
   * {@link SCRIPT_PATH} in the sandbox's `/dev` (never committed) and executed, so its `#!` line picks the interpreter.
   */
  readonly script?: string;
  /** `NAME=value` entries, as the image config's `Env`; docker's default `PATH` is added when it has none. */
  readonly env: readonly string[];
  /** Working directory (absolute; created when missing, as docker does for `WORKDIR`). Default `/`. */
  readonly cwd?: string;
  /** `USER` spec: `uid[:gid]` or `name[:group]`, resolved from the image's `/etc/passwd` and `/etc/group`. Default root. */
  readonly user?: string;
  /** `host` (default) shares the host's network; `none` gives a network namespace with only `lo`. */
  readonly network?: NetworkMode;
  /** The sandbox's hostname (also in its `/etc/hostname` and `/etc/hosts`). Default `tsbuild`. */
  readonly hostname?: string;
  /** Receives the command's stdout as it comes; discarded when absent. Never ended by the sandbox. */
  readonly stdout?: Writable;
  /** Receives the command's stderr as it comes; discarded when absent. Never ended by the sandbox. */
  readonly stderr?: Writable;
  /** Aborting kills every process of the sandbox, waits for them, removes its temporaries and rejects with the reason. */
  readonly signal?: AbortSignal;
  /** Where the per-run scratch dir goes (a few links and small files); `/dev/shm` if a tmpfs, else `os.tmpdir()`. */
  readonly tempDir?: string;
  /** A static init for PID 1; Debian's `/usr/bin/tini-static` by default. */
  readonly initBinary?: string;
}

/** How a sandboxed command ended. */
export interface SandboxResult {
  /** The command's exit code: 127 when it does not exist, 126 when it cannot be executed, 128+N after signal N. */
  readonly exitCode: number;
  /** Set when the sandbox as a whole was killed by a signal from outside (for instance the OOM killer). */
  readonly signal?: NodeJS.Signals;
  /**
   * Paths (relative to the root, parents first) that the set-up had to create in the upper dir as mount points:
   * `dev`, `proc`, `sys`, `etc/hosts`, … — to be left out of the layer. A created directory that the command filled
   * with other entries must stay (only the mount points themselves are never content).
   */
  readonly createdMountPoints: readonly string[];
}

/** Internal: a sandbox run with an explicit upper/work dir and stdin. */
export interface SandboxRunSpec extends SandboxOptions {
  readonly upperDir: string;
  readonly workDir: string;
  readonly stdin: SandboxStdin;
}

/**
 * Runs one command in a namespaced overlay snapshot: the layers as overlay lower dirs under `upperDir`, new mount,
 * PID, IPC and UTS namespaces (and network with `none`), a minimal `/dev`, `/proc` (Docker's masked and read-only
 * paths), read-only `/sys`, the host's `/etc/hosts` and `/etc/resolv.conf` (copies), `pivot_root` to a stage that
 * keeps none of the host's file systems, chroot, Docker's default capabilities, the image's user, working
 * directory and environment, tini as PID 1. Every mount lives in the sandbox's mount namespace, so nothing outlives
 * its processes, even if tsbuild is killed. Needs root.
 * @throws {RunError} when the sandbox cannot be set up (the command's own failure is an exit code instead).
 * @throws {UserLookupError} when `user` names an unknown user or group.
 * @throws the signal's reason when `signal` aborts.
 */
export async function runSandbox(spec: SandboxRunSpec): Promise<SandboxResult> {
  const signal = spec.signal;
  signal?.throwIfAborted();
  if (spec.command.length === 0) throw new RunError('no command to run');
  if (spec.command.some((arg) => arg.includes('\0'))) throw new RunError('the command contains a NUL byte');
  const hostname = spec.hostname ?? DEFAULT_HOSTNAME;
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/.test(hostname)) {
    throw new RunError(`invalid hostname ${JSON.stringify(hostname)}: use letters, digits, '.' and '-' (at most 64)`);
  }
  const cwd = posix.resolve('/', spec.cwd ?? '/');
  if (cwd.includes('\0')) throw new RunError('the working directory contains a NUL byte');
  const env = commandEnvironment(spec.env);
  const network = spec.network ?? 'host';
  const [tools, host] = await Promise.all([locateHostTools(spec.initBinary ?? DEFAULT_INIT_BINARY), findHostLayout()]);

  const runDir = await createRunDir({ ...spec, hostname });
  let sandbox: SandboxProcess | undefined;
  const onAbort = (): void => sandbox?.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const argv = spec.script !== undefined ? [SCRIPT_PATH] : spec.command;
    sandbox = SandboxProcess.start(sandboxArgv({ network, hostname, workdir: cwd, env, command: argv }), {
      cwd: runDir,
      stdin: spec.stdin,
      stdout: spec.stdout,
      stderr: spec.stderr,
    });
    const box = sandbox;
    const setupFailed = async (): Promise<never> => {
      await box.exited;
      signal?.throwIfAborted();
      throw box.spawnError ?? new RunError(`could not set up the RUN sandbox: ${box.failure ?? 'it ended early'}`);
    };

    if (!(await box.waitFor('@mounted'))) return await setupFailed();
    const inside = `/proc/${box.pid ?? 0}/root${runDir}`;
    let prepared: Prepared;
    try {
      prepared = await prepareInside(inside, spec, env, cwd, tools, host);
    } catch (error) {
      signal?.throwIfAborted();
      if (error instanceof TsbuildError) throw error;
      throw new RunError(`could not prepare the RUN sandbox: ${String(error)}`, { cause: error });
    }
    const { targets, user, command } = prepared;
    if (!command.found) {
      spec.stderr?.write(`${command.message}\n`);
      box.kill();
      await box.exited;
      signal?.throwIfAborted();
      return { exitCode: command.exitCode, createdMountPoints: targets.created };
    }
    await writeFile(`${runDir}/fstab-b`, formatFstab(sandboxFstab(runDir, tools, targets, host)));
    const groups = user.additionalGids.length === 0 ? '-' : user.additionalGids.join(',');
    const home = envValue(env, 'HOME') === undefined ? user.home : '-';
    const reply = `go ${user.uid} ${user.gid} ${groups} ${home}`;
    box.reply(reply);
    if (!(await box.waitFor('@ready'))) return await setupFailed();
    const exit = await box.exited;
    signal?.throwIfAborted();
    return { ...exitStatus(exit), createdMountPoints: targets.created };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (sandbox !== undefined) {
      sandbox.kill();
      await sandbox.exited;
    }
    await removeRunDir(runDir);
  }
}

/** What the host prepared inside a sandbox whose overlay is mounted. */
interface Prepared {
  readonly targets: MountTargets;
  readonly user: ResolvedUser;
  readonly command: CommandLookup;
}

/**
 * Works inside the mounted sandbox from the host (the run dir as seen through `/proc/PID/root`): fills `/dev` and
 * the stage, creates the working directory and the mount targets, resolves the user and looks the command up.
 */
async function prepareInside(
  runDir: string,
  spec: SandboxRunSpec,
  env: readonly string[],
  cwd: string,
  tools: HostTools,
  host: HostLayout,
): Promise<Prepared> {
  const root = `${runDir}/${RUN_DIR.merged}`;
  const devDir = `${runDir}/${RUN_DIR.dev}`;
  const [targets, user, command] = await Promise.all([
    // the working directory first: creating it may change a parent whose time the mount targets keep
    ensureWorkdir(root, cwd).then(() => prepareMountTargets(root)),
    resolveUser(userDbReaderForRoot(root), spec.user ?? ''),
    spec.script !== undefined
      ? Promise.resolve<CommandLookup>({ found: true, path: SCRIPT_PATH })
      : lookupCommand(root, spec.command[0] ?? '', cwd, envValue(env, 'PATH') ?? ''),
    populateDev(devDir, tools).then(async () => {
      if (spec.script !== undefined) await writeFile(`${devDir}${SCRIPT_PATH.slice('/dev'.length)}`, spec.script, { mode: 0o755 });
    }),
    populateStage(`${runDir}/${RUN_DIR.stage}`, host),
  ]);
  return { targets, user, command };
}

/** Creates the working directory (and missing parents) inside the image, as docker does for `WORKDIR`. */
async function ensureWorkdir(root: string, cwd: string): Promise<void> {
  const found = await resolveInRoot(root, cwd, { followFinal: true });
  if (found.notDirectory || (found.stats !== undefined && !found.stats.isDirectory())) {
    throw new RunError(`the working directory ${cwd} is not a directory in the image`);
  }
  for (let depth = found.existing + 1; depth <= found.components.length; depth += 1) {
    await mkdir(joinRoot(root, found.components.slice(0, depth)), { mode: 0o755 });
  }
}

function exitStatus(exit: SandboxExit): { exitCode: number; signal?: NodeJS.Signals } {
  if (exit.code !== null) return { exitCode: exit.code };
  const signal = exit.signal ?? 'SIGKILL';
  return { exitCode: 128 + (constants.signals[signal] ?? 9), signal };
}
