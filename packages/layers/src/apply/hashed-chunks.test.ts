import { describe, expect, it } from 'vitest';
import { DigestMismatchError, sha256Digest } from '@tsbuild/oci';
import { HashedChunks } from './hashed-chunks.js';

async function* chunksOf(...parts: Array<Uint8Array | string>): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? new TextEncoder().encode(part) : part;
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

describe('HashedChunks', () => {
  it('passes chunks on as they are (as Buffers) and knows their digest and size at the end', async () => {
    const view = new TextEncoder().encode('..middle..').subarray(2, 8);
    const hashed = new HashedChunks(chunksOf('abc', view, ''), undefined, 'test');
    expect(hashed.digest).toBeUndefined();
    const out = await collect(hashed);
    expect(out.every((chunk) => Buffer.isBuffer(chunk))).toBe(true);
    expect(Buffer.concat(out).toString()).toBe('abcmiddle');
    expect(hashed.size).toBe(9);
    expect(hashed.digest).toBe(sha256Digest('abcmiddle'));
  });

  it('ends with a DigestMismatchError naming the content when the digest is not the expected one', async () => {
    await expect(collect(new HashedChunks(chunksOf('abc'), sha256Digest('abc'), 'test'))).resolves.toHaveLength(1);
    const wrong = new HashedChunks(chunksOf('abc'), sha256Digest('abd'), 'the content');
    const error = await collect(wrong).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as Error).message).toMatch(/^the content: digest mismatch/);
  });

  it("passes the source's error on", async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([1]);
      throw new Error('source broke');
    }
    await expect(collect(new HashedChunks(failing(), undefined, 'test'))).rejects.toThrow('source broke');
  });
});
