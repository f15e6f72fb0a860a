import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestMismatchError, sha256Digest } from '@tsbuild/oci';
import { BufferSink, buildTar, describeTree, isRoot, makeRichTree, makeTemp, removeTemp, run, streamOf, trySetDefaultAcl } from '../__fixtures__/helpers.js';
import { createLayerFromDirectory } from '../create/create-layer.js';
import { getXattr } from '../xattrs.js';
import { applyLayer } from './apply-layer.js';

let temp: string;
let source: string;
beforeAll(() => {
  temp = makeTemp();
  source = join(temp, 'source');
  mkdirSync(source);
  makeRichTree(source);
});
afterAll(() => removeTemp(temp));

describe('round trip: directory → layer → directory', () => {
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    it(`restores contents, modes, owners, links, xattrs, devices, fifos and mtimes (${compression})`, async () => {
      const sink = new BufferSink();
      const created = await createLayerFromDirectory(source, sink, { compression });
      const out = join(temp, `out-${compression}`);
      const progress: number[] = [];
      const applied = await applyLayer(streamOf(sink.data), out, { onProgress: (p) => progress.push(p.entries) });
      expect(applied.diffID).toBe(created.diffID);
      expect(applied.digest).toBe(created.digest);
      expect(applied.compression).toBe(compression);
      expect(applied.size).toBe(created.size);
      expect(applied.uncompressedSize).toBe(created.uncompressedSize);
      expect(progress.at(-1)).toBe(applied.entries);
      const expected = describeTree(source);
      expect(describeTree(out)).toEqual(expected);
      // A few facts spelled out, so a broken describeTree cannot hide them.
      expect(lstatSync(join(out, 'bin/su')).mode & 0o7777).toBe(0o4755);
      expect(lstatSync(join(out, 'tmp')).mode & 0o7777).toBe(0o1777);
      expect(lstatSync(join(out, 'home/user/big-owner')).uid).toBe(3_000_000);
      expect(lstatSync(join(out, 'bin/su-hardlink')).ino).toBe(lstatSync(join(out, 'bin/su')).ino);
      expect(run('getcap', [join(out, 'bin/ping')])).toMatch(/cap_setuid,cap_net_raw=ep/);
      expect(getXattr(join(out, 'bin/sh'), 'trusted.link-attr')?.toString()).toBe('on a symlink');
      expect(readdirSync(join(out, 'empty'))).toEqual([]);
      expect(lstatSync(join(out, 'dev/loop0')).isBlockDevice()).toBe(true);
    });
  }

  it('GNU tar extracts our layer to the same tree, and we apply a GNU tar layer to the same tree', async () => {
    const sink = new BufferSink();
    await createLayerFromDirectory(source, sink);
    const layer = join(temp, 'ours.tar.gz');
    writeFileSync(layer, sink.data);
    const byGnu = join(temp, 'extracted-by-gnu');
    mkdirSync(byGnu);
    run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpzf', layer, '-C', byGnu]);
    expect(describeTree(byGnu)).toEqual(describeTree(source));

    const gnuLayer = join(temp, 'gnu.tar.gz');
    run('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '--numeric-owner', '--sort=name', '-czf', gnuLayer, '-C', source, '.']);
    const fromGnu = join(temp, 'applied-from-gnu');
    const result = await applyLayer(streamOf(readFileSync(gnuLayer)), fromGnu);
    expect(result.compression).toBe('gzip');
    expect(describeTree(fromGnu)).toEqual(describeTree(source));
  });

  it('checks the expected diffID and digest', async () => {
    const tar = await buildTar([{ path: 'a', data: 'x' }]);
    const blob = gzipSync(tar);
    const ok = await applyLayer(streamOf(blob), join(temp, 'verified'), { expectedDiffID: sha256Digest(tar), expectedDigest: sha256Digest(blob) });
    expect(ok.diffID).toBe(sha256Digest(tar));
    const wrong = sha256Digest('something else');
    await expect(applyLayer(streamOf(blob), join(temp, 'bad-diffid'), { expectedDiffID: wrong })).rejects.toThrow(DigestMismatchError);
    await expect(applyLayer(streamOf(blob), join(temp, 'bad-digest'), { expectedDigest: wrong })).rejects.toThrow(/layer blob: digest mismatch/);
  });
});

