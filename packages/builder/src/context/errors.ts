import { TsbuildError } from '@tsbuild/oci';

/**
 * Codes of {@link ContextError}: the build context cannot be opened (`CONTEXT_NOT_FOUND`), its Dockerfile is missing
 * (`DOCKERFILE_NOT_FOUND`), a COPY/ADD source does not exist or is excluded (`SOURCE_NOT_FOUND`), no source was
 * selected at all (`NO_SOURCE_FILES`), a source leads outside the context (`SOURCE_OUTSIDE_CONTEXT`), or a source
 * pattern is malformed (`BAD_SOURCE_PATTERN`), a `.dockerignore` pattern cannot be compiled (`BAD_DOCKERIGNORE`), a
 * path of an image filesystem cannot be read as asked (`IMAGE_PATH`).
 */
export type ContextErrorCode =
  | 'CONTEXT_NOT_FOUND'
  | 'DOCKERFILE_NOT_FOUND'
  | 'SOURCE_NOT_FOUND'
  | 'NO_SOURCE_FILES'
  | 'SOURCE_OUTSIDE_CONTEXT'
  | 'BAD_SOURCE_PATTERN'
  | 'BAD_DOCKERIGNORE'
  | 'IMAGE_PATH';

/**
 * A problem with the build context or with the sources a COPY/ADD selects from it (or from a stage's filesystem).
 * The message names the path or pattern; the executor prefixes `Dockerfile:LINE`.
 */
export class ContextError extends TsbuildError {
  /** The source pattern or path the error is about, when there is one. */
  readonly path: string | undefined;

  constructor(code: ContextErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.path = options.path;
  }
}
