import { appendFileSync, chmodSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferSink, CAPABILITY, describeTree, makeTemp, removeTemp, run, streamOf, type NodeDescription } from '../__fixtures__/helpers.js';
import { applyLayer } from '../apply/apply-layer.js';
import { openUncompressed } from '../compression/streams.js';
import { readTar } from '../tar/reader.js';
import { setXattr } from '../xattrs.js';
import { createLayerFromDirectory, createLayerFromUpperDir } from './create-layer.js';

/**
 * Whiteouts against the real thing: a kernel overlay mount is changed the way a RUN step changes it, its upper
 * directory is diffed into a layer, and base + layer applied (as a flat rootfs, and as snapshots stacked in a
 * second overlay mount) must equal the merged view the kernel showed.
 */

let temp: string;
const mounts: string[] = [];

function mountOverlay(target: string, options: string): void {
  mkdirSync(target, { recursive: true });
  run('mount', ['-t', 'overlay', 'overlay', '-o', options, target]);
  mounts.push(target);
}

function unmount(target: string): void {
  run('umount', [target]);
  mounts.splice(mounts.indexOf(target), 1);
}

beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => {
  for (const target of [...mounts].reverse()) run('umount', ['-l', target]);
  removeTemp(temp);
});

function makeBase(root: string): void {
  const files: Record<string, string> = {
    'etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
    'etc/remove-me': 'bye',
    'etc/rename-me': 'moving',
    'usr/bin/tool': '#!/bin/sh\n',
    'usr/share/doc/README': 'docs',
    'usr/share/doc/sub/more': 'more docs',
    'usr/share/x': 'x',
    'var/cache/apt/pkgcache.bin': 'cache'.repeat(1000),
    'var/cache/apt/archives/partial/lock': '',
    'opt/app/old.js': 'old',
    'opt/app/lib/dep.js': 'dep',
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-alias'));
  symlinkSync('tool', join(root, 'usr/bin/tool-link'));
  setXattr(join(root, 'etc/passwd'), 'user.origin', Buffer.from('base'));
  run('touch', ['-d', '@1600000000', ...Object.keys(files).map((rel) => join(root, rel))]);
  run('sh', ['-c', 'find "$1" -type d -exec touch -d @1600000000 {} +', 'sh', root]);
}

/** What a RUN step might do: delete, rename, recreate, modify, add. */
function mutate(merged: string): void {
  rmSync(join(merged, 'etc/remove-me'));
  rmSync(join(merged, 'var/cache'), { recursive: true });
  rmSync(join(merged, 'opt/app'), { recursive: true });
  mkdirSync(join(merged, 'opt/app/lib'), { recursive: true });
  writeFileSync(join(merged, 'opt/app/new.js'), 'new');
  writeFileSync(join(merged, 'opt/app/lib/dep.js'), 'dep v2');
  appendFileSync(join(merged, 'etc/passwd'), 'app:x:1000:1000::/home/app:/bin/sh\n');
  chmodSync(join(merged, 'usr/bin/tool'), 0o4755);
  rmSync(join(merged, 'usr/share/x'));
  run('mv', [join(merged, 'etc/rename-me'), join(merged, 'etc/renamed')]);
  run('mv', [join(merged, 'usr/share/doc'), join(merged, 'usr/share/doc2')]);
  writeFileSync(join(merged, 'usr/bin/capable'), 'cap');
  setXattr(join(merged, 'usr/bin/capable'), 'security.capability', CAPABILITY);
  setXattr(join(merged, 'usr/bin/capable'), 'user.note', Buffer.from([0xff, 0x00]));
  mkdirSync(join(merged, 'home/app'), { recursive: true });
  writeFileSync(join(merged, 'home/app/a'), 'a');
  linkSync(join(merged, 'home/app/a'), join(merged, 'home/app/b'));
  symlinkSync('/etc/passwd', join(merged, 'home/app/passwd-link'));
  run('mkfifo', [join(merged, 'home/app/pipe')]);
  run('mknod', [join(merged, 'home/app/null'), 'c', '1', '3']);
  run('chown', ['-R', '1000:1000', join(merged, 'home/app')]);
  // Mount points the executor made for the RUN (left out of the layer).
  mkdirSync(join(merged, 'proc'));
  writeFileSync(join(merged, 'etc/hosts'), '127.0.0.1 buildhost\n');
}

describe('overlay upper dir → layer, against a real overlay mount (needs root)', () => {
  it('base + diff applied equals the merged view, as a flat rootfs and as stacked snapshots', async () => {
    const baseTree = join(temp, 'base-tree');
    makeBase(baseTree);
    const baseLayer = new BufferSink();
    await createLayerFromDirectory(baseTree, baseLayer);

    const lower = join(temp, 'snapshots/base');
    await applyLayer(streamOf(baseLayer.data), lower, { mode: 'snapshot' });
    const upper = join(temp, 'upper');
    const work = join(temp, 'work');
    const merged = join(temp, 'merged');
    mkdirSync(upper);
    mkdirSync(work);
    mountOverlay(merged, `lowerdir=${lower},upperdir=${upper},workdir=${work},redirect_dir=off,metacopy=off,index=off`);
    mutate(merged);
    const expected = describeTree(merged);
    delete expected.proc;
    delete expected['etc/hosts'];
    unmount(merged);

    const diff = new BufferSink();
    const result = await createLayerFromUpperDir(upper, diff, { exclude: ['proc', 'etc/hosts'] });
    const { stream } = await openUncompressed(streamOf(diff.data));
    const names: string[] = [];
    for await (const entry of readTar(stream)) names.push(entry.path);
    expect(names).toEqual(
      expect.arrayContaining([
        'etc/.wh.remove-me',
        'etc/.wh.rename-me',
        'etc/renamed',
        'var/.wh.cache',
        'opt/app/',
        'opt/app/.wh..wh..opq',
        'opt/app/new.js',
        'usr/share/.wh.doc',
        'usr/share/doc2/sub/more',
        'usr/share/.wh.x',
        'home/app/b',
      ]),
    );
    expect(names).not.toContain('proc/');
    expect(names).not.toContain('etc/hosts');
    expect(names.filter((name) => name.startsWith('usr/bin/'))).toEqual(['usr/bin/', 'usr/bin/capable', 'usr/bin/tool']);

    // Flat: base then diff, in rootfs mode.
    const flat = join(temp, 'flat');
    await applyLayer(streamOf(baseLayer.data), flat);
    const applied = await applyLayer(streamOf(diff.data), flat, { expectedDiffID: result.diffID });
    expect(applied.diffID).toBe(result.diffID);
    const flatTree = describeTree(flat);
    expect(flatTree).toEqual(expected);
    expect(flatTree['opt/app/old.js']).toBeUndefined();
    expect(flatTree['usr/bin/tool']?.mode).toBe(0o4755);
    expect(readFileSync(join(flat, 'etc/passwd'), 'utf8')).toContain('app:x:1000');

    // Snapshots: the diff in snapshot mode, stacked on the base snapshot in a new overlay.
    const snapshot = join(temp, 'snapshots/diff');
    await applyLayer(streamOf(diff.data), snapshot, { mode: 'snapshot' });
    const stacked = join(temp, 'stacked');
    mountOverlay(stacked, `lowerdir=${snapshot}:${lower}`);
    let stackedTree: Record<string, NodeDescription>;
    try {
      stackedTree = describeTree(stacked);
    } finally {
      unmount(stacked);
    }
    expect(stackedTree).toEqual(expected);
  });

  it('costs what changed: an unchanged huge lower is not read', async () => {
    const lower = join(temp, 'big-lower');
    mkdirSync(lower);
    for (let d = 0; d < 40; d++) {
      mkdirSync(join(lower, `d${d}`));
      for (let f = 0; f < 100; f++) writeFileSync(join(lower, `d${d}`, `f${f}`), 'x');
    }
    const upper = join(temp, 'small-upper');
    const work = join(temp, 'small-work');
    const merged = join(temp, 'small-merged');
    mkdirSync(upper);
    mkdirSync(work);
    mountOverlay(merged, `lowerdir=${lower},upperdir=${upper},workdir=${work},redirect_dir=off,metacopy=off,index=off`);
    writeFileSync(join(merged, 'd7/f7'), 'changed');
    unmount(merged);
    const sink = new BufferSink();
    await createLayerFromUpperDir(upper, sink);
    const { stream } = await openUncompressed(streamOf(sink.data));
    const names: string[] = [];
    for await (const entry of readTar(stream)) names.push(entry.path);
    expect(names).toEqual(['d7/', 'd7/f7']);
  });
});
