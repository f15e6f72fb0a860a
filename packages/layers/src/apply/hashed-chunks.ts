import { DigestMismatchError, Digester, type Digest } from '@tsbuild/oci';

/**
 * The chunks of a stream, hashed as the consumer takes them. Unlike a hashing stream stage piped after a
 * decompressor, this never runs inside the decompressor's callback, so the decompressor starts on its next chunk
 * (on libuv's pool) while this thread hashes and uses the last one. When the source ends, the digest is checked
 * against the expected one (if any): a mismatch ends the iteration with a {@link DigestMismatchError}.
 */
export class HashedChunks implements AsyncIterable<Buffer> {
  private readonly source: AsyncIterable<Uint8Array>;
  private readonly digester = new Digester();
  private readonly expected: Digest | undefined;
  private readonly what: string;
  /** The digest of everything, once the source has ended. */
  digest: Digest | undefined;

  constructor(source: AsyncIterable<Uint8Array>, expected: Digest | undefined, what: string) {
    this.source = source;
    this.expected = expected;
    this.what = what;
  }

  /** Bytes taken so far. */
  get size(): number {
    return this.digester.size;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for await (const piece of this.source) {
      const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.length);
      this.digester.update(chunk);
      yield chunk;
    }
    this.digest = this.digester.digest();
    if (this.expected !== undefined && this.digest !== this.expected) throw new DigestMismatchError(this.what, this.expected, this.digest);
  }
}
