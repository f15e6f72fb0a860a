import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DigestMismatchError, SizeMismatchError, sha256Digest } from '@tsbuild/oci';
import { BlobDownload, type BlobDownloadOptions, type BlobResponse } from './blob-download.js';

const content = randomBytes(200_000);
const expected = { digest: sha256Digest(content), size: content.length, what: 'blob under test' };

/** A body that yields `bytes` in 7000-byte chunks and then, if given, fails with `error`. */
function body(bytes: Buffer, error?: Error): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 7000) chunks.push(bytes.subarray(at, at + 7000));
  return Readable.from(
    (async function* () {
      yield* chunks;
      if (error) throw error;
    })(),
    { objectMode: false },
  );
}

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function download(responses: Array<(offset: number) => BlobResponse>, overrides: Partial<BlobDownloadOptions> = {}): { stream: BlobDownload; offsets: number[] } {
  const offsets: number[] = [];
  const stream = new BlobDownload({
    open: async (offset) => {
      offsets.push(offset);
      const next = responses.shift();
      if (!next) throw new Error('no more responses');
      return next(offset);
    },
    resume: async () => undefined,
    expected,
    ...overrides,
  });
  return { stream, offsets };
}

describe('BlobDownload', () => {
  it('passes the body through and reports progress', async () => {
    const progress: number[] = [];
    const { stream, offsets } = download([() => ({ body: body(content), skip: 0 })], { onBytes: (n) => progress.push(n) });
    expect((await read(stream)).equals(content)).toBe(true);
    expect(offsets).toEqual([0]);
    expect(progress.at(-1)).toBe(content.length);
  });

  it('fails at the end when the digest differs, unless not verifying', async () => {
    const tampered = Buffer.from(content);
    tampered[1000] = tampered[1000]! ^ 1;
    const { stream } = download([() => ({ body: body(tampered), skip: 0 })]);
    await expect(read(stream)).rejects.toBeInstanceOf(DigestMismatchError);
    const unverified = download([() => ({ body: body(tampered), skip: 0 })], { verify: false });
    expect((await read(unverified.stream)).equals(tampered)).toBe(true);
  });

  it('enforces the size even when not verifying', async () => {
    const longer = download([() => ({ body: body(Buffer.concat([content, Buffer.from('x')])), skip: 0 })], { verify: false });
    await expect(read(longer.stream)).rejects.toBeInstanceOf(SizeMismatchError);
    const shorter = download([() => ({ body: body(content.subarray(1)), skip: 0 })], { verify: false });
    await expect(read(shorter.stream)).rejects.toBeInstanceOf(SizeMismatchError);
  });

  it('resumes from where a broken body stopped, dropping what a server that ignored the range sends again', async () => {
    const broken = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const { stream, offsets } = download([
      () => ({ body: body(content.subarray(0, 70_000), broken), skip: 0 }),
      (offset) => ({ body: body(content.subarray(offset, 140_000), broken), skip: 0 }),
      (offset) => ({ body: body(content), skip: offset }),
    ]);
    expect((await read(stream)).equals(content)).toBe(true);
    expect(offsets).toEqual([0, 70_000, 140_000]);
  });

  it('fails with what resume rejects with', async () => {
    const broken = new Error('socket hang up');
    const { stream } = download([() => ({ body: body(content.subarray(0, 10_000), broken), skip: 0 })], {
      resume: async (error, offset) => {
        throw new Error(`gave up at ${offset}: ${(error as Error).message}`);
      },
    });
    await expect(read(stream)).rejects.toThrow('gave up at 10000: socket hang up');
  });

  it('fails when the request fails', async () => {
    const { stream } = download([]);
    await expect(read(stream)).rejects.toThrow('no more responses');
  });
});
