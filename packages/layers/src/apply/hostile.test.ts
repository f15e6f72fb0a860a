import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTar, fingerprint, makeTemp, removeTemp, streamOf, type TarSpec } from '../__fixtures__/helpers.js';
import { LayerError, type LayerWarning } from '../errors.js';
import { DEFAULT_TAR_LIMITS } from '../tar/reader.js';
import { encodeHeader } from '../tar/writer.js';
import { getXattr } from '../xattrs.js';
import { applyLayer, type ApplyLayerOptions } from './apply-layer.js';

/**
 * The breakout corpus. Each case applies one or more hostile layers to `case/root` next to `case/outside`, which
 * holds a sentinel file. Whatever the case, the sentinel and the outside directory must stay exactly as they
 * were, and nothing may appear beside them; then the case checks that the entry was either rejected with a
 * LayerError naming it, or contained inside the root.
 */

let temp: string;
beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => removeTemp(temp));

interface Case {
  root: string;
  outside: string;
  sentinel: string;
}

type Layer = TarSpec[] | Buffer;

let counter = 0;
function setUp(): Case {
  const dir = join(temp, `case-${counter++}`);
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  mkdirSync(root, { recursive: true });
  mkdirSync(outside);
  const sentinel = join(outside, 'sentinel');
  writeFileSync(sentinel, 'precious');
  return { root, outside, sentinel };
}