describe('file modes and owners', () => {
  const modes = [0o644, 0o600, 0o666, 0o777, 0o755, 0o444, 0o000, 0o4755, 0o2755, 0o1644, 0o6711];
  const layer = (): Promise<Buffer> =>
    buildTar([
      ...modes.map((mode) => ({ path: `m${mode.toString(8)}`, mode, data: 'x' })),
      { path: 'empty', mode: 0o640, data: '' },
      { path: 'new-dir/' },
      { path: 'new-dir/inner', data: 'i' },
      { path: 'owned', uid: 1234, gid: 5678, data: 'o' },
      { path: 'group-only', uid: 0, gid: 5678, data: 'g' },
    ]);
  const check = (target: string): void => {
    for (const mode of modes) expect(lstatSync(join(target, `m${mode.toString(8)}`)).mode & 0o7777, mode.toString(8)).toBe(mode);
    expect(lstatSync(join(target, 'empty')).mode & 0o7777).toBe(0o640);
    expect(lstatSync(join(target, 'new-dir/inner')).mode & 0o7777).toBe(0o644);
    if (!isRoot) return;
    for (const name of [...modes.map((mode) => `m${mode.toString(8)}`), 'empty', 'new-dir/inner']) {
      const stat = lstatSync(join(target, name));
      expect([stat.uid, stat.gid], name).toEqual([0, 0]);
    }
    expect([lstatSync(join(target, 'owned')).uid, lstatSync(join(target, 'owned')).gid]).toEqual([1234, 5678]);
    expect(lstatSync(join(target, 'group-only')).gid).toBe(5678);
  };

  it('gives every file exactly its mode (setuid, setgid, sticky and bits the umask would clear too) and owner', async () => {
    const target = join(temp, 'modes');
    await applyLayer(streamOf(await layer()), target);
    check(target);
  });

  it.runIf(isRoot)("gives files the layer's group, not the group of a setgid directory they are written in", async () => {
    const target = join(temp, 'modes-setgid');
    mkdirSync(target);
    chownSync(target, 0, 4321);
    chmodSync(target, 0o2775);
    await applyLayer(streamOf(await layer()), target);
    check(target);
    // The layer has no entry for its root: the directory keeps its mode and group.
    expect(lstatSync(target).mode & 0o7777).toBe(0o2775);
    expect(lstatSync(target).gid).toBe(4321);
  });

  it('gives files their mode in a directory whose default ACL would mask it', async (context) => {
    const target = join(temp, 'modes-acl');
    mkdirSync(target);
    if (!trySetDefaultAcl(target)) context.skip();
    await applyLayer(streamOf(await layer()), target);
    check(target);
  });
});

describe('progress and abort', () => {
  it('reports progress within a large file and stops when aborted', async () => {
    const big = await buildTar([{ path: 'big', data: Buffer.alloc(20 << 20, 1) }, { path: 'after', data: 'x' }]);
    const seen: number[] = [];
    await applyLayer(streamOf(gzipSync(big)), join(temp, 'progress'), { onProgress: (p) => seen.push(p.bytes) });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toBe(big.length);

    const many = await buildTar(Array.from({ length: 2000 }, (_, i) => ({ path: `f${i}`, data: 'x' })));
    const controller = new AbortController();
    const target = join(temp, 'aborted');
    await expect(
      applyLayer(streamOf(gzipSync(many)), target, { signal: controller.signal, onProgress: () => controller.abort() }),
    ).rejects.toThrow(/abort/i);
    expect(readdirSync(target).length).toBeLessThan(2000);
  });
});

