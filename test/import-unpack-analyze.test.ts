import { chmod, chown, link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setXattr } from '@tsbuild/layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs } from './helpers/busybox.js';
import { runOk, tsbuild } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';
import { describeTree } from './helpers/tree.js';

/** A tree with every kind of entry and metadata a layer must carry. */
async function makeRichTree(dir: string): Promise<void> {
  await makeBusyboxRootfs(dir);
  await mkdir(join(dir, 'data/empty'), { recursive: true });
  await writeFile(join(dir, 'data/file.txt'), 'content\n');
  await link(join(dir, 'data/file.txt'), join(dir, 'data/hardlink.txt'));
  await symlink('../data/file.txt', join(dir, 'etc/relative-link'));
  await symlink('/nonexistent/target', join(dir, 'etc/dangling-link'));
  await writeFile(join(dir, 'data/setuid'), '#!/bin/sh\n');
  await chmod(join(dir, 'data/setuid'), 0o4755);
  await mkdir(join(dir, 'data/sticky'));
  await chmod(join(dir, 'data/sticky'), 0o1777);
  await writeFile(join(dir, 'data/owned'), 'x');
  await chown(join(dir, 'data/owned'), 1000, 3_000_000);
  await writeFile(join(dir, 'data/capable'), 'bin');
  setXattr(join(dir, 'data/capable'), 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
  setXattr(join(dir, 'data/capable'), 'user.note', Buffer.from([0x00, 0xff, 0x80]));
  await runOk('mknod', [join(dir, 'data/null'), 'c', '1', '3']);
  await runOk('mkfifo', [join(dir, 'data/fifo')]);
  await mkdir(join(dir, 'deep/a/b/c'), { recursive: true });
  await writeFile(join(dir, `deep/a/b/c/${'n'.repeat(120)}`), 'long name');
}

describe('import, unpack and analyze', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let tree: string;
  let root: string;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir());
    tree = join(work, 'tree');
    await makeRichTree(tree);
    root = join(work, 'store');
  });
  afterAll(async () => cleanup());

  it('import DIR then unpack gives the same tree: contents, modes, owners, links, xattrs, devices, empty dirs', async () => {
    const imported = await tsbuild(root, ['import', tree, 'rich:1', '--change', 'CMD ["sh"]', '--change', 'ENV MODE=test']);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    const out = join(work, 'unpacked');
    const unpacked = await tsbuild(root, ['unpack', 'rich:1', out]);
    expect(unpacked.stderr).toBe('');
    expect(await describeTree(out)).toEqual(await describeTree(tree));
    const config = JSON.parse((await tsbuild(root, ['inspect', 'rich:1'])).stdout).config;
    expect(config.config).toMatchObject({ Cmd: ['sh'], Env: expect.arrayContaining(['MODE=test']) });
  });

  it('imports a tarball (gzip, ./-prefixed) to the same tree, and from standard input', async () => {
    const tarball = join(work, 'tree.tar.gz');
    await runOk('tar', ['--xattrs', '--xattrs-include=*', '-czf', tarball, '-C', tree, '.']);
    expect((await tsbuild(root, ['import', tarball, 'rich:tar'])).code).toBe(0);
    const out = join(work, 'unpacked-tar');
    await tsbuild(root, ['unpack', 'rich:tar', out]);
    expect(await describeTree(out)).toEqual(await describeTree(tree));
    const { readFile } = await import('node:fs/promises');
    const fromStdin = await tsbuild(root, ['import', '-', 'rich:stdin'], { input: await readFile(tarball) });
    expect(fromStdin.code).toBe(0);
  });

  it('umoci unpacks the imported image to the same tree as tsbuild unpack', async () => {
    const bundle = join(work, 'umoci-bundle');
    await runOk('umoci', ['unpack', '--image', `${join(root, 'oci')}:rich:1`, bundle]);
    // umoci records ownership the same way as root; compare everything but the root dir's own metadata
    expect(await describeTree(join(bundle, 'rootfs'))).toEqual(await describeTree(tree));
  });

  it('refuses to unpack into a non-empty directory, and a bad --change', async () => {
    const result = await tsbuild(root, ['unpack', 'rich:1', tree]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not empty/);
    const bad = await tsbuild(root, ['import', tree, 'x:1', '--change', 'RUN echo no']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--change RUN is not allowed/);
  });

  it('analyze reports what each layer adds, changes and removes, and the wasted bytes', async () => {
    const dockerfile = join(work, 'Dockerfile.waste');
    await writeFile(
      dockerfile,
      'FROM rich:1\nRUN head -c 300000 /dev/zero > /big && echo changed > /data/file.txt\nRUN rm /big && rm /data/owned\n',
    );
    const built = await tsbuild(root, ['build', '-q', '-t', 'waste:1', '-f', dockerfile, work]);
    expect(built.stderr).toBe('');
    const analysis = JSON.parse((await tsbuild(root, ['analyze', 'waste:1', '--format', 'json'])).stdout) as {
      layers: Array<{ added: { files: number }; changed: { files: number }; removed: { files: number }; wastedBytes: number }>;
      wastedBytes: number;
      efficiency: number;
      largestWasted: Array<{ path: string; bytes: number }>;
    };
    expect(analysis.layers).toHaveLength(3);
    expect(analysis.layers[1]).toMatchObject({ added: { files: 1 }, changed: { files: 1 }, wastedBytes: 300_000 });
    expect(analysis.layers[2]!.removed.files).toBe(2);
    expect(analysis.largestWasted[0]).toMatchObject({ path: 'big', bytes: 300_000 });
    expect(analysis.efficiency).toBeLessThan(100);
    const table = (await tsbuild(root, ['analyze', 'waste:1'])).stdout;
    expect(table).toMatch(/^LAYER\s+SIZE\s+ADDED\s+CHANGED\s+REMOVED\s+WASTED\s+CREATED BY/);
    expect(table).toMatch(/Wasted: 300kB/);
  });
});
