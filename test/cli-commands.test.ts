import { appendFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxImage, type BusyboxImage } from './helpers/busybox.js';
import { TSBUILD_BIN, run, tsbuild } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';

describe('store commands', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let busybox: BusyboxImage;
  let root: string;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir());
    busybox = await makeBusyboxImage(join(work, 'busybox'));
    root = join(work, 'store');
    await tsbuild(root, ['load', '-i', busybox.ociArchive]);
  });
  afterAll(async () => cleanup());

  it('images lists name, tag, ID, created and size', async () => {
    const table = await tsbuild(root, ['images']);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(row).toMatch(/^busybox\s+latest\s+[a-f0-9]{12}\s+.+ago\s+1\.\d+MB$/);
    const json = JSON.parse((await tsbuild(root, ['images', '--format', 'json'])).stdout) as Array<Record<string, unknown>>;
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ name: 'busybox:latest', repository: 'busybox', tag: 'latest' });
    expect(json[0]!.id).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('runs from a code cache per command, and replaces a cache V8 rejects', async () => {
    const cache = join(dirname(TSBUILD_BIN), '..', 'dist', 'bundle', 'v8-cache', 'df.bin');
    await mkdir(dirname(cache), { recursive: true });
    const garbage = Buffer.from('not a V8 code cache');
    await writeFile(cache, garbage);
    const usage = await tsbuild(root, ['df']);
    expect([usage.code, usage.stderr]).toEqual([0, '']);
    expect(usage.stdout).toMatch(/^TYPE/);
    expect((await readFile(cache)).equals(garbage)).toBe(false);
    expect((await tsbuild(root, ['df'])).stdout).toBe(usage.stdout);
  });

  it('takes --root and $TSBUILD_ROOT, before or after the command', async () => {
    const after = await run(TSBUILD_BIN, ['images', '--root', root, '--format', 'json']);
    const viaEnv = await run(TSBUILD_BIN, ['images', '--format', 'json'], { env: { TSBUILD_ROOT: root } });
    expect(JSON.parse(after.stdout)).toHaveLength(1);
    expect(viaEnv.stdout).toBe(after.stdout);
  });

  it('inspect shows the manifest and config exactly as stored', async () => {
    const result = JSON.parse((await tsbuild(root, ['inspect', 'busybox'])).stdout) as Record<string, unknown>;
    const { readFile } = await import('node:fs/promises');
    const manifestBytes = await readFile(join(root, 'oci/blobs/sha256', (result.manifestDigest as string).slice(7)), 'utf8');
    const configBytes = await readFile(join(root, 'oci/blobs/sha256', (result.configDigest as string).slice(7)), 'utf8');
    expect(JSON.stringify(result.manifest)).toBe(JSON.stringify(JSON.parse(manifestBytes)));
    expect(JSON.stringify(result.config)).toBe(JSON.stringify(JSON.parse(configBytes)));
    expect(result.name).toBe('busybox:latest');
    // by image ID prefix and by digest
    const id = (result.configDigest as string).slice(7, 19);
    expect(JSON.parse((await tsbuild(root, ['inspect', id])).stdout).manifestDigest).toBe(result.manifestDigest);
    expect(JSON.parse((await tsbuild(root, ['inspect', `busybox@${result.manifestDigest as string}`])).stdout).configDigest).toBe(result.configDigest);
  });

  it('history has one row per history entry, newest first, empty layers included', async () => {
    const rows = JSON.parse((await tsbuild(root, ['history', 'busybox', '--format', 'json'])).stdout) as Array<Record<string, unknown>>;
    expect(rows.map((row) => [row.createdBy, row.emptyLayer])).toEqual([
      ['umoci config', true],
      ['umoci repack', false],
    ]);
    expect(rows[1]!.size).toBeGreaterThan(1_000_000);
    const table = (await tsbuild(root, ['history', 'busybox'])).stdout.split('\n');
    expect(table[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(table[1]).toMatch(/^[a-f0-9]{12}\s+.*umoci config\s+0B/);
    expect(table[2]).toMatch(/^<missing>\s+.*umoci repack\s+1\.\d+MB/);
  });

  it('tag, rmi and prune', async () => {
    const store = join(work, 'store-tags');
    await tsbuild(store, ['load', '-i', busybox.ociArchive]);
    expect((await tsbuild(store, ['tag', 'busybox', 'app:1'])).code).toBe(0);
    expect((await tsbuild(store, ['tag', 'app:1', 'localhost:5000/team/app:1'])).code).toBe(0);
    const names = (): Promise<string[]> => tsbuild(store, ['images', '--format', 'json']).then((r) => (JSON.parse(r.stdout) as Array<{ name: string }>).map((i) => i.name).sort());
    expect(await names()).toEqual(['app:1', 'busybox:latest', 'localhost:5000/team/app:1']);
    const rmi = await tsbuild(store, ['rmi', 'app:1', 'busybox']);
    expect(rmi.stdout).toBe('Untagged: app:1\nUntagged: busybox:latest\n');
    expect(await names()).toEqual(['localhost:5000/team/app:1']);
    expect((await tsbuild(store, ['prune'])).stdout).toMatch(/Deleted 0 dangling image\(s\) and 0 blob\(s\)/);
    const missing = await tsbuild(store, ['rmi', 'nope:1', 'localhost:5000/team/app:1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/image nope:1 not found/);
    expect(missing.stdout).toBe('Untagged: localhost:5000/team/app:1\n');
    const pruned = await tsbuild(store, ['prune']);
    expect(pruned.stdout).toMatch(/Deleted 0 dangling image\(s\) and 3 blob\(s\)\nDeleted 0 build cache record\(s\) and 0 snapshot\(s\)\nTotal reclaimed space: 1\.\d+MB of blobs/);
    expect(await readdir(join(store, 'oci/blobs/sha256'))).toEqual([]);
  });

  it('a name moved to another image leaves the old one dangling until prune', async () => {
    const store = join(work, 'store-dangling');
    await tsbuild(store, ['load', '-i', busybox.ociArchive]);
    await tsbuild(store, ['load', '-i', busybox.dockerArchive]); // same name, different manifest
    const images = JSON.parse((await tsbuild(store, ['images', '--format', 'json'])).stdout) as Array<{ name: string | null }>;
    expect(images.map((i) => i.name).sort()).toEqual(['busybox:latest', null]);
    expect((await tsbuild(store, ['images'])).stdout).toMatch(/<none>\s+<none>/);
    expect((await tsbuild(store, ['prune'])).stdout).toMatch(/Deleted 1 dangling image\(s\) and 2 blob\(s\)/);
  });

  it('df shows images and unique vs shared layers', async () => {
    const store = join(work, 'store-df');
    await tsbuild(store, ['load', '-i', busybox.ociArchive]);
    await tsbuild(store, ['load', '-i', busybox.dockerArchive]);
    await tsbuild(store, ['tag', 'busybox', 'again:1']);
    const usage = JSON.parse((await tsbuild(store, ['df', '--format', 'json'])).stdout) as Record<string, { count: number; active: number; size: number; reclaimable: number }>;
    expect(usage.images).toMatchObject({ count: 2, active: 1 });
    expect(usage.uniqueLayers!.count).toBe(2);
    expect(usage.sharedLayers!.count).toBe(0);
    // busybox:latest moved to the docker-archive image; the oci-archive one (gzip layer, ~1.09 MB) is dangling
    expect(usage.images!.reclaimable).toBeGreaterThan(1_000_000);
    expect(usage.images!.reclaimable).toBeLessThan(usage.images!.size - 2_000_000);
    const table = (await tsbuild(store, ['df'])).stdout;
    expect(table).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+2\s+1\s+/);
    expect(table).toMatch(/Layers \(unique\)\s+2\s+1/);
  });

  it('check finds a corrupt blob and exits 1', async () => {
    const store = join(work, 'store-check');
    await tsbuild(store, ['load', '-i', busybox.ociArchive]);
    expect((await tsbuild(store, ['check'])).stdout).toBe('checked 3 blobs: 0 corrupt, 0 missing, 0 orphaned\n');
    const blobDir = join(store, 'oci/blobs/sha256');
    const sizes = await Promise.all((await readdir(blobDir)).map(async (name) => ({ name, size: (await stat(join(blobDir, name))).size })));
    const biggest = sizes.sort((a, b) => b.size - a.size)[0]!;
    await appendFile(join(store, 'oci/blobs/sha256', biggest.name), 'x');
    const check = await tsbuild(store, ['check']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`corrupt: sha256:${biggest.name}`);
    expect(check.stdout).toMatch(/1 corrupt/);
  });

  it('help and version', async () => {
    const help = await run(TSBUILD_BIN, ['--help']);
    expect(help.code).toBe(0);
    for (const command of ['images', 'inspect', 'history', 'tag', 'rmi', 'prune', 'save', 'load', 'df', 'check']) expect(help.stdout).toContain(command);
    expect((await run(TSBUILD_BIN, ['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});
