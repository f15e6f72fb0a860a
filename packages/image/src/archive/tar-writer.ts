import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncDirectory, tempName } from '../fs/atomic.js';
import { BLOCK, encodeHeader } from './tar-header.js';

const ZERO = Buffer.alloc(BLOCK * 2);

/** Where an archive's bytes go: a file (seekable: headers can be patched) or a stream. */
interface TarSink {
  write(data: Buffer): Promise<void>;
  /** Overwrites bytes already written (files only). */
  patch?(position: number, data: Buffer): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

class FileSink implements TarSink {
  private position = 0;
  constructor(
    private readonly handle: FileHandle,
    private readonly temp: string,
    private readonly target: string,
  ) {}

  async write(data: Buffer): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }

  async patch(position: number, data: Buffer): Promise<void> {
    await this.handle.write(data, 0, data.length, position);
  }

  async finish(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.temp, this.target);
    await fsyncDirectory(dirname(this.target));
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}

class StreamSink implements TarSink {
  constructor(private readonly stream: Writable) {}

  async write(data: Buffer): Promise<void> {
    if (!this.stream.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          this.stream.off('error', onError);
          resolve();
        };
        const onError = (err: Error): void => {
          this.stream.off('drain', onDrain);
          reject(err);
        };
        this.stream.once('drain', onDrain);
        this.stream.once('error', onError);
      });
    }
  }

  async finish(): Promise<void> {
    if (this.stream === process.stdout) return; // never end the process's stdout
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }

  async abort(): Promise<void> {}
}

/**
 * Writes the outer tar of an image archive: plain files and directories owned by 0:0 with mtime 0, so the same
 * images give the same archive. Written to a file, the archive appears atomically at `finish()` (it is staged
 * next to the target and renamed); entries whose size is unknown in advance are written in one pass and their
 * header patched. Written to a stream, such entries are spooled to a temporary file first.
 */
export class ArchiveTarWriter {
  private position = 0;
  /** Entries are written one after another even when callers add them concurrently (a copy moves 3 blobs at once). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly sink: TarSink;
  private readonly spoolDir: string;

  private constructor(sink: TarSink, spoolDir: string) {
    this.sink = sink;
    this.spoolDir = spoolDir;
  }

  /** Writes to `path` (staged as a temporary file in the same directory until `finish`). */
  static async toFile(path: string): Promise<ArchiveTarWriter> {
    const temp = join(dirname(path), `.${tempName('archive')}`);
    const handle = await open(temp, 'wx', 0o644);
    return new ArchiveTarWriter(new FileSink(handle, temp, path), dirname(path));
  }

  /** Writes to a stream (e.g. standard output); `spoolDir` holds entries of unknown size. */
  static toStream(stream: Writable, spoolDir: string): ArchiveTarWriter {
    return new ArchiveTarWriter(new StreamSink(stream), spoolDir);
  }

  /** Runs `task` after every entry added before it has been written. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(data: Buffer): Promise<void> {
    await this.sink.write(data);
    this.position += data.length;
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest !== 0) await this.write(Buffer.alloc(BLOCK - rest));
  }

  /** Adds a directory entry. */
  async addDirectory(name: string): Promise<void> {
    await this.serial(() => this.write(encodeHeader(name.endsWith('/') ? name : `${name}/`, 0, '5', 0o755)));
  }

  /** Adds a file from memory. */
  async addBuffer(name: string, data: Buffer): Promise<void> {
    await this.serial(async () => {
      await this.write(encodeHeader(name, data.length, '0', 0o644));
      if (data.length > 0) await this.write(data);
      await this.pad(data.length);
    });
  }

  /** Adds a file of known size from a stream; fails if the stream's length differs. */
  async addStream(name: string, size: number, stream: Readable): Promise<void> {
    await this.serial(() => this.writeStream(name, size, stream));
  }

  private async writeStream(name: string, size: number, stream: Readable): Promise<void> {
    await this.write(encodeHeader(name, size, '0', 0o644));
    const written = await this.copy(stream);
    if (written !== size) throw new Error(`${name}: expected ${size} bytes, got ${written}`);
    await this.pad(size);
  }

  /** Adds a file whose size is known only at the end of the stream. Returns the size. */
  async addStreamOfUnknownSize(name: string, stream: Readable): Promise<number> {
    if (!this.sink.patch) {
      // spool outside the queue (it may take long), then write in turn
      const spoolPath = join(this.spoolDir, tempName('spool'));
      try {
        await pipeline(stream, createWriteStream(spoolPath, { highWaterMark: 1 << 20 }));
        const size = (await stat(spoolPath)).size;
        await this.addStream(name, size, createReadStream(spoolPath, { highWaterMark: 1 << 20 }));
        return size;
      } finally {
        await rm(spoolPath, { force: true });
      }
    }
    return this.serial(async () => {
      const headerAt = this.position;
      await this.write(encodeHeader(name, 0, '0', 0o644));
      const size = await this.copy(stream);
      await this.sink.patch!(headerAt, encodeHeader(name, size, '0', 0o644));
      await this.pad(size);
      return size;
    });
  }

  private async copy(stream: Readable): Promise<number> {
    let written = 0;
    for await (const chunk of stream) {
      const buffer = chunk as Buffer;
      await this.write(buffer);
      written += buffer.length;
    }
    return written;
  }

  /** Writes the end-of-archive marker and closes (renaming a file into place). */
  async finish(): Promise<void> {
    await this.serial(async () => {
      await this.write(ZERO);
      await this.sink.finish();
    });
  }

  /** Discards the archive (removes the staged file). */
  async abort(): Promise<void> {
    await this.sink.abort();
  }
}
