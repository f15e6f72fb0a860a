import { RunError } from './errors.js';

/** The `PATH` docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The command's environment: `env` as given (`NAME=value`, later entries win), plus docker's default `PATH` when
 * it has none. (`HOME` from `/etc/passwd` is added inside the sandbox once the user is known.)
 * @throws {RunError} for an entry without a name or a `=`, or with a NUL byte.
 */
export function commandEnvironment(env: readonly string[]): string[] {
  for (const entry of env) {
    if (entry.indexOf('=') < 1 || entry.includes('\0')) {
      throw new RunError(`invalid environment entry ${JSON.stringify(entry)}: expected NAME=value`);
    }
  }
  return envValue(env, 'PATH') === undefined ? [...env, `PATH=${DEFAULT_PATH}`] : [...env];
}

/** The value of `name` in a `NAME=value` list (the last one wins, as when they are set in order). */
export function envValue(env: readonly string[], name: string): string | undefined {
  for (let index = env.length - 1; index >= 0; index -= 1) {
    const entry = env[index] ?? '';
    if (entry.startsWith(`${name}=`)) return entry.slice(name.length + 1);
  }
  return undefined;
}
