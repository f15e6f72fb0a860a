import type { Stats } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, realpath, rm, stat, statfs, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { RunError } from './errors.js';
import { formatFstab } from './fstab.js';
import { overlayFeatureOptions } from './host-tools.js';
import { isErrno } from './resolve-in-root.js';
import { overlayFstab, RUN_DIR } from './sandbox-mounts.js';

/** overlayfs stacks at most this many lower dirs (`OVL_MAX_STACK`). */
export const MAX_LOWER_DIRS = 500;

/** What a run dir is made from. */
export interface RunDirSpec {
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
  readonly workDir: string;
  readonly hostname: string;
  /** Parent of the run dir; {@link defaultTempDir} when absent. */
  readonly tempDir?: string;
}

/**
 * Creates the per-run scratch dir the sandbox mounts from (its only state on the host; removed after the run):
 * short links to the lower, upper and work dirs, the stage's mount point, copies of `/etc/hosts`,
 * `/etc/resolv.conf` and the hostname (so a RUN that writes them changes only the copies) and the phase-one fstab.
 * It also gives the upper dir's root the mode and owner of the image's root, since the merged root takes them from
 * the upper dir.
 * @returns the run dir's real path (it is reached again through `/proc/PID/root`, which must not meet a symlink).
 * @throws {RunError} when a lower, upper or work dir is unusable.
 */
export async function createRunDir(spec: RunDirSpec): Promise<string> {
  if (spec.lowerDirs.length > MAX_LOWER_DIRS) {
    throw new RunError(
      `an overlay can stack at most ${MAX_LOWER_DIRS} lower dirs; this image has ${spec.lowerDirs.length} layers`,
    );
  }
  const lowerDirs = spec.lowerDirs.map((dir) => resolve(dir));
  const upperDir = resolve(spec.upperDir);
  const workDir = resolve(spec.workDir);
  const rootStats = await checkDirs(lowerDirs, upperDir, workDir);

  const runDir = await realpath(await mkdtemp(join(spec.tempDir ?? (await defaultTempDir()), 'tsbuild-run-')));
  try {
    await Promise.all([
      ...lowerDirs.map((dir, index) => symlink(dir, join(runDir, String(index)))),
      symlink(upperDir, join(runDir, RUN_DIR.upper)),
      symlink(workDir, join(runDir, RUN_DIR.work)),
      ...[RUN_DIR.stage, RUN_DIR.empty, RUN_DIR.etc].map((name) => mkdir(join(runDir, name), { mode: 0o755 })),
      writeFile(join(runDir, 'fstab-a'), formatFstab(overlayFstab(runDir, lowerDirs.length, overlayFeatureOptions()))),
    ]);
    await Promise.all([
      writeFile(join(runDir, RUN_DIR.etc, 'hosts'), hostsFile(await readHostFile('/etc/hosts'), spec.hostname)),
      writeFile(join(runDir, RUN_DIR.etc, 'resolv.conf'), (await readHostFile('/etc/resolv.conf')) ?? ''),
      writeFile(join(runDir, RUN_DIR.etc, 'hostname'), `${spec.hostname}\n`),
    ]);
    await chown(upperDir, rootStats.uid, rootStats.gid);
    await chmod(upperDir, rootStats.mode & 0o7777);
    return runDir;
  } catch (error) {
    await removeRunDir(runDir);
    throw error;
  }
}

/** tmpfs's `statfs` magic number. */
const TMPFS_MAGIC = 0x01021994;

let defaultDir: Promise<string> | undefined;

/**
 * Where run dirs go by default: `/dev/shm` when it is a tmpfs (a run dir is a few links and small files, and
 * creating them on a busy disk file system measured up to twice the whole sandbox's set-up time), else
 * `os.tmpdir()`.
 */
export function defaultTempDir(): Promise<string> {
  defaultDir ??= statfs('/dev/shm').then(
    (stats) => (stats.type === TMPFS_MAGIC ? '/dev/shm' : tmpdir()),
    () => tmpdir(),
  );
  return defaultDir;
}

/** Removes a run dir once no sandbox uses it (its links are removed, never followed). */
export async function removeRunDir(runDir: string): Promise<void> {
  await rm(runDir, { recursive: true, force: true, maxRetries: 3 });
}

async function checkDirs(
  lowerDirs: readonly string[],
  upperDir: string,
  workDir: string,
): Promise<{ uid: number; gid: number; mode: number }> {
  const statDir = async (dir: string, role: string): Promise<Stats> => {
    let stats: Stats;
    try {
      stats = await stat(dir);
    } catch (error) {
      throw new RunError(`the ${role} ${dir} does not exist or cannot be read`, { cause: error });
    }
    if (!stats.isDirectory()) throw new RunError(`the ${role} ${dir} is not a directory`);
    return stats;
  };
  const [upper, work, ...lowers] = await Promise.all([
    statDir(upperDir, 'upper dir'),
    statDir(workDir, 'work dir'),
    ...lowerDirs.map((dir) => statDir(dir, 'lower dir')),
  ]);
  if (upper.dev !== work.dev) {
    throw new RunError(`the upper dir ${upperDir} and the work dir ${workDir} must be on the same file system`);
  }
  const top = lowers[0];
  return top === undefined ? { uid: 0, gid: 0, mode: 0o755 } : { uid: top.uid, gid: top.gid, mode: top.mode };
}

async function readHostFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** The host's `/etc/hosts` (or a minimal one) plus a line that makes the sandbox's hostname resolve. */
function hostsFile(host: string | undefined, hostname: string): string {
  const base = host ?? '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
  return `${base}${base === '' || base.endsWith('\n') ? '' : '\n'}127.0.0.1\t${hostname}\n`;
}
