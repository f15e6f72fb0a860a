import { posix } from 'node:path';

import { resolveInRoot } from './resolve-in-root.js';

/** Whether a command can be started, and if not, the exit code and message a shell would give. */
export type CommandLookup =
  | { readonly found: true; readonly path: string }
  | { readonly found: false; readonly exitCode: 126 | 127; readonly message: string };

/**
 * Looks up `argv0` in the image the way `execvp` will inside the sandbox: a name with a `/` relative to the working
 * directory, any other name in each `PATH` entry; symlinks resolved inside the root. It lets a missing command end
 * with exit code 127 and docker's message instead of a failed exec deep in the set-up.
 */
export async function lookupCommand(root: string, argv0: string, cwd: string, path: string): Promise<CommandLookup> {
  if (argv0 === '') return { found: false, exitCode: 127, message: 'exec: "": executable file not found in $PATH' };
  const candidates = argv0.includes('/')
    ? [posix.resolve(cwd, argv0)]
    : path.split(':').map((dir) => posix.resolve(cwd, dir, argv0));
  let denied: string | undefined;
  for (const candidate of candidates) {
    const found = await resolveInRoot(root, candidate, { followFinal: true });
    const stats = found.stats;
    if (stats === undefined) continue;
    if (stats.isFile() && (stats.mode & 0o111) !== 0) return { found: true, path: `/${found.components.join('/')}` };
    denied ??= candidate;
  }
  if (denied !== undefined) return { found: false, exitCode: 126, message: `exec: "${denied}": permission denied` };
  return {
    found: false,
    exitCode: 127,
    message: argv0.includes('/')
      ? `exec: "${argv0}": no such file or directory`
      : `exec: "${argv0}": executable file not found in $PATH`,
  };
}
