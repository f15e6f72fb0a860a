import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, symlinkSync, utimesSync, lutimesSync, writeFileSync, linkSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferSink, makeTemp, removeTemp, run, streamOf } from '../__fixtures__/helpers.js';
import type { LayerWarning } from '../errors.js';
import { LayerError } from '../errors.js';
import { readTar, type TarEntry } from '../tar/reader.js';
import { TarWriter } from '../tar/writer.js';
import { setXattr } from '../xattrs.js';
import { createLayer, createLayerFromDirectory, createLayerFromUpperDir } from './create-layer.js';
import { openUncompressed } from '../compression/streams.js';

async function entriesOf(blob: Buffer): Promise<TarEntry[]> {
  const { stream } = await openUncompressed(streamOf(blob));
  const out: TarEntry[] = [];
  for await (const entry of readTar(stream)) out.push(entry);
  return out;
}

interface TreeFile {
  path: string;
  content?: string;
  mode: number;
  mtime: number;
}

const FILES: TreeFile[] = [
  { path: 'etc/config', content: 'key=value\n', mode: 0o644, mtime: 1_700_000_100 },
  { path: 'etc/secret', content: 'x', mode: 0o600, mtime: 1_700_000_200 },
  { path: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o4755, mtime: 1_700_000_300 },
  { path: 'a-b', content: 'sorts before a/', mode: 0o644, mtime: 1_700_000_400 },
  { path: 'a/z', content: 'z', mode: 0o644, mtime: 1_700_000_500 },
  { path: 'a/b/c', content: 'c'.repeat(100_000), mode: 0o640, mtime: 1_700_000_600 },
];

/** Makes the same tree, creating things in the given order; modes are set explicitly so umask does not matter. */
function makeTree(root: string, reverse: boolean): void {
  const files = reverse ? [...FILES].reverse() : FILES;
  for (const file of files) {
    const abs = join(root, file.path);
    mkdirSync(join(abs, '..'), { recursive: true });
    writeFileSync(abs, file.content ?? '');
    chmodSync(abs, file.mode);
    utimesSync(abs, reverse ? 1_000 : 2_000, file.mtime);
  }
  if (reverse) {
    symlinkSync('../etc/config', join(root, 'a/link'));
    linkSync(join(root, 'bin/tool'), join(root, 'bin/tool2'));
  } else {
    linkSync(join(root, 'bin/tool'), join(root, 'bin/tool2'));
    symlinkSync('../etc/config', join(root, 'a/link'));
  }
  mkdirSync(join(root, 'empty'));
  for (const dir of ['a/b', 'a', 'bin', 'etc', 'empty']) {
    chmodSync(join(root, dir), 0o755);
    utimesSync(join(root, dir), 1_700_000_000, 1_700_000_000);
  }
  lutimesSync(join(root, 'a/link'), new Date(1_700_000_700_000), new Date(1_700_000_700_000));
}

let temp: string;
beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => removeTemp(temp));

