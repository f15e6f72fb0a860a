import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '@tsbuild/oci';
import { makeTempDir } from '../../../../test/helpers/tmp.js';
import { HashWritePool } from './hash-write-pool.js';

describe('HashWritePool', () => {
  const pool = new HashWritePool(2);
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
  afterEach(async () => cleanup());
  afterAll(async () => pool.close());

  it('runs concurrent jobs, each hashing and writing its buffers in order', async () => {
    const parts = Array.from({ length: 5 }, () => [randomBytes(1000), randomBytes(3000), randomBytes(10)]);
    await Promise.all(
      parts.map(async (buffers, i) => {
        const path = join(dir, `job-${i}`);
        const handle = await open(path, 'wx');
        const job = pool.open(handle.fd);
        for (const bytes of buffers) {
          const buffer = new ArrayBuffer(bytes.length + 5);
          new Uint8Array(buffer).set(bytes);
          const back = await job.write(buffer, bytes.length);
          expect(back.byteLength).toBe(bytes.length + 5);
        }
        const all = Buffer.concat(buffers);
        expect(await job.finish()).toEqual({ digest: sha256Digest(all), size: all.length });
        await handle.close();
        expect((await readFile(path)).equals(all)).toBe(true);
      }),
    );
  });

  it('does not hash when asked not to, and rejects requests after the job ended', async () => {
    const handle = await open(join(dir, 'plain'), 'wx');
    const job = pool.open(handle.fd, { hash: false });
    await job.write(new ArrayBuffer(8), 8);
    expect(await job.finish()).toEqual({ digest: undefined, size: 8 });
    await expect(job.write(new ArrayBuffer(8), 8)).rejects.toThrow('ended');
    await job.cancel();
    await handle.close();
  });

  it('reports a failed write on that request and every later one', async () => {
    const handle = await open(join(dir, 'plain'), 'wx');
    await handle.close();
    const reading = await open(join(dir, 'plain'), 'r');
    const job = pool.open(reading.fd);
    await expect(job.write(new ArrayBuffer(8), 8)).rejects.toMatchObject({ code: 'EBADF' });
    await expect(job.finish()).rejects.toMatchObject({ code: 'EBADF' });
    await reading.close();
  });
});

describe('HashWritePool idle workers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
  afterEach(async () => cleanup());

  const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it('stops a worker that has had no job for its idle time, and starts one again for the next job', async () => {
    const pool = new HashWritePool(2, 50);
    try {
      pool.warm();
      expect(pool.size).toBe(2);
      const handle = await open(join(dir, 'one'), 'wx');
      const job = pool.open(handle.fd);
      await settle(200);
      // the warmed worker that got no job is gone; the one with a job stays while the job runs
      expect(pool.size).toBe(1);
      await job.write(new ArrayBuffer(4), 4);
      expect(await job.finish()).toMatchObject({ size: 4 });
      await handle.close();
      await settle(200);
      expect(pool.size).toBe(0);

      const again = await open(join(dir, 'two'), 'wx');
      const next = pool.open(again.fd);
      await next.write(new ArrayBuffer(3), 3);
      expect(await next.finish()).toMatchObject({ size: 3 });
      await again.close();
      expect((await readFile(join(dir, 'two'))).length).toBe(3);
    } finally {
      await pool.close();
    }
  });
});
