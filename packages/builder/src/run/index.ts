/**
 * RUN isolation: a command in a namespaced overlay snapshot (`runInSnapshot` for RUN steps, `runEphemeral` for
 * `tsbuild run`), plus the pieces a front end needs around it (`resolveUser`, `resolveInRoot`).
 * @packageDocumentation
 */
export { RunError, UserLookupError } from './errors.js';
export { runInSnapshot, type RunInSnapshotOptions } from './run-in-snapshot.js';
export { runEphemeral, type RunEphemeralOptions, type RunEphemeralResult } from './run-ephemeral.js';
export { DEFAULT_HOSTNAME, type SandboxOptions, type SandboxResult } from './sandbox.js';
export { SCRIPT_PATH } from './sandbox-script.js';
export type { SandboxStdin } from './sandbox-process.js';
export type { NetworkMode } from './sandbox-script.js';
export { DEFAULT_PATH } from './environment.js';
export { DEFAULT_INIT_BINARY } from './host-tools.js';
export { MAX_LOWER_DIRS } from './run-dir.js';
export {
  parseGroup,
  parsePasswd,
  resolveUser,
  userDbReaderForRoot,
  type GroupEntry,
  type PasswdEntry,
  type ResolvedUser,
  type UserDbReader,
} from './user.js';
export { resolveInRoot, type InRootPath, type ResolveInRootOptions } from './resolve-in-root.js';
