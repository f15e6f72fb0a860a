import { spawn } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StoreError } from '../errors.js';

/** A held lock; release it exactly once. */
export interface HeldLock {
  release(): Promise<void>;
}

/** Options for {@link acquireLock}. */
export interface LockOptions {
  /** Take a shared lock (many holders) instead of an exclusive one. */
  shared?: boolean;
  signal?: AbortSignal;
}

/**
 * Takes an exclusive (or shared) `flock(2)` on `path` (created if missing), waiting for other holders.
 *
 * Node has no `flock`, so this process opens the file and hands that open file description to a short-lived
 * `flock(1)` (as its fd 3) which locks it and exits. A `flock` lock belongs to the open file description, not to the
 * process that asked for it, so the lock stays held by this process's descriptor until {@link HeldLock.release}
 * closes it — or until this process dies, even by `kill -9`, when the kernel closes it: no stale lock is ever left
 * behind. The descriptor is close-on-exec, so children spawned later do not inherit the lock.
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const { shared = false, signal } = options;
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'a');
  try {
    await lockDescriptor(handle.fd, path, shared, signal);
  } catch (err) {
    await handle.close();
    throw err;
  }
  let released: Promise<void> | undefined;
  return {
    release(): Promise<void> {
      released ??= handle.close();
      return released;
    },
  };
}

/** Runs `flock(1)` on descriptor `fd` (passed to it as fd 3) and resolves once the lock is taken. */
function lockDescriptor(fd: number, path: string, shared: boolean, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('flock', [shared ? '--shared' : '--exclusive', '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      signal,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (err) => reject(new StoreError(`cannot lock ${path}: ${err.message}`, { cause: err })));
    child.once('close', (code, killedBy) => {
      if (code === 0) resolve();
      else reject(new StoreError(`cannot lock ${path}: flock ${killedBy ? `killed by ${killedBy}` : `exited with ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

/** Runs `fn` while holding the lock at `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
