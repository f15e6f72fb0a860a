import { posix } from 'node:path';
import { cleanContainerPath } from '../context/layer-stack.js';
import { CopyError } from './errors.js';

/** A COPY/ADD destination made absolute. */
export interface Destination {
  /** As written in the instruction. */
  readonly raw: string;
  /** Clean components of the absolute container path (`[]` is `/`), symlinks not yet resolved. */
  readonly components: readonly string[];
  /** Whether the destination names a directory by its spelling: it ends with `/` (or is `.`/`..`, or ends so). */
  readonly isDirectory: boolean;
}

/**
 * Makes a destination absolute: a relative one is relative to the WORKDIR (default `/`); `..` stops at the root.
 * The destination is a directory when it ends with `/`, or with `.` or `..`.
 * @throws {CopyError} `COPY_DESTINATION` for an empty destination.
 */
export function resolveDestination(dest: string, workdir = '/', instruction = 'COPY'): Destination {
  if (dest === '') throw new CopyError('COPY_DESTINATION', `${instruction} failed: the destination is empty`, { path: dest });
  const absolute = dest.startsWith('/') ? dest : posix.join('/', workdir, dest);
  const last = dest.slice(dest.lastIndexOf('/') + 1);
  const isDirectory = dest.endsWith('/') || last === '.' || last === '..';
  return { raw: dest, components: cleanContainerPath(absolute), isDirectory };
}
