import { once } from 'node:events';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDockerArchive } from './helpers/archives.js';
import { makeBusyboxRootfs } from './helpers/busybox.js';
import { runOk, startTsbuild, tsbuild } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';

/** Waits until some staging file under `dir` has at least `bytes` bytes. */
async function waitForStagedBytes(dir: string, bytes: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info?.isFile() && info.size >= bytes) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`nothing staged in ${dir} within ${timeoutMs} ms`);
}

describe('the store survives kill -9 and concurrent writers', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let base: string;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir());
    base = join(work, 'base');
    await makeBusyboxRootfs(base);
  });
  afterAll(async () => cleanup());

  it('kill -9 in the middle of a large load, then loading again, succeeds and check is clean', async () => {
    const big = join(work, 'big');
    await mkdir(big);
    await runOk('sh', ['-c', `head -c 400000000 /dev/urandom > ${join(big, 'random.bin')}`]);
    const archive = join(work, 'big.tar');
    await writeDockerArchive(work, archive, [{ repoTags: ['big:1'], layerDirs: [base, big] }]);
    const root = join(work, 'store-kill');
    await mkdir(join(root, 'tmp'), { recursive: true });

    const loader = startTsbuild(root, ['load', '-i', archive]);
    await waitForStagedBytes(join(root, 'tmp'), 50_000_000);
    loader.kill('SIGKILL');
    await once(loader, 'close');

    const listed = await tsbuild(root, ['images', '--format', 'json']);
    expect(JSON.parse(listed.stdout)).toEqual([]);
    const again = await tsbuild(root, ['load', '-i', archive]);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe('Loaded image: big:1\n');
    const check = await tsbuild(root, ['check']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/checked 4 blobs: 0 corrupt, 0 missing, 0 orphaned/);
    // The dead loader's staging files were cleaned up.
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('four loads at once into one store all succeed and all four tags are there', async () => {
    const archives: string[] = [];
    for (let i = 0; i < 4; i++) {
      const layer = join(work, `layer-${i}`);
      await mkdir(layer);
      await writeFile(join(layer, `file-${i}`), `content ${i}\n`.repeat(100_000));
      const archive = join(work, `parallel-${i}.tar`);
      await writeDockerArchive(work, archive, [{ repoTags: [`parallel:${i}`], layerDirs: [base, layer] }]);
      archives.push(archive);
    }
    const root = join(work, 'store-parallel');
    const loaders = archives.map((archive) => startTsbuild(root, ['load', '-i', archive]));
    const codes = await Promise.all(loaders.map(async (child) => (await once(child, 'close'))[0] as number));
    expect(codes).toEqual([0, 0, 0, 0]);
    const images = JSON.parse((await tsbuild(root, ['images', '--format', 'json'])).stdout) as Array<{ name: string }>;
    expect(images.map((image) => image.name).sort()).toEqual(['parallel:0', 'parallel:1', 'parallel:2', 'parallel:3']);
    const check = await tsbuild(root, ['check']);
    expect(check.code).toBe(0);
    // 1 shared base layer + 4 layers + 4 configs + 4 manifests
    expect(check.stdout).toMatch(/checked 13 blobs: 0 corrupt, 0 missing, 0 orphaned/);
  });
});
