import { readFileSync } from 'node:fs';

/**
 * The process's file mode creation mask, read from `/proc/self/status` (Linux 4.7+) without changing it:
 * `process.umask()` with no argument sets the mask to 0 and back, a window in which a file created by another
 * thread would get the wrong mode. Undefined where the kernel does not say.
 */
export function readUmask(statusPath = '/proc/self/status'): number | undefined {
  let status: string;
  try {
    status = readFileSync(statusPath, 'latin1');
  } catch {
    return undefined;
  }
  const match = /^Umask:\s*([0-7]{1,4})\s*$/m.exec(status);
  return match === null ? undefined : parseInt(match[1]!, 8);
}
