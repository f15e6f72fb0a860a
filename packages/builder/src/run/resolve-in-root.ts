import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';

import { RunError } from './errors.js';

/** Linux gives up after this many symlinks in one lookup (`MAXSYMLINKS`); so do we. */
const MAX_SYMLINKS = 40;

/** A path looked up inside a root directory the way the kernel would after `chroot(root)`. */
export interface InRootPath {
  /** The components of the resolved path below the root: no symlinks, no `.` or `..`; empty for the root itself. */
  readonly components: readonly string[];
  /** How many leading components exist; equal to `components.length` when the whole path exists. */
  readonly existing: number;
  /** `lstat` of the last component when the whole path exists (a symlink only if `followFinal` was false). */
  readonly stats: Stats | undefined;
  /** Set when an existing component before the last is not a directory, so the path can neither exist nor be made. */
  readonly notDirectory: boolean;
}

/** Options of {@link resolveInRoot}. */
export interface ResolveInRootOptions {
  /** Follow a symlink in the last component too (as `open` does; `lstat` and `mkdir` do not). Default false. */
  readonly followFinal?: boolean;
}

/**
 * Resolves `unsafePath` inside `root` as if the process were chrooted there: absolute symlinks start again at
 * `root`, `..` never climbs above it, and nothing is ever looked up outside it. Host code must never follow a
 * symlink from image content with the host's root (a link `etc -> /` would otherwise make a bind mount or a
 * `mkdir` land on the host), so every path the sandbox set-up touches goes through here first.
 *
 * Missing components are kept (so a caller can create them); `..` after a missing component removes it again.
 * The result is only as good as the tree is stable: use it on trees no one else changes meanwhile (a sandbox that
 * is being set up, an unpacked root file system).
 */
export async function resolveInRoot(
  root: string,
  unsafePath: string,
  options: ResolveInRootOptions = {},
): Promise<InRootPath> {
  if (unsafePath.includes('\0')) throw new RunError(`path ${JSON.stringify(unsafePath)} contains a NUL byte`);
  const resolved: string[] = [];
  let existing = 0;
  let stats: Stats | undefined;
  let pending = splitPath(unsafePath);
  let symlinks = 0;

  while (pending.length > 0) {
    const [name, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (name === '..') {
      if (resolved.length > 0) resolved.pop();
      existing = Math.min(existing, resolved.length);
      stats = undefined;
      continue;
    }
    resolved.push(name);
    stats = undefined;
    if (existing < resolved.length - 1) continue; // below a missing directory: missing as well
    const found = await lstatOrUndefined(joinRoot(root, resolved));
    if (found === undefined) continue;
    const isLast = pending.length === 0;
    if (found.isSymbolicLink() && (!isLast || options.followFinal === true)) {
      symlinks += 1;
      if (symlinks > MAX_SYMLINKS) {
        throw new RunError(`too many levels of symbolic links while resolving ${unsafePath} in the image`);
      }
      const target = await readlink(joinRoot(root, resolved));
      resolved.pop();
      if (target.startsWith('/')) {
        resolved.length = 0;
        existing = 0;
      }
      pending = [...splitPath(target), ...pending];
      continue;
    }
    existing = resolved.length;
    stats = found;
    if (!isLast && !found.isDirectory()) {
      return { components: resolved, existing, stats: undefined, notDirectory: true };
    }
  }
  const whole = existing === resolved.length;
  if (whole && stats === undefined) stats = await lstat(joinRoot(root, resolved));
  return { components: resolved, existing, stats: whole ? stats : undefined, notDirectory: false };
}

/** The host path of `components` below `root`. */
export function joinRoot(root: string, components: readonly string[]): string {
  return components.length === 0 ? root : `${root}/${components.join('/')}`;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
    throw error;
  }
}

/** Whether `error` is a Node system error with the given `code`. */
export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
