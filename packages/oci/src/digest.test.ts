import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DigestingStream, parseDigest, sha256Digest, verifyBytes } from './digest.js';
import { DigestMismatchError, SizeMismatchError } from './errors.js';

const HELLO = 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';

async function drain(data: Buffer[], stream: DigestingStream): Promise<void> {
  await pipeline(Readable.from(data), stream, new Writable({ write: (_c, _e, cb) => cb() }));
}

describe('digests', () => {
  it('hashes', () => {
    expect(sha256Digest('hello')).toBe(HELLO);
  });

  it('parses only sha256', () => {
    expect(parseDigest(HELLO)).toBe(HELLO);
    expect(() => parseDigest('sha256:abc')).toThrow(/not a valid sha256 digest/);
    expect(() => parseDigest(`sha512:${'a'.repeat(128)}`)).toThrow(/unsupported digest algorithm/);
  });

  it('verifies a stream split into chunks', async () => {
    const stream = new DigestingStream({ digest: HELLO, size: 5 });
    await drain([Buffer.from('he'), Buffer.from('llo')], stream);
    expect(stream.digest).toBe(HELLO);
    expect(stream.size).toBe(5);
  });

  it('fails on a different digest, naming the content', async () => {
    const stream = new DigestingStream({ digest: HELLO, what: 'blob x' });
    await expect(drain([Buffer.from('hellO')], stream)).rejects.toThrow(DigestMismatchError);
    await expect(drain([Buffer.from('hellO')], new DigestingStream({ digest: HELLO, what: 'blob x' }))).rejects.toThrow(/blob x: digest mismatch/);
  });

  it('fails as soon as the content is longer than declared', async () => {
    const stream = new DigestingStream({ size: 3 });
    await expect(drain([Buffer.from('hello')], stream)).rejects.toThrow(SizeMismatchError);
  });

  it('fails when the content is shorter than declared', async () => {
    await expect(drain([Buffer.from('hi')], new DigestingStream({ size: 3 }))).rejects.toThrow(/expected 3 bytes, got 2/);
  });

  it('verifies buffers', () => {
    expect(verifyBytes(Buffer.from('hello'), { digest: HELLO, size: 5 })).toBe(HELLO);
    expect(() => verifyBytes(Buffer.from('hello'), { size: 4 })).toThrow(SizeMismatchError);
  });
});