describe('createLayerFromDirectory', () => {
  it('writes sorted entries with numeric owners, no names, and hardlinks once', async () => {
    const root = join(temp, 'sorted');
    mkdirSync(root);
    makeTree(root, false);
    const sink = new BufferSink();
    const result = await createLayerFromDirectory(root, sink);
    expect(result.compression).toBe('gzip');
    expect(result.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(result.size).toBe(sink.data.length);
    expect(result.uncompressedSize).toBe(gunzipSync(sink.data).length);
    const entries = await entriesOf(sink.data);
    expect(entries.map((e) => e.path)).toEqual([
      'a/',
      'a/b/',
      'a/b/c',
      'a/link',
      'a/z',
      'a-b',
      'bin/',
      'bin/tool',
      'bin/tool2',
      'empty/',
      'etc/',
      'etc/config',
      'etc/secret',
    ]);
    for (const entry of entries) {
      expect(entry.uname).toBeUndefined();
      expect(entry.gname).toBeUndefined();
    }
    const tool2 = entries.find((e) => e.path === 'bin/tool2')!;
    expect([tool2.type, tool2.linkname, tool2.size]).toEqual(['hardlink', 'bin/tool', 0]);
    expect(entries.find((e) => e.path === 'bin/tool')!.mode).toBe(0o4755);
    expect(entries.find((e) => e.path === 'a/link')!.linkname).toBe('../etc/config');
    // The symlink's own mtime, not its creation time: two trees made seconds apart give the same archive.
    expect(entries.find((e) => e.path === 'a/link')!.mtime).toBe(1_700_000_700);
  });

  it('gives the same diffID whatever the creation order, umask and atime; the same digest with a fixed epoch', async () => {
    const one = join(temp, 'det-1');
    const two = join(temp, 'det-2');
    mkdirSync(one);
    makeTree(one, false);
    const previous = process.umask(0o077);
    try {
      mkdirSync(two);
      makeTree(two, true);
    } finally {
      process.umask(previous);
    }
    readFileSync(join(two, 'etc/config'));
    const results = [];
    for (const root of [one, two]) {
      for (const compression of ['gzip', 'zstd', 'none'] as const) {
        results.push({ root, ...(await createLayerFromDirectory(root, new BufferSink(), { compression })) });
      }
    }
    const [g1, z1, n1, g2, z2, n2] = results;
    expect(g1!.diffID).toBe(g2!.diffID);
    expect(g1!.digest).toBe(g2!.digest);
    expect(z1!.digest).toBe(z2!.digest);
    expect(n1!.digest).toBe(n1!.diffID);
    expect(n1!.digest).toBe(n2!.digest);
    expect(z1!.diffID).toBe(g1!.diffID);
    expect(z1!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');

    // Touch mtimes: the diffID changes, unless they are clamped below every old and new mtime.
    utimesSync(join(two, 'etc/config'), 1_800_000_000, 1_800_000_000);
    const touched = await createLayerFromDirectory(two, new BufferSink());
    expect(touched.diffID).not.toBe(g1!.diffID);
    const epoch = 1_600_000_000;
    const clampedA = await createLayerFromDirectory(one, new BufferSink(), { sourceDateEpoch: epoch, level: 9 });
    const clampedB = await createLayerFromDirectory(two, new BufferSink(), { sourceDateEpoch: epoch, level: 9 });
    expect(clampedA.digest).toBe(clampedB.digest);
    const otherLevel = await createLayerFromDirectory(two, new BufferSink(), { sourceDateEpoch: epoch, level: 1 });
    expect(otherLevel.diffID).toBe(clampedB.diffID);
    expect(otherLevel.digest).not.toBe(clampedB.digest);
    const entries = await entriesOf((await (async () => {
      const sink = new BufferSink();
      await createLayerFromDirectory(two, sink, { sourceDateEpoch: epoch });
      return sink.data;
    })()));
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set([epoch]));
  });

  it('leaves sockets out with a warning, and excluded paths out entirely', async () => {
    const root = join(temp, 'socket');
    mkdirSync(join(root, 'run/sub'), { recursive: true });
    writeFileSync(join(root, 'run/sub/file'), 'x');
    writeFileSync(join(root, 'keep'), 'k');
    run('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', join(root, 'app.sock')]);
    const warnings: LayerWarning[] = [];
    const sink = new BufferSink();
    await createLayerFromDirectory(root, sink, { onWarning: (w) => warnings.push(w), exclude: ['/run/sub'] });
    expect(warnings).toEqual([{ code: 'SOCKET_SKIPPED', path: 'app.sock', message: expect.stringContaining('sockets cannot be stored') }]);
    expect((await entriesOf(sink.data)).map((e) => e.path)).toEqual(['keep', 'run/']);
  });

  it('fails with a LayerError for a missing directory, and honours an AbortSignal', async () => {
    await expect(createLayerFromDirectory(join(temp, 'missing'), new BufferSink())).rejects.toThrow(/directory .*missing cannot be read/);
    const root = join(temp, 'abort');
    mkdirSync(root);
    for (let i = 0; i < 50; i++) writeFileSync(join(root, `f${i}`), Buffer.alloc(200_000, i));
    const controller = new AbortController();
    let destroyed = false;
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        controller.abort();
        setTimeout(callback, 5);
      },
      destroy(error, callback) {
        destroyed = true;
        callback(error);
      },
    });
    await expect(createLayerFromDirectory(root, sink, { signal: controller.signal, compression: 'none' })).rejects.toThrow(/abort/i);
    expect(destroyed).toBe(true);
  });

  it('fails naming the file when a file is shorter than its header says (changed while archived)', async () => {
    const file = join(temp, 'short');
    writeFileSync(file, '0123456789');
    const fd = openSync(file, 'r');
    try {
      const writer = new TarWriter(() => undefined);
      await expect(writer.addFileDescriptor({ path: 'short', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 20, mtime: 0 }, fd)).rejects.toThrow(
        /short: file shrank while it was being archived \(20 bytes expected, 10 read\)/,
      );
    } finally {
      closeSync(fd);
    }
  });

  it('lets a map function prefix paths, change owners and modes, and drop entries (COPY --chown)', async () => {
    const root = join(temp, 'mapped');
    mkdirSync(join(root, 'src/skip'), { recursive: true });
    writeFileSync(join(root, 'src/a'), 'a');
    linkSync(join(root, 'src/a'), join(root, 'src/b'));
    writeFileSync(join(root, 'src/skip/kept'), 'k');
    writeFileSync(join(root, 'src/skip.log'), 'dropped');
    const sink = new BufferSink();
    await createLayerFromDirectory(root, sink, {
      map: (header) =>
        header.path.endsWith('.log') ? null : header.path === 'src/skip/' ? null : { ...header, path: `app/${header.path}`, uid: 1000, gid: 1000, mode: header.mode | 0o020 },
    });
    const entries = await entriesOf(sink.data);
    expect(entries.map((e) => [e.path, e.type, e.linkname, e.uid, e.gid])).toEqual([
      ['app/src/', 'directory', undefined, 1000, 1000],
      ['app/src/a', 'file', undefined, 1000, 1000],
      ['app/src/b', 'hardlink', 'app/src/a', 1000, 1000],
      ['app/src/skip/kept', 'file', undefined, 1000, 1000],
    ]);
    expect(entries[1]!.mode).toBe(0o664);
  });

  it('createLayer writes entries given by a callback, with the Docker media type on request', async () => {
    const sink = new BufferSink();
    const result = await createLayer(
      async (writer) => {
        await writer.add({ path: 'hello', type: 'file', mode: 0o644, uid: 1, gid: 2, size: 2, mtime: 3 }, Buffer.from('hi'));
      },
      sink,
      { mediaTypeFlavour: 'docker' },
    );
    expect(result.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect((await entriesOf(sink.data)).map((e) => [e.path, e.uid, e.gid, e.mtime])).toEqual([['hello', 1, 2, 3]]);
    await expect(
      createLayer(async () => {
        throw new LayerError('producer failed', { entry: 'x' });
      }, new BufferSink()),
    ).rejects.toThrow('x: producer failed');
  });
});