async function applyAll(c: Case, layers: readonly Layer[], options: ApplyLayerOptions): Promise<unknown> {
  try {
    for (const layer of layers) {
      const data = Buffer.isBuffer(layer) ? layer : await buildTar(layer);
      await applyLayer(streamOf(data), c.root, options);
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Applies the layers and checks the sentinel; returns the error, if any. */
async function hostile(layers: readonly Layer[], options: ApplyLayerOptions = {}): Promise<{ error: unknown; c: Case }> {
  const c = setUp();
  const before = fingerprint(c.sentinel);
  const outsideBefore = lstatSync(c.outside);
  const error = await applyAll(c, layers, options);
  expect(fingerprint(c.sentinel)).toBe(before);
  expect(readdirSync(c.outside)).toEqual(['sentinel']);
  expect(readdirSync(join(c.root, '..')).sort()).toEqual(['outside', 'root']);
  const outsideAfter = lstatSync(c.outside);
  expect([outsideAfter.mode, outsideAfter.uid, outsideAfter.mtimeMs]).toEqual([outsideBefore.mode, outsideBefore.uid, outsideBefore.mtimeMs]);
  return { error, c };
}

async function rejected(layers: readonly Layer[], message: RegExp, options: ApplyLayerOptions = {}): Promise<Case> {
  const { error, c } = await hostile(layers, options);
  expect(error, `expected rejection ${message}`).toBeInstanceOf(LayerError);
  expect((error as Error).message).toMatch(message);
  return c;
}

async function contained(layers: readonly Layer[], options: ApplyLayerOptions = {}): Promise<Case> {
  const { error, c } = await hostile(layers, options);
  expect(error).toBeUndefined();
  return c;
}

const inside = (c: Case, path: string): string => join(c.root, path);

describe('entry names', () => {
  it('rejects names climbing out of the root', async () => {
    await rejected([[{ path: '../escape', data: 'x' }]], /\.\.\/escape: path "\.\.\/escape" leads outside the layer root/);
    await rejected([[{ path: 'a/../../outside/sentinel', data: 'x' }]], /leads outside the layer root/);
    await rejected([[{ path: 'a/', type: 'directory' }, { path: 'a/../../x/', type: 'directory' }]], /a\/\.\.\/\.\.\/x\/: .*leads outside/);
  });

  it('reads absolute names as relative to the root', async () => {
    const c = await contained([[{ path: '/abs/file', data: 'in root' }]]);
    expect(readFileSync(inside(c, 'abs/file'), 'utf8')).toBe('in root');
  });

  it('rejects a root entry that is not a directory, and a NUL in a pax path', async () => {
    await rejected([[{ path: './', type: 'symlink', linkname: '/' }]], /the layer root must be a directory/);
    const { header, paxHeader } = encodeHeader({ path: 'p'.repeat(200), type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 });
    const records = Buffer.from('17 path=bad\0name\n');
    const paxBlock = Buffer.from(paxHeader!);
    paxBlock.write(records.length.toString(8).padStart(11, '0'), 124, 'latin1');
    paxBlock.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of paxBlock) sum += byte;
    paxBlock.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const tar = Buffer.concat([paxBlock, records, Buffer.alloc(512 - records.length), header, Buffer.alloc(1024)]);
    await rejected([tar], /contains a NUL byte/);
  });
});

describe('symlinks are resolved inside the root', () => {
  it('an absolute symlink to outside, then a write through it', async () => {
    const c0 = setUp();
    const c = await contained([[{ path: 'link', type: 'symlink', linkname: c0.outside }, { path: 'link/sentinel', data: 'pwned' }]]);
    expect(readFileSync(inside(c, `${c0.outside}/sentinel`), 'utf8')).toBe('pwned');
    expect(readlinkSync(inside(c, 'link'))).toBe(c0.outside); // stored verbatim
  });

  it('a relative symlink up and out, then a write through it', async () => {
    const c = await contained([[{ path: 'link', type: 'symlink', linkname: '../../../../outside' }, { path: 'link/sentinel', data: 'pwned' }]]);
    expect(readFileSync(inside(c, 'outside/sentinel'), 'utf8')).toBe('pwned');
  });

  it('chains of symlinks, and a symlink in a subdirectory pointing above it', async () => {
    const c = await contained([
      [
        { path: 'a', type: 'symlink', linkname: '../' },
        { path: 'b', type: 'symlink', linkname: 'a/a/a/../..' },
        { path: 'b/c/', type: 'directory' },
        { path: 'dir/' },
        { path: 'dir/up', type: 'symlink', linkname: '../../../' },
        { path: 'dir/up/outside/sentinel', data: 'pwned' },
      ],
    ]);
    expect(readFileSync(inside(c, 'outside/sentinel'), 'utf8')).toBe('pwned');
    expect(lstatSync(inside(c, 'c')).isDirectory()).toBe(true);
  });

  it('a symlink made by a lower layer, written through by the next (CVE-2025-45582)', async () => {
    const c0 = setUp();
    const c = await contained([[{ path: 'x', type: 'symlink', linkname: '../../outside' }], [{ path: 'x/sentinel', data: 'pwned' }]]);
    expect(readFileSync(inside(c, 'outside/sentinel'), 'utf8')).toBe('pwned');
    const c2 = await contained([[{ path: 'y', type: 'symlink', linkname: c0.outside }], [{ path: 'y/new', data: 'pwned' }]]);
    expect(readFileSync(inside(c2, `${c0.outside}/new`), 'utf8')).toBe('pwned');
  });

  it('a symlink to / inserted mid-archive, then writes below it', async () => {
    const c = await contained([
      [{ path: 'tmp/' }, { path: 'foo', type: 'symlink', linkname: '/' }, { path: 'foo/tmp/x', data: 'x' }, { path: 'foo/etc/passwd', data: 'root::0:0' }],
    ]);
    expect(readFileSync(inside(c, 'tmp/x'), 'utf8')).toBe('x');
    expect(readFileSync(inside(c, 'etc/passwd'), 'utf8')).toBe('root::0:0');
  });

  it('a directory replaced by a symlink before its children', async () => {
    const c0 = setUp();
    const c = await contained([[{ path: 'dir/' }, { path: 'dir/a', data: 'a' }, { path: 'dir', type: 'symlink', linkname: c0.outside }, { path: 'dir/sentinel', data: 'pwned' }]]);
    expect(lstatSync(inside(c, 'dir')).isSymbolicLink()).toBe(true);
    expect(readFileSync(inside(c, `${c0.outside}/sentinel`), 'utf8')).toBe('pwned');
  });

  it('never follows the last component: a file, a directory or metadata over a symlink replaces the symlink', async () => {
    const c0 = setUp();
    const c = await contained([
      [
        { path: 'f', type: 'symlink', linkname: `${c0.outside}/sentinel` },
        { path: 'g', type: 'symlink', linkname: '../outside/sentinel' },
        { path: 'd', type: 'symlink', linkname: '../outside' },
      ],
      [
        { path: 'f', data: 'replaced', mode: 0o777 },
        { path: 'g', type: 'directory', mode: 0o777 },
        { path: 'd/', type: 'directory', mode: 0o777, uid: 1234 },
      ],
    ]);
    expect(readFileSync(inside(c, 'f'), 'utf8')).toBe('replaced');
    expect(lstatSync(inside(c, 'g')).isDirectory()).toBe(true);
    expect(lstatSync(inside(c, 'd')).uid).toBe(1234);
  });

  it('rejects symlink loops on the way to an entry', async () => {
    await rejected([[{ path: 'a', type: 'symlink', linkname: 'b' }, { path: 'b', type: 'symlink', linkname: 'a' }, { path: 'a/x', data: 'x' }]], /a\/x: too many levels of symbolic links/);
  });

  it('rejects a path whose parent is a file', async () => {
    await rejected([[{ path: 'file', data: 'x' }, { path: 'file/child', data: 'y' }]], /file\/child: parent file is not a directory/);
  });
});

describe('hardlinks', () => {
  it('rejects a target above the root, missing targets and directories', async () => {
    await rejected([[{ path: 'h', type: 'hardlink', linkname: '../outside/sentinel' }]], /h: hardlink target "\.\.\/outside\/sentinel" leads outside the layer root/);
    await rejected([[{ path: 'h', type: 'hardlink', linkname: 'a/../../../outside/sentinel' }]], /leads outside the layer root/);
    const c0 = setUp();
    await rejected([[{ path: 'h', type: 'hardlink', linkname: c0.sentinel }]], /h: hardlink to ".*sentinel", which does not exist in the layer or below it/);
    await rejected([[{ path: 'h', type: 'hardlink', linkname: 'missing' }]], /does not exist/);
    await rejected([[{ path: 'd/' }, { path: 'h', type: 'hardlink', linkname: 'd' }]], /h: hardlink to the directory "d"/);
    await rejected([[{ path: 'h', type: 'hardlink', linkname: './' }]], /hardlink to the layer root/);
  });

  it('resolves the target’s parents inside the root and never follows the target itself', async () => {
    const c0 = setUp();
    await rejected(
      [[{ path: 's', type: 'symlink', linkname: c0.outside }, { path: 'h', type: 'hardlink', linkname: 's/sentinel' }]],
      /h: hardlink to "s\/sentinel", which does not exist/,
    );
    const c = await contained([
      [
        { path: 's', type: 'symlink', linkname: `${c0.sentinel}` },
        { path: 'h', type: 'hardlink', linkname: 's' },
        { path: 'h', data: 'overwrite attempt', mode: 0o777 },
      ],
    ]);
    expect(readFileSync(inside(c, 'h'), 'utf8')).toBe('overwrite attempt');
    expect(lstatSync(inside(c, 's')).isSymbolicLink()).toBe(true);
  });

  it('a hardlink to a file of a lower layer, then a write to the link, leaves the lower layer’s file alone', async () => {
    const c = await contained([[{ path: 'lower', data: 'lower' }], [{ path: 'h', type: 'hardlink', linkname: 'lower' }, { path: 'h', data: 'new' }]]);
    expect(readFileSync(inside(c, 'lower'), 'utf8')).toBe('lower');
    expect(readFileSync(inside(c, 'h'), 'utf8')).toBe('new');
  });
});

describe('whiteouts', () => {
  for (const mode of ['rootfs', 'snapshot'] as const) {
    it(`rejects .wh., .wh.. and .wh... as names (${mode})`, async () => {
      for (const name of ['.wh.', '.wh..', '.wh...', 'etc/.wh..', 'etc/.wh...']) {
        await rejected([[{ path: 'etc/' }, { path: name }]], /invalid whiteout name/, { mode });
      }
    });
  }

  it('a whiteout below a symlink to outside deletes nothing outside', async () => {
    const c0 = setUp();
    await contained([[{ path: 'link', type: 'symlink', linkname: c0.outside }], [{ path: 'link/.wh.sentinel' }, { path: 'link/.wh..wh..opq' }]]);
    const c = await contained([[{ path: 'up', type: 'symlink', linkname: '../outside' }], [{ path: 'up/.wh.sentinel' }, { path: 'up/.wh..wh..opq' }]]);
    expect(lstatSync(inside(c, 'up')).isSymbolicLink()).toBe(true);
  });

  it('a whiteout of a symlink deletes the link, not its target', async () => {
    const c = await contained([[{ path: 'etc/' }, { path: 'etc/f', data: 'f' }, { path: 'localetc', type: 'symlink', linkname: 'etc' }], [{ path: '.wh.localetc' }]]);
    expect(readFileSync(inside(c, 'etc/f'), 'utf8')).toBe('f');
    expect(() => lstatSync(inside(c, 'localetc'))).toThrow();
  });

  it('.wh. in a directory name is a plain name', async () => {
    const c = await contained([[{ path: '.wh.etc/somefile', data: 'plain' }]]);
    expect(readFileSync(inside(c, '.wh.etc/somefile'), 'utf8')).toBe('plain');
  });

  it('snapshot mode drops overlay xattrs a layer tries to set, with a warning', async () => {
    const warnings: LayerWarning[] = [];
    const c = await contained([[{ path: 'd/', xattrs: new Map([['trusted.overlay.opaque', Buffer.from('y')], ['trusted.overlay.redirect', Buffer.from('/x')]]) }]], {
      mode: 'snapshot',
      onWarning: (w) => warnings.push(w),
    });
    expect(getXattr(inside(c, 'd'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(warnings.map((w) => w.code)).toEqual(['XATTR_SKIPPED', 'XATTR_SKIPPED']);
  });
});

describe('devices and fifos', () => {
  it('are created inside the root even through symlinked parents, and never where a replaced directory was', async () => {
    const c0 = setUp();
    const c = await contained([
      [
        { path: 'l', type: 'symlink', linkname: c0.outside },
        { path: 'l/evil', type: 'char', devmajor: 1, devminor: 3 },
        { path: 'd/' },
        { path: 'd/fifo', type: 'fifo' },
        { path: 'd/dev', type: 'block', devmajor: 7, devminor: 0 },
        { path: 'd', type: 'symlink', linkname: c0.outside },
      ],
    ]);
    expect(lstatSync(inside(c, `${c0.outside}/evil`)).isCharacterDevice()).toBe(true);
    expect(readdirSync(inside(c, c0.outside))).toEqual(['evil']);
  });
});

describe('corrupt and hostile archives', () => {
  it('rejects corrupt gzip, truncated gzip, bad checksums and truncated data with clear errors', async () => {
    const tar = await buildTar([{ path: 'file', data: Buffer.alloc(100_000, 7) }, { path: 'second', data: 'x' }]);
    const gz = gzipSync(tar);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0xa5, 40, 80);
    await rejected([corrupt], /the layer's gzip data is corrupt or truncated/);
    await rejected([gz.subarray(0, gz.length - 30)], /the layer's gzip data is corrupt or truncated: unexpected end of file/);
    const badSum = Buffer.from(tar);
    badSum.writeUInt8(badSum.readUInt8(100_352 + 512 + 5) ^ 0x20, 100_352 + 512 + 5);
    await rejected([gzipSync(badSum)], /bad tar header checksum at byte 100864 \(after entry file\)/);
    await rejected([gzipSync(tar.subarray(0, 60_000))], /file: the archive ends inside this entry: 100000 bytes declared, 59488 present/);
  });

  it('rejects a header declaring far more data than there is, without allocating it', async () => {
    const { header } = encodeHeader({ path: 'liar', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 8 * 2 ** 30 - 1, mtime: 0 });
    const before = process.memoryUsage().rss;
    await rejected([Buffer.concat([header, Buffer.alloc(4096)])], /liar: the archive ends inside this entry: 8589934591 bytes declared, 4096 present/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    const pax = encodeHeader({ path: 'p'.repeat(300), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 }).paxHeader!;
    const huge = Buffer.from(pax);
    huge.write((2 ** 32).toString(8).padStart(11, '0'), 124, 'latin1');
    huge.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of huge) sum += byte;
    huge.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await rejected([Buffer.concat([huge, Buffer.alloc(1024)])], /pax header of 4294967296 bytes at byte 0 \(first entry\) is over the limit of 1048576/);
  });

  it('stops a tar bomb of many entries at the limit', async () => {
    expect(DEFAULT_TAR_LIMITS.maxEntries).toBe(1_000_000);
    const bomb = await buildTar(Array.from({ length: 5000 }, (_, i) => ({ path: `f${i}` })));
    const c = await rejected([gzipSync(bomb)], /more than 1000 entries \(tar bomb\?\)/, { limits: { maxEntries: 1000 } });
    expect(readdirSync(c.root).length).toBeLessThanOrEqual(1000);
  });
});
