import type { Stats } from 'node:fs';
import { execFile } from 'node:child_process';
import { lstat, mkdir, writeFile } from 'node:fs/promises';

import { RunError } from './errors.js';
import { type InRootPath, joinRoot, resolveInRoot } from './resolve-in-root.js';
import { SETUP_ENV } from './sandbox-script.js';

/** The directories the sandbox mounts file systems on. */
const MOUNT_DIRS = ['dev', 'proc', 'sys'] as const;

/** The files the sandbox binds the host's copies over (Docker's "init layer"). */
export const BOUND_ETC_FILES = ['hosts', 'resolv.conf', 'hostname'] as const;

/** One of {@link BOUND_ETC_FILES}. */
export type BoundEtcFile = (typeof BOUND_ETC_FILES)[number];

/** Where, inside the image, the sandbox binds files; paths relative to the root and free of symlinks. */
export interface MountTargets {
  /** Targets of the `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname` binds (symlinks in the image followed). */
  readonly files: Readonly<Record<BoundEtcFile, string>>;
  /** Paths the set-up had to create, parents first: not part of what the RUN changed. */
  readonly created: readonly string[];
}

/**
 * Makes sure every mount target exists in the merged root (seen from the host through `/proc/PID/root`), creating
 * the missing ones (which writes them to the upper dir, so they are reported to be left out of the layer).
 * `/dev`, `/proc` and `/sys` must be real directories (as runc insists); the `/etc` files follow symlinks inside the
 * image, as Docker does for a `resolv.conf` that points into `/run`. An existing directory that gets a created
 * entry (say `/etc`) is copied up by overlayfs; its modification time is put back to the nanosecond, so unless the
 * command changes it, it does not look modified to the layer engine.
 * @throws {RunError} when the image makes a target impossible (a file where a directory must be, …).
 */
export async function prepareMountTargets(mergedRoot: string): Promise<MountTargets> {
  const created: string[] = [];
  const dirs = await Promise.all(MOUNT_DIRS.map(async (name) => ({ name, found: await resolveInRoot(mergedRoot, name) })));
  for (const { name, found } of dirs) {
    if (found.stats !== undefined && !found.stats.isDirectory()) {
      throw new RunError(`cannot mount /${name} in the sandbox: the image has a ${describe(found.stats)} there`);
    }
  }
  const missing = dirs.filter(({ found }) => found.stats === undefined);
  await Promise.all(missing.map(({ found }) => mkdir(joinRoot(mergedRoot, found.components), { mode: 0o755 })));
  created.push(...missing.map(({ name }) => name));

  const files: Partial<Record<BoundEtcFile, string>> = {};
  const createdDirs = created.length;
  const parents = new Map<string, bigint>();
  const lookUp = (name: BoundEtcFile): Promise<InRootPath> =>
    resolveInRoot(mergedRoot, `etc/${name}`, { followFinal: true });
  const lookups = await Promise.all(BOUND_ETC_FILES.map(async (name) => ({ name, found: await lookUp(name) })));
  for (const { name, found: first } of lookups) {
    // an earlier file may have created (or been) this one's target or parents: look again in that case
    const found = created.length > createdDirs ? await lookUp(name) : first;
    const path = found.components.join('/');
    if (found.notDirectory) {
      throw new RunError(`cannot bind /etc/${name} in the sandbox: a parent of /${path} in the image is not a directory`);
    }
    if (found.stats !== undefined && !found.stats.isFile()) {
      throw new RunError(`cannot bind /etc/${name} in the sandbox: /${path} in the image is not a regular file`);
    }
    if (found.stats === undefined) {
      const parent = found.components.slice(0, found.existing);
      const key = parent.join('/');
      // the root's times are the upper dir's own, not the image's: nothing to keep
      if (parent.length > 0 && !parents.has(key) && !created.includes(key)) {
        parents.set(key, (await lstat(joinRoot(mergedRoot, parent), { bigint: true })).mtimeNs);
      }
      await createFile(mergedRoot, found, created);
    }
    files[name] = path;
  }
  await Promise.all(
    [...parents].map(([path, mtimeNs]) => setModificationTime(joinRoot(mergedRoot, path.split('/')), mtimeNs)),
  );
  return { files: files as Record<BoundEtcFile, string>, created };
}

/**
 * Sets a directory's modification time to the nanosecond (Node's `utimes` rounds through a double): coreutils'
 * `touch` with an `@seconds.nanoseconds` date. `path` must hold no symlink.
 */
async function setModificationTime(path: string, mtimeNs: bigint): Promise<void> {
  const seconds = mtimeNs / 1_000_000_000n;
  const nanoseconds = (mtimeNs % 1_000_000_000n).toString().padStart(9, '0');
  await new Promise<void>((resolve, reject) => {
    execFile('touch', ['-c', '-h', '-m', '-d', `@${seconds}.${nanoseconds}`, '--', path], { env: SETUP_ENV }, (error) =>
      error ? reject(new RunError(`could not restore the modification time of ${path}`, { cause: error })) : resolve(),
    );
  });
}

async function createFile(root: string, found: InRootPath, created: string[]): Promise<void> {
  for (let depth = found.existing + 1; depth < found.components.length; depth += 1) {
    const components = found.components.slice(0, depth);
    await mkdir(joinRoot(root, components), { mode: 0o755 });
    created.push(components.join('/'));
  }
  await writeFile(joinRoot(root, found.components), '', { flag: 'wx', mode: 0o644 });
  created.push(found.components.join('/'));
}

function describe(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFile()) return 'file';
  return 'special file';
}
