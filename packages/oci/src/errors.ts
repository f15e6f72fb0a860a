/**
 * Base class of every error tsbuild raises on purpose: the message is meant for a user and says what went wrong
 * and, where it can, what to do about it. Anything that is not a `TsbuildError` is a bug.
 */
export class TsbuildError extends Error {
  /** A short, stable, machine-readable code (e.g. `INVALID_REFERENCE`). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An image reference, digest or platform string that does not follow its grammar. */
export class InvalidReferenceError extends TsbuildError {
  constructor(message: string) {
    super('INVALID_REFERENCE', message);
  }
}

/** Content whose sha256 digest or size is not the one it was expected to have. */
export class DigestMismatchError extends TsbuildError {
  readonly expected: string;
  readonly actual: string;

  constructor(what: string, expected: string, actual: string) {
    super('DIGEST_MISMATCH', `${what}: digest mismatch: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** Content whose length is not the size its descriptor declares. */
export class SizeMismatchError extends TsbuildError {
  readonly expected: number;
  readonly actual: number;

  constructor(what: string, expected: number, actual: number) {
    super('SIZE_MISMATCH', `${what}: size mismatch: expected ${expected} bytes, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A manifest, index or config that is not valid JSON or does not match its schema. */
export class InvalidManifestError extends TsbuildError {
  constructor(message: string) {
    super('INVALID_MANIFEST', message);
  }
}

/** A media type tsbuild does not know how to handle where it has to. */
export class UnsupportedMediaTypeError extends TsbuildError {
  constructor(message: string) {
    super('UNSUPPORTED_MEDIA_TYPE', message);
  }
}
