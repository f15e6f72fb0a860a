import { TsbuildError } from '@tsbuild/oci';

/**
 * Codes of {@link CopyError}: the destination cannot take the sources (`COPY_DESTINATION`), a source cannot be
 * copied (`COPY_SOURCE`), an archive cannot be extracted (`ADD_ARCHIVE`), a URL cannot be fetched
 * (`ADD_DOWNLOAD`), a download does not have the `--checksum` it must have (`ADD_CHECKSUM`).
 */
export type CopyErrorCode = 'COPY_DESTINATION' | 'COPY_SOURCE' | 'ADD_ARCHIVE' | 'ADD_DOWNLOAD' | 'ADD_CHECKSUM';

/** A COPY or ADD that cannot be carried out; the message starts with `COPY failed:` or `ADD failed:`. */
export class CopyError extends TsbuildError {
  /** The path, entry or URL the error is about. */
  readonly path: string | undefined;

  constructor(code: CopyErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.path = options.path;
  }
}
