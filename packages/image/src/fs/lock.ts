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
 * Takes an exclusive (or shared) `flock(2)` on `path` (created if missing), waiting for other holders. The lock is held by a
 * small `flock(1)` child that waits on its standard input: if this process dies, even by `kill -9`, the pipe
 * closes, the child exits and the kernel releases the lock, so no stale lock is ever left behind.
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const { shared = false, signal } = options;
  await mkdir(dirname(path), { recursive: true });
  await (await open(path, 'a')).close();
  const mode = shared ? '--shared' : '--exclusive';
  const child = spawn('flock', [mode, path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    signal,
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once('data', () => resolve());
    child.once('error', (err) => reject(new StoreError(`cannot lock ${path}: ${err.message}`, { cause: err })));
    child.once('close', (code) => reject(new StoreError(`cannot lock ${path}: flock exited with ${code}: ${stderr.trim()}`)));
  });
  child.stdout.resume();
  let released = false;
  return {
    async release(): Promise<void> {
      if (released) return;
      released = true;
      child.stdin.end();
      await exited;
    },
  };
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
