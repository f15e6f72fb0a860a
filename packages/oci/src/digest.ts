import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, InvalidReferenceError, SizeMismatchError } from './errors.js';

/** A content digest, `algorithm:hex`. tsbuild computes and verifies sha256 only. */
export type Digest = `sha256:${string}`;

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Whether `value` is a well-formed sha256 digest (`sha256:` and 64 lowercase hex digits). */
export function isDigest(value: string): value is Digest {
  return SHA256_RE.test(value);
}

/**
 * Checks that `value` is a sha256 digest and returns it typed as one.
 * @throws InvalidReferenceError naming `what` when it is not.
 */
export function parseDigest(value: string, what = 'digest'): Digest {
  if (isDigest(value)) return value;
  if (ANY_DIGEST_RE.test(value) && !value.startsWith('sha256:')) {
    throw new InvalidReferenceError(`${what} "${value}": unsupported digest algorithm (only sha256 is supported)`);
  }
  throw new InvalidReferenceError(`${what} "${value}" is not a valid sha256 digest (sha256: followed by 64 lowercase hex digits)`);
}

/** The hex part of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** The sha256 digest of some bytes. */
export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** An incremental sha256 digester that also counts bytes. */
export class Digester {
  private readonly hash: Hash = createHash('sha256');
  /** Bytes seen so far. */
  size = 0;

  /** Adds a chunk. */
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  /** The digest of everything added; call once. */
  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** What a stream of content is expected to be: both checks are optional. */
export interface ExpectedContent {
  /** The digest the content must have. */
  digest?: Digest;
  /** The exact size in bytes. Reading past it fails at once, so a hostile source cannot make us read forever. */
  size?: number;
  /** Names the content in error messages (e.g. `blob sha256:ab.. of localhost:5000/app`). */
  what?: string;
}

/**
 * A pass-through stream that hashes what flows through it and, at its end, fails with
 * {@link DigestMismatchError} or {@link SizeMismatchError} if the content is not what was expected. A consumer
 * that sees the stream end without an error has verified content. After the end, {@link digest} and {@link size}
 * hold what was measured.
 */
export class DigestingStream extends Transform {
  private readonly digester = new Digester();
  private readonly expected: ExpectedContent;
  /** The measured digest, once the stream has ended. */
  digest: Digest | undefined;

  constructor(expected: ExpectedContent = {}) {
    super();
    this.expected = expected;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.digester.size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.digester.update(chunk);
    const { size, what = 'content' } = this.expected;
    if (size !== undefined && this.digester.size > size) {
      callback(new SizeMismatchError(what, size, this.digester.size));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const { size, digest, what = 'content' } = this.expected;
    this.digest = this.digester.digest();
    if (size !== undefined && this.digester.size !== size) {
      callback(new SizeMismatchError(what, size, this.digester.size));
      return;
    }
    if (digest !== undefined && this.digest !== digest) {
      callback(new DigestMismatchError(what, digest, this.digest));
      return;
    }
    callback();
  }
}

/**
 * Verifies a complete buffer against an expected digest and size.
 * @throws DigestMismatchError or SizeMismatchError.
 */
export function verifyBytes(data: Uint8Array, expected: ExpectedContent): Digest {
  const what = expected.what ?? 'content';
  if (expected.size !== undefined && data.length !== expected.size) {
    throw new SizeMismatchError(what, expected.size, data.length);
  }
  const actual = sha256Digest(data);
  if (expected.digest !== undefined && actual !== expected.digest) {
    throw new DigestMismatchError(what, expected.digest, actual);
  }
  return actual;
}
