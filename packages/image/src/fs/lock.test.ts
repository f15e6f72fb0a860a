import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, withLock } from './lock.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-lock-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('acquireLock', () => {
  it('serialises exclusive holders', async () => {
    const path = join(dir, 'exclusive.lock');
    const events: string[] = [];
    const critical = (name: string) =>
      withLock(path, async () => {
        events.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        events.push(`${name} out`);
      });
    await Promise.all([critical('a'), critical('b'), critical('c')]);
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace(' in', ' out'));
  });

  it('lets shared holders in together but not an exclusive one', async () => {
    const path = join(dir, 'shared.lock');
    const a = await acquireLock(path, { shared: true });
    const b = await acquireLock(path, { shared: true });
    let exclusiveHeld = false;
    const exclusive = acquireLock(path).then((lock) => {
      exclusiveHeld = true;
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(exclusiveHeld).toBe(false);
    await a.release();
    await b.release();
    await (await exclusive).release();
    expect(exclusiveHeld).toBe(true);
  });

  it('is released when the process holding it is killed with SIGKILL', async () => {
    const path = join(dir, 'killed.lock');
    const lockModule = new URL('../../dist/fs/lock.js', import.meta.url).pathname;
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `const { acquireLock } = await import(${JSON.stringify(lockModule)}); await acquireLock(${JSON.stringify(path)}); console.log('held'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    let acquired = false;
    const waiting = acquireLock(path).then((lock) => {
      acquired = true;
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(acquired).toBe(false);
    holder.kill('SIGKILL');
    const lock = await waiting;
    expect(acquired).toBe(true);
    await lock.release();
  });
});

describe('acquireLock and child processes', () => {
  it('is not inherited by a child spawned while it is held', async () => {
    const path = join(dir, 'inherit.lock');
    const lock = await acquireLock(path);
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      await lock.release();
      const again = await acquireLock(path);
      await again.release();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('stops waiting when its signal aborts', async () => {
    const path = join(dir, 'abort.lock');
    const held = await acquireLock(path);
    const controller = new AbortController();
    const waiting = acquireLock(path, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(waiting).rejects.toThrow();
    await held.release();
    await (await acquireLock(path)).release();
  });
});
