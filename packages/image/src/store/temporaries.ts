import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Whether a process with this PID is alive (on this host, in this PID namespace). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes entries of a staging directory left behind by processes that died (for example by `kill -9`). Staging
 * names carry their writer's PID (`<prefix>-<pid>-<random>`); entries of live processes are left alone.
 */
export async function removeStaleTemporaries(dir: string): Promise<number> {
  let removed = 0;
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const match = /-(\d+)-[0-9a-f]+$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
