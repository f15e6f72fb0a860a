import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A unique name for a temporary file, safe to create in a shared directory. */
export function tempName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** fsyncs a directory so that renames into it survive a crash. */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file in `stagingDir` (which must be on the same filesystem) is
 * written, fsynced and renamed over `path`, then the directory is fsynced. Readers see the old or the new content,
 * never a part.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, stagingDir = dirname(path)): Promise<void> {
  await mkdir(stagingDir, { recursive: true });
  const temp = join(stagingDir, tempName('write'));
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
    await fsyncDirectory(dirname(path));
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}