describe('createLayerFromUpperDir on a hand-made upper directory (needs root)', () => {
  it('turns whiteouts and opaque directories into OCI whiteouts, drops overlay xattrs and excluded paths', async () => {
    const upper = join(temp, 'upper');
    mkdirSync(join(upper, 'etc'), { recursive: true });
    mkdirSync(join(upper, 'dev'));
    mkdirSync(join(upper, 'opaque/sub'), { recursive: true });
    run('mknod', [join(upper, 'etc/removed'), 'c', '0', '0']);
    run('mknod', [join(upper, 'dev/null'), 'c', '1', '3']);
    writeFileSync(join(upper, 'etc/hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(upper, 'etc/changed'), 'new');
    setXattr(join(upper, 'etc/changed'), 'trusted.overlay.origin', Buffer.from([0, 1, 2]));
    setXattr(join(upper, 'etc/changed'), 'user.kept', Buffer.from('yes'));
    writeFileSync(join(upper, 'opaque/sub/new'), 'n');
    setXattr(join(upper, 'opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
    mkdirSync(join(upper, 'useropq'));
    setXattr(join(upper, 'useropq'), 'user.overlay.opaque', Buffer.from('y'));
    writeFileSync(join(upper, 'xattr-whiteout'), '');
    setXattr(join(upper, 'xattr-whiteout'), 'trusted.overlay.whiteout', Buffer.from('y'));
    chownSync(join(upper, 'etc/changed'), 1000, 1000);
    const sink = new BufferSink();
    await createLayerFromUpperDir(upper, sink, { exclude: ['dev', 'etc/hosts'] });
    const entries = await entriesOf(sink.data);
    expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ['etc/', 'directory', 0],
      ['etc/changed', 'file', 3],
      ['etc/.wh.removed', 'file', 0],
      ['opaque/', 'directory', 0],
      ['opaque/.wh..wh..opq', 'file', 0],
      ['opaque/sub/', 'directory', 0],
      ['opaque/sub/new', 'file', 1],
      ['useropq/', 'directory', 0],
      ['useropq/.wh..wh..opq', 'file', 0],
      ['.wh.xattr-whiteout', 'file', 0],
    ]);
    const changed = entries[1]!;
    expect([...(changed.xattrs?.keys() ?? [])]).toEqual(['user.kept']);
    expect([changed.uid, changed.gid]).toEqual([1000, 1000]);

    // The same directory read as a plain directory keeps the device as a device.
    const plain = new BufferSink();
    await createLayerFromDirectory(upper, plain, { exclude: ['dev', 'etc/hosts'] });
    const removed = (await entriesOf(plain.data)).find((e) => e.path === 'etc/removed')!;
    expect([removed.type, removed.devmajor, removed.devminor]).toEqual(['char', 0, 0]);
  });

  it('refuses uppers with redirect_dir or metacopy attributes, naming the path', async () => {
    const upper = join(temp, 'upper-redirect');
    mkdirSync(join(upper, 'moved'), { recursive: true });
    setXattr(join(upper, 'moved'), 'trusted.overlay.redirect', Buffer.from('/orig'));
    await expect(createLayerFromUpperDir(upper, new BufferSink())).rejects.toThrow(/moved: overlayfs recorded a directory rename \(redirect_dir\)/);
    const meta = join(temp, 'upper-meta');
    mkdirSync(meta);
    writeFileSync(join(meta, 'f'), '');
    setXattr(join(meta, 'f'), 'trusted.overlay.metacopy', Buffer.alloc(0));
    await expect(createLayerFromUpperDir(meta, new BufferSink())).rejects.toThrow(/f: overlayfs copied up only the metadata/);
  });
});
