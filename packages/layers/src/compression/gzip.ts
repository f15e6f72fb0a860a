import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { createGunzip, gzip, type ZlibOptions } from 'node:zlib';

/** Options of {@link ParallelGzip}. */
export interface GzipOptions {
  /** zlib level 1–9 (default 6, as gzip and Go use). */
  level?: number;
  /**
   * Uncompressed bytes per gzip member (default 1 MiB). Members are cut at fixed offsets, so the output depends
   * on this, the level and the zlib build, never on `concurrency` or on how the input was chunked.
   */
  memberSize?: number;
  /**
   * Members compressed at the same time (default: one per CPU plus one, bounded by libuv's thread pool less one
   * thread kept for file reads: 3 with the default `UV_THREADPOOL_SIZE` of 4; raise that variable to use more cores).
   */
  concurrency?: number;
}

/** Default gzip level. */
export const DEFAULT_GZIP_LEVEL = 6;
const DEFAULT_MEMBER_SIZE = 1 << 20;

/** Members in flight by default: CPUs + 1, leaving one libuv thread for file system calls. */
function defaultConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const threads = Number.isInteger(pool) && pool > 1 ? pool - 1 : 1;
  return Math.min(availableParallelism() + 1, threads);
}

function gzipAsync(data: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzip(data, options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * gzip on several cores: the input is cut into fixed-size pieces, each compressed as an independent gzip member
 * on libuv's thread pool (zlib's asynchronous API runs off the main thread), and the members are written in order.
 * A sequence of members is one valid gzip stream (RFC 1952), which Go's `compress/gzip` (skopeo, umoci,
 * containerd), GNU gzip, pigz and Node all read whole. Input below one member gives exactly one member.
 */
export class ParallelGzip extends Transform {
  private readonly zlibOptions: ZlibOptions;
  private readonly memberSize: number;
  private readonly concurrency: number;
  private piece: Buffer;
  private used = 0;
  private sawInput = false;
  private readonly inFlight: Array<Promise<Buffer>> = [];

  constructor(options: GzipOptions = {}) {
    super();
    this.memberSize = Math.max(64 * 1024, options.memberSize ?? DEFAULT_MEMBER_SIZE);
    this.concurrency = Math.max(1, options.concurrency ?? defaultConcurrency());
    const level = options.level ?? DEFAULT_GZIP_LEVEL;
    // One output buffer a bit larger than the worst case, so each member is one pass through zlib.
    this.zlibOptions = { level, chunkSize: this.memberSize + (this.memberSize >> 6) + 1024 };
    this.piece = Buffer.allocUnsafeSlow(this.memberSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.accept(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.finish().then(() => callback(), callback);
  }

  private async accept(chunk: Buffer): Promise<void> {
    if (chunk.length > 0) this.sawInput = true;
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.memberSize - this.used);
      chunk.copy(this.piece, this.used, offset, offset + n);
      this.used += n;
      offset += n;
      if (this.used === this.memberSize) {
        this.submit(this.piece);
        this.piece = Buffer.allocUnsafeSlow(this.memberSize);
        this.used = 0;
        while (this.inFlight.length >= this.concurrency) this.push(await this.inFlight.shift()!);
      }
    }
  }

  private async finish(): Promise<void> {
    if (this.used > 0 || !this.sawInput) this.submit(this.piece.subarray(0, this.used));
    while (this.inFlight.length > 0) this.push(await this.inFlight.shift()!);
  }

  private submit(data: Buffer): void {
    const job = gzipAsync(data, this.zlibOptions);
    job.catch(() => undefined); // observed when awaited in order; avoid an unhandled rejection meanwhile
    this.inFlight.push(job);
  }
}

/**
 * A gzip decompressor that reads every member of a multi-member stream. `readAhead`: decompressed bytes it keeps
 * ready before waiting for a reader (default: one chunk of 256 KiB).
 */
export function createGzipDecompressor(readAhead?: number): Transform {
  // zlib's options are passed on to the Transform it is (the stream options are missing from ZlibOptions' type).
  const options: ZlibOptions & TransformOptions = { chunkSize: 256 * 1024, ...(readAhead !== undefined ? { readableHighWaterMark: readAhead } : {}) };
  return createGunzip(options);
}
