import { runSandbox, type SandboxOptions, type SandboxResult } from './sandbox.js';

/** Options of {@link runInSnapshot}: the sandbox options plus the dirs that receive the RUN's changes. */
export interface RunInSnapshotOptions extends SandboxOptions {
  /** A fresh, empty directory that receives every change the command makes (the future layer). */
  readonly upperDir: string;
  /** A fresh, empty directory on the same file system as `upperDir`, for overlayfs's own use. */
  readonly workDir: string;
}

/**
 * Runs a RUN step: the command in a namespaced overlay snapshot of `lowerDirs`, with everything it changes in
 * `upperDir` (whiteouts as char 0/0 devices, opaque dirs marked `trusted.overlay.opaque=y`), ready for the layer
 * engine; stdin is `/dev/null`. The upper dir's root takes the mode and owner of the image's root.
 * A non-zero exit is returned, not thrown.
 * @throws {RunError} when the sandbox cannot be set up; {@link UserLookupError} for an unknown `user`;
 *   the signal's reason when `signal` aborts (after every process is gone and the temporaries are removed).
 */
export function runInSnapshot(options: RunInSnapshotOptions): Promise<SandboxResult> {
  return runSandbox({ ...options, stdin: 'ignore' });
}
