import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DigestMismatchError, SizeMismatchError, sha256Digest } from '@tsbuild/oci';
import { makeTempDir } from '../../../../test/helpers/tmp.js';
import { HashWritePool } from './hash-write-pool.js';
import { HashingFileSink, type HashingFileSinkOptions } from './hashing-file-sink.js';

/** `bytes` as a stream of uneven chunks (so they straddle the sink's buffers). */
function chunked(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0, n = 1; at < bytes.length; at += n, n = (n * 7 + 3) % 5000) chunks.push(bytes.subarray(at, at + n));
  return Readable.from(chunks, { objectMode: false });
}

describe('HashingFileSink', () => {
  const pool = new HashWritePool(2);
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
  afterEach(async () => cleanup());
  afterAll(async () => pool.close());

  /** Streams `bytes` into a new file through a sink; returns the file's content and the sink. */
  async function write(bytes: Buffer, options: HashingFileSinkOptions): Promise<{ written: Buffer; sink: HashingFileSink; error: unknown }> {
    const path = join(dir, `file-${Math.random()}`);
    const handle = await open(path, 'wx');
    const sink = new HashingFileSink(handle.fd, { pool, bufferSize: 4096, buffers: 2, ...options });
    let error: unknown;
    try {
      await pipeline(chunked(bytes), sink);
    } catch (err) {
      error = err;
    } finally {
      await sink.settled();
      await handle.close();
    }
    return { written: await readFile(path), sink, error };
  }

  it('writes the bytes in order and measures their digest and size', async () => {
    const bytes = randomBytes(300_000);
    const { written, sink, error } = await write(bytes, { expected: { digest: sha256Digest(bytes), size: bytes.length } });
    expect(error).toBeUndefined();
    expect(written.equals(bytes)).toBe(true);
    expect(sink.digest).toBe(sha256Digest(bytes));
    expect(sink.size).toBe(bytes.length);
  });

  it('writes without hashing when no digest is expected', async () => {
    const bytes = randomBytes(50_000);
    const { written, sink, error } = await write(bytes, {});
    expect(error).toBeUndefined();
    expect(written.equals(bytes)).toBe(true);
    expect(sink.digest).toBeUndefined();
  });

  it('fails at the end when the digest or the size differs', async () => {
    const bytes = randomBytes(20_000);
    const wrongDigest = await write(bytes, { expected: { digest: sha256Digest('other'), size: bytes.length, what: 'blob x' } });
    expect(wrongDigest.error).toBeInstanceOf(DigestMismatchError);
    const short = await write(bytes, { expected: { size: bytes.length + 1 } });
    expect(short.error).toBeInstanceOf(SizeMismatchError);
  });

  it('fails as soon as the content is longer than expected', async () => {
    const bytes = randomBytes(100_000);
    const { written, error } = await write(bytes, { expected: { size: 10_000 } });
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(written.length).toBeLessThanOrEqual(10_000);
  });

  it('fails when the worker cannot write the file', async () => {
    const path = join(dir, 'read-only');
    await (await open(path, 'wx')).close();
    const handle = await open(path, 'r');
    const sink = new HashingFileSink(handle.fd, { pool, bufferSize: 4096 });
    try {
      await expect(pipeline(chunked(randomBytes(20_000)), sink)).rejects.toMatchObject({ code: 'EBADF' });
    } finally {
      await sink.settled();
      await handle.close();
    }
  });

  it('lets the file be closed once destroyed', async () => {
    const handle = await open(join(dir, 'destroyed'), 'wx');
    const sink = new HashingFileSink(handle.fd, { pool, bufferSize: 4096 });
    sink.write(randomBytes(10_000));
    sink.destroy();
    await sink.settled();
    await handle.close();
  });
});
