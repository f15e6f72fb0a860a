import { Writable } from 'node:stream';
import { DigestMismatchError, SizeMismatchError, type Digest, type ExpectedContent } from '@tsbuild/oci';
import { sharedHashWritePool, type HashWriteJob, type HashWritePool } from './hash-write-pool.js';

/** Options of a {@link HashingFileSink}. */
export interface HashingFileSinkOptions {
  /**
   * What the content must be. A size is enforced as bytes arrive (one byte too many fails the write at once) and at
   * the end; a digest at the end. Without a digest the content is not hashed.
   */
  expected?: ExpectedContent;
  /** The pool whose workers do the work (default the process-wide one). */
  pool?: HashWritePool;
  /**
   * Bytes per buffer handed to the worker (default 256 KiB: smaller ones cost more messages; 1 MiB ones made pulls
   * to ext4 slower in the registry benchmark).
   */
  bufferSize?: number;
  /** Buffers in flight at most (default 4): the memory a sink holds is at most `bufferSize * buffers`. */
  buffers?: number;
}

type Callback = (error?: Error | null) => void;

/**
 * A writable that writes its bytes into an open file, hashing and writing them in a worker thread of a
 * {@link HashWritePool}: chunks are copied into a few large buffers that are handed to the worker in turn, so the
 * main thread only copies bytes. It fails as soon as the content is longer than expected, and at its end if the
 * size or digest differ; once it has finished, {@link digest} and {@link size} say what was written. The file
 * descriptor stays the caller's: close it only after {@link settled}.
 */
export class HashingFileSink extends Writable {
  /** The sha256 of everything written, once the sink has finished (undefined when not hashing). */
  digest: Digest | undefined;
  /** Bytes accepted so far. */
  size = 0;
  private readonly expected: ExpectedContent;
  private readonly job: HashWriteJob;
  private readonly bufferSize: number;
  private readonly maxBuffers: number;
  private readonly free: ArrayBuffer[] = [];
  private allocated = 0;
  private current: ArrayBuffer | undefined;
  private fill = 0;
  /** Continues a write that waits for a buffer to come back. */
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly ended: Promise<void>;
  private endJob!: () => void;

  constructor(fd: number, options: HashingFileSinkOptions = {}) {
    super({ highWaterMark: 1 << 20 });
    this.expected = options.expected ?? {};
    this.bufferSize = Math.max(1, options.bufferSize ?? 256 * 1024);
    this.maxBuffers = Math.max(1, options.buffers ?? 4);
    this.job = (options.pool ?? sharedHashWritePool()).open(fd, { hash: this.expected.digest !== undefined });
    this.ended = new Promise<void>((resolve) => (this.endJob = resolve));
  }

  /** Resolves once the worker is done with the file (the sink finished or was destroyed): it may be closed then. */
  settled(): Promise<void> {
    return this.ended;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    if (this.accept(chunk.length, callback)) this.copy([chunk], 0, 0, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: Callback): void {
    const buffers = chunks.map(({ chunk }) => chunk);
    if (this.accept(buffers.reduce((sum, chunk) => sum + chunk.length, 0), callback)) this.copy(buffers, 0, 0, callback);
  }

  override _final(callback: Callback): void {
    if (this.failure !== undefined) {
      callback(this.failure);
      return;
    }
    if (this.current !== undefined && this.fill > 0) this.send();
    this.job.finish().then(
      (result) => {
        this.endJob();
        const { size, digest, what = 'content' } = this.expected;
        if (this.failure !== undefined) return callback(this.failure);
        if (result.size !== this.size) return callback(new Error(`${what}: ${this.size} bytes given but ${result.size} written`));
        if (size !== undefined && result.size !== size) return callback(new SizeMismatchError(what, size, result.size));
        this.digest = result.digest;
        if (digest !== undefined && result.digest !== digest) return callback(new DigestMismatchError(what, digest, result.digest ?? 'none'));
        callback();
      },
      (err: Error) => {
        this.endJob();
        callback(this.failure ?? err);
      },
    );
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.waiting = undefined;
    this.job.cancel().then(() => {
      this.endJob();
      callback(error);
    });
  }

  /** Counts `bytes` more; false (after failing the write) when that is more than the expected size. */
  private accept(bytes: number, callback: Callback): boolean {
    this.size += bytes;
    const { size: limit, what = 'content' } = this.expected;
    if (limit === undefined || this.size <= limit) return true;
    callback(new SizeMismatchError(what, limit, this.size));
    return false;
  }

  /** Copies `chunks` (from `chunks[index]` at `offset` on) into buffers, handing each full one to the worker. */
  private copy(chunks: Buffer[], index: number, offset: number, callback: Callback): void {
    let i = index;
    let at = offset;
    while (i < chunks.length) {
      if (this.failure !== undefined) {
        callback(this.failure);
        return;
      }
      if (this.current === undefined) {
        const buffer = this.take();
        if (buffer === undefined) {
          const [resumeIndex, resumeOffset] = [i, at];
          this.waiting = () => this.copy(chunks, resumeIndex, resumeOffset, callback);
          return;
        }
        this.current = buffer;
        this.fill = 0;
      }
      const chunk = chunks[i]!;
      const n = Math.min(chunk.length - at, this.current.byteLength - this.fill);
      new Uint8Array(this.current, this.fill, n).set(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
      this.fill += n;
      at += n;
      if (at === chunk.length) {
        i++;
        at = 0;
      }
      if (this.fill === this.current.byteLength) this.send();
    }
    callback();
  }

  /** A free buffer, or a new one while fewer than the maximum exist; undefined when all are with the worker. */
  private take(): ArrayBuffer | undefined {
    const buffer = this.free.pop();
    if (buffer !== undefined) return buffer;
    if (this.allocated >= this.maxBuffers) return undefined;
    this.allocated++;
    return new ArrayBuffer(this.bufferSize);
  }

  /** Hands the current buffer to the worker. */
  private send(): void {
    const buffer = this.current!;
    const length = this.fill;
    this.current = undefined;
    this.fill = 0;
    this.job.write(buffer, length).then(
      (back) => {
        this.free.push(back);
        this.wake();
      },
      (err: Error) => {
        this.failure ??= err;
        this.wake();
      },
    );
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
