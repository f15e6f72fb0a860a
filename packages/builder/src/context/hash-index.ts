import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@tsbuild/image';
import type { SourceEntry } from './source.js';

/**
 * How long (ms) a file must have been left alone before its hash is recorded. A file changed again within the same
 * timestamp tick as its recorded change would keep its size, mtime and ctime; once the tick is over, a later change
 * moves them. Two seconds covers filesystems with one- or two-second timestamps and the lag of the kernel's coarse
 * clock behind `Date.now()`.
 */
export const RACY_WINDOW_MS = 2000;

/** First line of a record file: format and the tree it is about. */
const MAGIC = 'tsbuild-hash-record 1';

/** The metadata a recorded hash stands for: size, mtime, ctime, inode, permission bits. */
function metaOf(entry: SourceEntry): string {
  return `${entry.size} ${entry.mtimeMs} ${entry.ctimeMs} ${entry.ino} ${entry.mode}`;
}

function escapePath(rel: string): string {
  return rel.includes('\\') || rel.includes('\n') ? rel.replaceAll('\\', '\\\\').replaceAll('\n', '\\n') : rel;
}

function unescapePath(text: string): string {
  return text.includes('\\') ? text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : text;
}

/**
 * A persistent record of content hashes for one host directory tree (a build context or a snapshot dir), like
 * git's index: path → size, mtime, ctime, inode, mode → sha256. A hash is reused only when all five still match,
 * and only hashes of files that had been left alone for {@link RACY_WINDOW_MS} before they were read are recorded
 * (the racy-git rule), so an edit in the same second as the previous build is never missed. The record is a text
 * file (one line per file, cheap to load for 20,000 files) written atomically; a damaged or foreign one counts as
 * empty.
 */
export class HashIndex {
  /** The tree this record is about. */
  readonly root: string;
  /** The record file. */
  readonly file: string;
  /** rel → `"<meta> <sha256 hex>"`. */
  private readonly entries: Map<string, string>;
  private dirty = false;

  private constructor(root: string, file: string, entries: Map<string, string>) {
    this.root = root;
    this.file = file;
    this.entries = entries;
  }

  /** The record file of a tree under a cache dir. */
  static fileFor(cacheDir: string, root: string): string {
    return join(cacheDir, `${createHash('sha256').update(root).digest('hex').slice(0, 32)}.hashes`);
  }

  /** Loads the record of `root` from `cacheDir` (empty when there is none or it is unreadable). */
  static async load(cacheDir: string, root: string): Promise<HashIndex> {
    const file = HashIndex.fileFor(cacheDir, root);
    const entries = new Map<string, string>();
    try {
      const lines = (await readFile(file, 'utf8')).split('\n');
      if (lines[0] === MAGIC && lines[1] === escapePath(root)) {
        for (let i = 2; i < lines.length; i++) {
          const line = lines[i]!;
          // `<hex> <size> <mtime> <ctime> <ino> <mode> <path>`: the path is last, so it may hold spaces.
          let cut = -1;
          for (let field = 0; field < 6; field++) {
            cut = line.indexOf(' ', cut + 1);
            if (cut === -1) break;
          }
          if (cut === -1 || line.charCodeAt(64) !== 0x20) continue;
          entries.set(unescapePath(line.slice(cut + 1)), `${line.slice(65, cut)} ${line.slice(0, 64)}`);
        }
      }
    } catch {
      // no record yet, or an unreadable one: start empty
    }
    return new HashIndex(root, file, entries);
  }

  /** A record that is never saved (no cache dir). */
  static memory(root: string): HashIndex {
    return new HashIndex(root, '', new Map());
  }

  private relOf(entry: SourceEntry): string {
    return entry.hostPath.slice(this.root.length + 1);
  }

  /** The recorded sha256 (hex) of a file, if its metadata is unchanged since it was recorded. */
  lookup(entry: SourceEntry): string | undefined {
    const value = this.entries.get(this.relOf(entry));
    if (value === undefined) return undefined;
    const meta = metaOf(entry);
    return value.length === meta.length + 65 && value.startsWith(meta) && value.charCodeAt(meta.length) === 0x20 ? value.slice(meta.length + 1) : undefined;
  }

  /**
   * Records a file's hash, read (started) at `readAt`, unless the file changed (mtime or ctime) less than
   * `racyWindowMs` before: a later change within the same timestamp tick would not show in its metadata.
   */
  record(entry: SourceEntry, hash: string, readAt: number, racyWindowMs = RACY_WINDOW_MS): void {
    if (Math.max(entry.mtimeMs, entry.ctimeMs) > readAt - racyWindowMs) {
      if (this.entries.delete(this.relOf(entry))) this.dirty = true;
      return;
    }
    this.entries.set(this.relOf(entry), `${metaOf(entry)} ${hash}`);
    this.dirty = true;
  }

  /** Number of recorded files. */
  get size(): number {
    return this.entries.size;
  }

  /** Writes the record if it changed (atomically: readers see the old or the new one). */
  async save(): Promise<void> {
    if (!this.dirty || this.file === '') return;
    const lines = [MAGIC, escapePath(this.root)];
    for (const [rel, value] of this.entries) {
      const space = value.lastIndexOf(' ');
      lines.push(`${value.slice(space + 1)} ${value.slice(0, space)} ${escapePath(rel)}`);
    }
    await writeFileAtomic(this.file, `${lines.join('\n')}\n`);
    this.dirty = false;
  }
}
