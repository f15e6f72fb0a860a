import { PassThrough, pipeline, Readable, type Duplex } from 'node:stream';
import type { Compression } from '@tsbuild/oci';
import { LayerError } from '../errors.js';
import { SNIFF_BYTES, sniffFormat } from './detect.js';
import { createGzipDecompressor, ParallelGzip, type GzipOptions } from './gzip.js';
import { createZstdCompressor, createZstdDecompressor, type ZstdImplementation } from './zstd.js';

/** Options of {@link compressStream}. */
export interface CompressOptions {
  /** Compression level (gzip 1–9, default 6; zstd 1–22, default 3). Ignored for `none`. */
  level?: number;
  /** gzip: members compressed at the same time (see {@link GzipOptions.concurrency}). Does not change the output. */
  concurrency?: number;
  /** zstd: force the addon or the `zstd` program (default: the addon when it loads). */
  zstd?: ZstdImplementation;
}

/**
 * A stream that compresses what is written to it. gzip uses several cores for large inputs (independent members,
 * see {@link ParallelGzip}); zstd uses `zstd-napi` or, if the addon does not load, the `zstd` program; `none`
 * passes bytes through.
 */
export function compressStream(compression: Compression, options: CompressOptions = {}): Duplex {
  switch (compression) {
    case 'gzip':
      return new ParallelGzip({
        ...(options.level !== undefined ? { level: options.level } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      });
    case 'zstd':
      return createZstdCompressor(options.level, options.zstd);
    case 'none':
      return new PassThrough();
  }
}

/** Options of {@link decompressStream} and {@link openUncompressed}. */
export interface DecompressOptions extends Pick<CompressOptions, 'zstd'> {
  /**
   * gzip: decompressed bytes kept ready before the decompressor waits for a reader (default: one chunk). More lets
   * zlib work ahead of a reader that takes chunks in bursts.
   */
  readAhead?: number;
}

/** A stream that decompresses what is written to it (`none` passes bytes through). */
export function decompressStream(compression: Compression, options: DecompressOptions = {}): Duplex {
  switch (compression) {
    case 'gzip':
      return createGzipDecompressor(options.readAhead);
    case 'zstd':
      return createZstdDecompressor(options.zstd);
    case 'none':
      return new PassThrough();
  }
}

/**
 * Sniffs the compression of a blob from its first bytes and returns a stream of its uncompressed bytes. bzip2 and
 * xz, which OCI layers do not use, are rejected with a {@link LayerError}. Errors of the source or of the
 * decompressor surface on the returned stream.
 */
export async function openUncompressed(
  source: AsyncIterable<Uint8Array>,
  options: DecompressOptions = {},
): Promise<{ compression: Compression; stream: Readable }> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.length);
    head.push(chunk);
    headLength += chunk.length;
  }
  const first = Buffer.concat(head, headLength);
  const format = sniffFormat(first);
  if (format === 'bzip2' || format === 'xz') {
    await iterator.return?.();
    throw new LayerError(`the layer is compressed with ${format}; layers are plain tar, gzip or zstd`);
  }
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (first.length > 0) yield first;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.length);
      }
    } finally {
      await iterator.return?.();
    }
  }
  const raw = Readable.from(replay(), { objectMode: false, highWaterMark: 256 * 1024 });
  if (format === 'none') return { compression: 'none', stream: raw };
  const decompressor = decompressStream(format, options);
  pipeline(raw, decompressor, () => undefined);
  return { compression: format, stream: decompressor };
}
