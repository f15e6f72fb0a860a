import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Digest } from '@tsbuild/oci';
import { HashIndex, RACY_WINDOW_MS } from './hash-index.js';
import type { RemoteSource, SelectedSource, SourceEntry } from './source.js';

/** Options of {@link checksumSources}. */
export interface ChecksumOptions {
  /** `--chown`: the owner every copied entry gets. */
  chown?: { uid: number; gid: number };
  /**
   * Directory for the persistent hash records (one file per source tree, e.g. `<store>/cache/checksums`). Without
   * it every file is read each time.
   */
  cacheDir?: string;
  /**
   * How long (ms) a file must have been left alone before its hash is recorded (default {@link RACY_WINDOW_MS});
   * raise it for filesystems with coarser timestamps.
   */
  racyWindowMs?: number;
  /** Stops the walk. */
  signal?: AbortSignal;
}

/** What {@link checksumSources} computed and how much it had to read. */
export interface ChecksumResult {
  /** sha256 over the sources: the part of a COPY/ADD cache key that stands for the files. */
  readonly digest: Digest;
  /** Entries covered (files, directories, symlinks, ...). */
  readonly entries: number;
  /** Files whose content was read and hashed. */
  readonly filesHashed: number;
  /** Bytes read for that. */
  readonly bytesHashed: number;
  /** Files whose hash came from the record without reading them. */
  readonly filesReused: number;
}

const CHUNK = 4 * 1024 * 1024;
/** Hand the event loop back after this many bytes hashed or entries visited. */
const YIELD_BYTES = 32 * 1024 * 1024;
const YIELD_ENTRIES = 2048;

/** In-process cache of loaded records, so the COPYs of one build load each record once. */
const loaded = new Map<string, Promise<HashIndex>>();

function indexFor(cacheDir: string | undefined, root: string): Promise<HashIndex> {
  if (cacheDir === undefined) return Promise.resolve(HashIndex.memory(root));
  const file = HashIndex.fileFor(cacheDir, root);
  let index = loaded.get(file);
  if (index === undefined) {
    index = HashIndex.load(cacheDir, root);
    loaded.set(file, index);
  }
  return index;
}

/** Forgets the in-process copies of hash records (for tests, or after another process rewrote them). */
export function forgetLoadedHashRecords(): void {
  loaded.clear();
}

/** Hashes a file's content; `stable` is false when the file is not the one walked (it changed meanwhile). */
function hashFile(entry: SourceEntry, buffer: Buffer): { hex: string; stable: boolean } {
  const fd = openSync(entry.hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const before = fstatSync(fd);
    const hash = createHash('sha256');
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
    const stable = before.isFile() && before.ino === entry.ino && before.size === entry.size && before.mtimeMs === entry.mtimeMs;
    return { hex: hash.digest('hex'), stable };
  } finally {
    closeSync(fd);
  }
}

function deviceNumbers(rdev: number): string {
  const major = ((Math.floor(rdev / 256) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)) >>> 0;
  const minor = ((rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff)) >>> 0;
  return `${major},${minor}`;
}

function field(value: string): string {
  return value.includes('\\') || value.includes('\n') ? value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n') : value;
}

/**
 * Checksums the sources of a COPY/ADD for its cache key: per source its origin, path and name, then per entry its
 * relative path, type, permission bits, owner after `--chown` (context files count as 0:0, image files keep
 * theirs), symlink target, device numbers, hardlink structure and content sha256 — never mtimes, so touching a
 * file or checking out a repository again keeps the key.
 *
 * With a `cacheDir`, content hashes come from a persistent record ({@link HashIndex}) when a file's size, mtime,
 * ctime, inode and mode are unchanged, so an unchanged 20,000-file context costs a metadata walk, not a read.
 * Snapshot files are immutable and recorded the same way, per snapshot dir.
 */
export async function checksumSources(
  sources: ReadonlyArray<SelectedSource | RemoteSource>,
  options: ChecksumOptions = {},
): Promise<ChecksumResult> {
  const { chown, cacheDir, signal } = options;
  const racyWindowMs = options.racyWindowMs ?? RACY_WINDOW_MS;
  const hash: Hash = createHash('sha256');
  hash.update('tsbuild copy sources v1\n');
  const buffer = Buffer.allocUnsafe(CHUNK);
  const used = new Map<string, HashIndex>();
  const readAt = Date.now();
  let entries = 0;
  let filesHashed = 0;
  let bytesHashed = 0;
  let filesReused = 0;
  let sinceYield = 0;
  let entriesSinceYield = 0;

  for (const source of sources) {
    signal?.throwIfAborted();
    if (source.kind === 'remote') {
      hash.update(`remote\0${field(source.url)}\0${field(source.name)}\0${source.digest}\n`);
      entries++;
      continue;
    }
    hash.update(`source\0${source.origin}\0${field(source.path)}\0${field(source.name)}\n`);
    const links = new Map<string, string>();
    for (const entry of source.walk(signal)) {
      entries++;
      const uid = chown?.uid ?? (source.origin === 'context' ? 0 : entry.uid);
      const gid = chown?.gid ?? (source.origin === 'context' ? 0 : entry.gid);
      let content = '';
      if (entry.type === 'file') {
        const key = entry.nlink > 1 ? `${entry.dev}:${entry.ino}` : undefined;
        const first = key === undefined ? undefined : links.get(key);
        if (first !== undefined) content = `link=${field(first)}`;
        else {
          if (key !== undefined) links.set(key, entry.rel);
          let index = used.get(entry.hostRoot);
          if (index === undefined) {
            index = await indexFor(cacheDir, entry.hostRoot);
            used.set(entry.hostRoot, index);
          }
          let hex = index.lookup(entry);
          if (hex !== undefined) filesReused++;
          else {
            const read = hashFile(entry, buffer);
            hex = read.hex;
            filesHashed++;
            bytesHashed += entry.size;
            sinceYield += entry.size;
            if (read.stable) index.record(entry, hex, readAt, racyWindowMs);
          }
          content = `sha256=${hex}`;
        }
      } else if (entry.type === 'symlink') content = `target=${field(entry.linkTarget ?? '')}`;
      else if (entry.type === 'char' || entry.type === 'block') content = `device=${deviceNumbers(entry.rdev)}`;
      hash.update(`${field(entry.rel)}\0${entry.type}\0${entry.mode.toString(8)}\0${uid}:${gid}\0${content}\n`);
      if (sinceYield >= YIELD_BYTES || ++entriesSinceYield >= YIELD_ENTRIES) {
        sinceYield = 0;
        entriesSinceYield = 0;
        await yieldToLoop();
        signal?.throwIfAborted();
      }
    }
  }
  await Promise.all([...used.values()].map((index) => index.save()));
  return { digest: `sha256:${hash.digest('hex')}`, entries, filesHashed, bytesHashed, filesReused };
}
