import { TsbuildError } from '@tsbuild/oci';

/** No image in the store (or a source) answers to the given name, ID or digest. */
export class ImageNotFoundError extends TsbuildError {
  constructor(what: string, where = 'the local store') {
    super('IMAGE_NOT_FOUND', `image ${what} not found in ${where}`);
  }
}

/** A name matches more than one image (an ambiguous short ID). */
export class AmbiguousImageError extends TsbuildError {
  constructor(what: string, count: number) {
    super('AMBIGUOUS_IMAGE', `${what} matches ${count} images: use more characters of the ID or a name`);
  }
}

/** The local store is damaged or cannot be used. */
export class StoreError extends TsbuildError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_ERROR', message, options);
  }
}

/** An image archive (`docker save` or OCI archive) or layout that is malformed; names the entry when it can. */
export class ArchiveError extends TsbuildError {
  /** The archive path or `-` for standard input. */
  readonly archive: string;
  /** The entry inside the archive the problem is in, if any. */
  readonly entry: string | undefined;

  constructor(archive: string, message: string, entry?: string, options?: { cause?: unknown }) {
    super('ARCHIVE_ERROR', `${archive}${entry !== undefined ? `: ${entry}` : ''}: ${message}`, options);
    this.archive = archive;
    this.entry = entry;
  }
}

/** A blob that a manifest refers to is missing from where it should be. */
export class MissingBlobError extends TsbuildError {
  constructor(where: string, digest: string) {
    super('MISSING_BLOB', `${where}: blob ${digest} is missing`);
  }
}