describe('whiteouts and replacements, rootfs mode', () => {
  it('deletes what whiteouts name in lower layers only, and empties opaque directories of lower content', async () => {
    const target = join(temp, 'rootfs-wh');
    await applyLayer(
      streamOf(
        await buildTar([
          { path: 'keep', data: 'keep' },
          { path: 'gone', data: 'gone' },
          { path: 'dir/' },
          { path: 'dir/sub/' },
          { path: 'dir/sub/deep', data: 'deep' },
          { path: 'opq/' },
          { path: 'opq/old', data: 'old' },
          { path: 'opq/olddir/' },
          { path: 'opq/olddir/x', data: 'x' },
          { path: 'both', data: 'lower' },
        ]),
      ),
      target,
    );
    await applyLayer(
      streamOf(
        await buildTar([
          { path: '.wh.gone' },
          { path: '.wh.dir' },
          { path: 'both', data: 'upper' },
          { path: '.wh.both' }, // the layer's own entry wins: whiteouts apply to lower layers only
          { path: 'opq/' },
          { path: 'opq/new', data: 'new' },
          { path: 'opq/.wh..wh..opq' }, // after a child of this layer: that child stays
          { path: '.wh.never-existed' },
          { path: 'missing-parent/.wh.x' },
          { path: '.wh..wh.plnk' },
        ]),
      ),
      target,
    );
    expect(readdirSync(target).sort()).toEqual(['both', 'keep', 'opq']);
    expect(readFileSync(join(target, 'both'), 'utf8')).toBe('upper');
    expect(readdirSync(join(target, 'opq'))).toEqual(['new']);
    expect(existsSync(join(target, 'missing-parent'))).toBe(false);
  });

  it('replaces a directory by a file, a file by a directory, and never writes through an existing hardlink', async () => {
    const target = join(temp, 'replace');
    await applyLayer(
      streamOf(
        await buildTar([
          { path: 'was-dir/' },
          { path: 'was-dir/child', data: 'c' },
          { path: 'was-file', data: 'f' },
          { path: 'linked', data: 'shared' },
          { path: 'other', type: 'hardlink', linkname: 'linked' },
          { path: 'was-link', type: 'symlink', linkname: 'was-dir' },
        ]),
      ),
      target,
    );
    await applyLayer(
      streamOf(
        await buildTar([
          { path: 'was-dir', data: 'now a file' },
          { path: 'was-file/' },
          { path: 'was-file/inside', data: 'i' },
          { path: 'linked', data: 'rewritten' },
          { path: 'was-link/' },
        ]),
      ),
      target,
    );
    expect(readFileSync(join(target, 'was-dir'), 'utf8')).toBe('now a file');
    expect(readFileSync(join(target, 'was-file/inside'), 'utf8')).toBe('i');
    expect(readFileSync(join(target, 'linked'), 'utf8')).toBe('rewritten');
    expect(readFileSync(join(target, 'other'), 'utf8')).toBe('shared');
    expect(lstatSync(join(target, 'was-link')).isDirectory()).toBe(true);
  });
});

describe('snapshot mode', () => {
  it('writes whiteouts as char 0/0 devices and opaque directories as trusted.overlay.opaque=y', async () => {
    const snapshot = join(temp, 'snapshot');
    const result = await applyLayer(
      streamOf(
        await buildTar([
          { path: 'etc/' },
          { path: 'etc/.wh.removed' },
          { path: 'etc/.wh.also-removed' },
          { path: 'etc/new', data: 'n' },
          { path: 'var/' },
          { path: 'var/.wh..wh..opq' },
          { path: 'var/fresh', data: 'f' },
          { path: 'implied/parent/.wh.x' },
        ]),
      ),
      snapshot,
      { mode: 'snapshot' },
    );
    expect(result.entries).toBe(8);
    for (const rel of ['etc/removed', 'etc/also-removed', 'implied/parent/x']) {
      const stat = lstatSync(join(snapshot, rel));
      expect(stat.isCharacterDevice(), rel).toBe(true);
      expect(stat.rdev).toBe(0);
    }
    expect(getXattr(join(snapshot, 'var'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(getXattr(join(snapshot, 'etc'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(readdirSync(snapshot).sort()).toEqual(['etc', 'implied', 'var']);
  });

  it('writes many whiteouts with one mknod (they share an inode, as the kernel makes them)', async () => {
    const snapshot = join(temp, 'many-whiteouts');
    const specs = Array.from({ length: 2000 }, (_, i) => ({ path: `d${i % 10}/.wh.file${i}` }));
    await applyLayer(streamOf(await buildTar(specs)), snapshot, { mode: 'snapshot' });
    const first = lstatSync(join(snapshot, 'd0/file0'));
    expect(first.isCharacterDevice() && first.rdev === 0).toBe(true);
    expect(first.nlink).toBe(2000);
  });
});
