import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ArchiveError } from '../errors.js';
import { tempName } from '../fs/atomic.js';
import { indexTar, normalizeArchivePath, type TarEntryLocation } from './tar-index.js';

/** Metadata files (manifest.json, index.json, configs) larger than this are refused. */
const MAX_METADATA_FILE = 16 * 1024 * 1024;

/**
 * A tar archive on disk with an index of its entries, read by random access. Standard input and compressed
 * archives are first spooled (decompressed) into a temporary file.
 */
export class ArchiveFile {
  /** How the archive is named in messages (the path given, or `-`). */
  readonly label: string;
  /** The tar file read. */
  readonly path: string;
  private readonly entries: Map<string, TarEntryLocation>;
  private readonly spooled: boolean;

  private constructor(label: string, path: string, entries: Map<string, TarEntryLocation>, spooled: boolean) {
    this.label = label;
    this.path = path;
    this.entries = entries;
    this.spooled = spooled;
  }

  /**
   * Opens an archive: `input` is a path, or `-` with `stdin` to read standard input. A gzip-compressed archive
   * is decompressed into `spoolDir` first.
   */
  static async open(input: string, options: { spoolDir: string; stdin?: Readable; signal?: AbortSignal }): Promise<ArchiveFile> {
    const label = input;
    let path = input;
    let spooled = false;
    try {
      if (input === '-') {
        if (!options.stdin) throw new ArchiveError(label, 'no standard input to read');
        path = await spool(options.stdin, options.spoolDir, options.signal);
        spooled = true;
      }
      const head = await readHead(path, label);
      if (head[0] === 0x1f && head[1] === 0x8b) {
        const decompressed = await spool(createReadStream(path).pipe(createGunzip()), options.spoolDir, options.signal).catch((err: Error) => {
          throw new ArchiveError(label, `corrupt gzip data: ${err.message}`);
        });
        if (spooled) await rm(path, { force: true });
        path = decompressed;
        spooled = true;
      }
      const entries = await indexTar(path, label);
      return new ArchiveFile(label, path, entries, spooled);
    } catch (err) {
      if (spooled) await rm(path, { force: true });
      throw err;
    }
  }

  /** Whether the archive has a file at `name`. */
  has(name: string): boolean {
    return this.entries.get(name)?.kind === 'file';
  }

  /** All entry names. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Finds the regular file a path refers to, following symlinks and hardlinks inside the archive.
   * @throws ArchiveError if the path leaves the archive, is missing or loops.
   */
  resolve(path: string): TarEntryLocation {
    let name = normalizeArchivePath(path);
    if (name === undefined) throw new ArchiveError(this.label, 'path outside the archive', path);
    for (let hops = 0; hops < 16; hops++) {
      const entry = this.entries.get(name);
      if (!entry) throw new ArchiveError(this.label, 'missing from the archive', path);
      if (entry.kind === 'file') return entry;
      if (entry.kind === 'symlink' || entry.kind === 'hardlink') {
        const target = entry.kind === 'symlink' ? posix.join(posix.dirname(name), entry.linkname) : entry.linkname;
        const next = normalizeArchivePath(target);
        if (next === undefined) throw new ArchiveError(this.label, 'link points outside the archive', path);
        name = next;
        continue;
      }
      throw new ArchiveError(this.label, 'not a regular file', path);
    }
    throw new ArchiveError(this.label, 'too many levels of links', path);
  }

  /** Streams an entry's data. */
  openEntry(entry: TarEntryLocation): Readable {
    if (entry.size === 0) return createReadStream(this.path, { start: 1, end: 0 });
    return createReadStream(this.path, { start: entry.offset, end: entry.offset + entry.size - 1, highWaterMark: 1 << 20 });
  }

  /** Reads the first bytes of an entry. */
  async readEntryHead(entry: TarEntryLocation, bytes: number): Promise<Buffer> {
    const handle = await open(this.path, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(bytes, entry.size));
      await handle.read(buffer, 0, buffer.length, entry.offset);
      return buffer;
    } finally {
      await handle.close();
    }
  }

  /** Reads a small file (a JSON document) whole. */
  async readSmall(path: string): Promise<Buffer> {
    const entry = this.resolve(path);
    if (entry.size > MAX_METADATA_FILE) throw new ArchiveError(this.label, `${entry.size} bytes is too large for a metadata file`, path);
    const handle = await open(this.path, 'r');
    try {
      const buffer = Buffer.alloc(entry.size);
      await handle.read(buffer, 0, entry.size, entry.offset);
      return buffer;
    } finally {
      await handle.close();
    }
  }

  /** Removes the spool file, if any. */
  async close(): Promise<void> {
    if (this.spooled) await rm(this.path, { force: true });
  }
}

async function readHead(path: string, label: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ArchiveError(label, code === 'ENOENT' ? 'no such file' : `cannot open: ${(err as Error).message}`);
  }
  try {
    const buffer = Buffer.alloc(2);
    await handle.read(buffer, 0, 2, 0);
    return buffer;
  } finally {
    await handle.close();
  }
}

async function spool(source: Readable, dir: string, signal?: AbortSignal): Promise<string> {
  const path = join(dir, tempName('spool'));
  try {
    await pipeline(source, createWriteStream(path, { highWaterMark: 1 << 20 }), ...(signal ? [{ signal }] : []));
    return path;
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}
