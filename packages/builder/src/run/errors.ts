import { TsbuildError } from '@tsbuild/oci';

/**
 * The sandbox for a RUN step (or `tsbuild run`) could not be set up: a missing host tool, an unusable lower, upper
 * or work dir, a failed mount, a mount target the image makes impossible. A command that runs and exits non-zero is
 * not a `RunError`: its exit code is returned.
 */
export class RunError extends TsbuildError {
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(options?.code ?? 'RUN_SETUP_FAILED', message, options?.cause === undefined ? {} : { cause: options.cause });
  }
}

/** A `USER` spec names a user or group that the image's `/etc/passwd` or `/etc/group` does not have. */
export class UserLookupError extends RunError {
  constructor(message: string) {
    super(message, { code: 'USER_NOT_FOUND' });
  }
}
