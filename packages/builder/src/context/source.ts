import type { Stats } from 'node:fs';
import type { Digest } from '@tsbuild/oci';

/** Linux gives up after this many symlinks in one lookup; so do we. */
export const MAX_SYMLINKS = 40;

/** What a source entry is. Sockets are listed so that a copy can say it left them out. */
export type SourceEntryType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/**
 * One file, directory, symlink or special file of a COPY/ADD source, as found on disk (in the build context or in
 * an image snapshot). Owners are the ones on disk; whoever copies decides whether they are kept (image sources) or
 * reset (context sources) — see {@link SelectedSource.origin}.
 */
export interface SourceEntry {
  /** Path below the selected source, `/`-separated; `''` for the selected source itself. */
  readonly rel: string;
  /** What the entry is (after following the selected source itself when it is a symlink to follow). */
  readonly type: SourceEntryType;
  /** Permission bits including setuid, setgid and sticky (`0o7777` at most). */
  readonly mode: number;
  /** Numeric owner on disk. */
  readonly uid: number;
  /** Numeric group on disk. */
  readonly gid: number;
  /** Size in bytes (files only; 0 otherwise). */
  readonly size: number;
  /** Modification time, milliseconds since the epoch (sub-millisecond precision kept). */
  readonly mtimeMs: number;
  /** Status change time, milliseconds since the epoch: tells a content change that kept size and mtime. */
  readonly ctimeMs: number;
  /** Device of the file on the host (hardlink detection together with {@link ino}). */
  readonly dev: number;
  /** Inode on the host. */
  readonly ino: number;
  /** Hard links to the inode on the host. */
  readonly nlink: number;
  /** Device number of char and block devices. */
  readonly rdev: number;
  /** Symlink target, verbatim. */
  readonly linkTarget?: string;
  /** Absolute host path holding the entry (where content and extended attributes are read). */
  readonly hostPath: string;
  /**
   * Host directory the entry lives under and that never changes meaning: the build context root, or the image
   * snapshot dir of the layer that holds it. Keys the persistent hash record of the checksum.
   */
  readonly hostRoot: string;
}

/** Where a selected source comes from: the build context (owners become 0:0) or an image (owners are kept). */
export type SourceOrigin = 'context' | 'image';

/**
 * One match of a COPY/ADD source argument: a path in the build context or in a stage/image filesystem, already
 * checked to exist and to stay inside its root. A directory copies its contents; anything else copies itself
 * under {@link name}.
 */
export interface SelectedSource {
  /** Discriminator against remote (URL) sources. */
  readonly kind: 'local';
  /** The argument as written in the instruction (for messages). */
  readonly pattern: string;
  /** Path of the match below its root, `/`-separated, no leading `/`; `''` is the root itself. */
  readonly path: string;
  /** File name used when the source is copied into a directory: the last component of the path as matched. */
  readonly name: string;
  /** Context or image: decides whether owners are kept. */
  readonly origin: SourceOrigin;
  /** The entry of the source itself (`rel` is `''`); a source symlink that was followed shows its target. */
  readonly entry: SourceEntry;
  /**
   * The source's entries, parents before children, children in byte order of their names; the first is
   * {@link entry}. A directory lists everything below it that is not excluded (an excluded directory that holds an
   * included entry is listed too, as docker sends it). Symlinks below the source are listed, never followed.
   */
  walk(signal?: AbortSignal): Generator<SourceEntry>;
}

/**
 * An ADD source fetched from an `http(s)://` URL into a local file, ready to be checksummed and copied (made by
 * the COPY engine's `fetchRemoteSource`). The file is never extracted.
 */
export interface RemoteSource {
  /** Discriminator against local sources. */
  readonly kind: 'remote';
  /** The URL as written in the instruction. */
  readonly url: string;
  /** File name in a destination directory: the last segment of the URL path. */
  readonly name: string;
  /** The downloaded file on the host. */
  readonly path: string;
  /** sha256 of the content. */
  readonly digest: Digest;
  /** Bytes downloaded. */
  readonly size: number;
  /** The server's `Last-Modified`, milliseconds since the epoch, when it sent one. */
  readonly mtimeMs: number | undefined;
}

/** The entry type of `lstat` results. */
export function entryTypeOf(stats: Stats): SourceEntryType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isFIFO()) return 'fifo';
  return 'socket';
}

/** Builds a {@link SourceEntry} from `lstat` results. */
export function sourceEntryOf(
  rel: string,
  stats: Stats,
  hostPath: string,
  hostRoot: string,
  linkTarget?: string,
): SourceEntry {
  const type = entryTypeOf(stats);
  return {
    rel,
    type,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    size: type === 'file' ? stats.size : 0,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
    dev: stats.dev,
    ino: stats.ino,
    nlink: stats.nlink,
    rdev: stats.rdev,
    hostPath,
    hostRoot,
    ...(linkTarget !== undefined ? { linkTarget } : {}),
  };
}

/** Joins a relative path and a name (`''` is the root). */
export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Orders names by their bytes, as Go and tar writers do (not by locale). */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
