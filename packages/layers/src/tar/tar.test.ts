import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync, linkSync, lstatSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tarStream from 'tar-stream';
import { BufferSink, buildTar, makeTemp, removeTemp, run, streamOf } from '../__fixtures__/helpers.js';
import { getXattr, setXattr } from '../xattrs.js';
import { LayerError } from '../errors.js';
import type { TarHeader } from './entry.js';
import { readNumber } from './header.js';
import { decodePaxRecords, encodePaxRecords } from './pax.js';
import { readEntryBody, readTar, type TarEntry, type TarReaderLimits } from './reader.js';
import { encodeHeader, TarWriter } from './writer.js';

/** A capability set with bit 0x80 set (cap_setuid,cap_net_raw+ep): not valid UTF-8. */
const CAPABILITY = Buffer.from('0100000281200000000000000000000000000000', 'hex');
const BINARY = Buffer.from([0x00, 0x80, 0xff, 0x0a, 0x3d, 0x20, 0xc3, 0x28]);

async function readAll(data: Buffer, chunkSize = 65536, limits?: TarReaderLimits): Promise<Array<TarEntry & { data: Buffer }>> {
  const out: Array<TarEntry & { data: Buffer }> = [];
  for await (const entry of readTar(streamOf(data, chunkSize), limits)) {
    out.push({ ...entry, data: await readEntryBody(entry) });
  }
  return out;
}

async function expectLayerError(promise: Promise<unknown>, pattern: RegExp): Promise<LayerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a LayerError matching ${pattern}`).toBeInstanceOf(LayerError);
  expect((error as Error).message).toMatch(pattern);
  return error as LayerError;
}

let temp: string;
beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => removeTemp(temp));

describe('numeric fields', () => {
  it('reads octal with spaces and NULs, and GNU base-256 both signs', () => {
    const field = (bytes: number[] | string): Buffer => {
      const b = Buffer.alloc(12);
      if (typeof bytes === 'string') b.write(bytes, 'latin1');
      else Buffer.from(bytes).copy(b);
      return b;
    };
    expect(readNumber(field('  0000644 \0'), 0, 12)).toBe(0o644);
    expect(readNumber(field('\0'), 0, 12)).toBe(0);
    expect(readNumber(field('12345670123'), 0, 12)).toBe(0o12345670123);
    expect(readNumber(field([0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x40, 0, 0, 0]), 0, 12)).toBe(9 * 2 ** 30);
    expect(readNumber(field([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 12)).toBe(-2);
    expect(readNumber(field('0009x'), 0, 12)).toBeUndefined();
    expect(readNumber(field([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0, 12)).toBeUndefined();
  });
});

describe('pax records', () => {
  it('round-trips binary values and gets lengths right at digit boundaries', () => {
    const records: Array<[string, Buffer]> = [['SCHILY.xattr.user.bin', BINARY]];
    // Records whose total length is 9/10, 99/100, 999/1000 bytes exercise the self-referential length.
    for (let valueLength = 0; valueLength < 1100; valueLength += 1) records.push([`k${valueLength}`, Buffer.alloc(valueLength, 0x61)]);
    const encoded = encodePaxRecords(records);
    const decoded = decodePaxRecords(encoded);
    expect(decoded.size).toBe(records.length);
    for (const [key, value] of records) expect(decoded.get(key)?.equals(value), key).toBe(true);
    expect(encodePaxRecords([['a', '']]).toString()).toBe('5 a=\n');
    expect(encodePaxRecords([['a', 'bcd']]).toString()).toBe('8 a=bcd\n');
    expect(encodePaxRecords([['path', 'x'.repeat(90)]]).toString().slice(0, 3)).toBe('99 ');
    expect(encodePaxRecords([['path', 'x'.repeat(91)]]).toString().slice(0, 4)).toBe('101 ');
  });
});

describe('writer and reader', () => {
  const longPath = `${'deep/'.repeat(60)}file.txt`; // 308 bytes: needs pax
  const splitPath = `${'p'.repeat(120)}/${'n'.repeat(90)}`; // fits ustar prefix + name
  const entries: Array<TarHeader & { data?: Buffer }> = [
    { path: 'dir/', type: 'directory', mode: 0o1777, uid: 0, gid: 0, size: 0, mtime: 1_600_000_000 },
    { path: 'dir/file', type: 'file', mode: 0o4755, uid: 1000, gid: 1001, size: 5, mtime: 1_600_000_001, data: Buffer.from('hello') },
    { path: longPath, type: 'file', mode: 0o644, uid: 3_000_000, gid: 2_097_152, size: 3, mtime: 1.5, data: Buffer.from('abc') },
    { path: splitPath, type: 'file', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: -100 },
    { path: 'dir/ünïcødé ☃', type: 'symlink', linkname: `../${'t'.repeat(150)}`, mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 2 ** 40 },
    { path: 'dir/link', type: 'hardlink', linkname: 'dir/file', mode: 0o4755, uid: 1000, gid: 1001, size: 0, mtime: 1_600_000_001 },
    { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0, size: 0, mtime: 0 },
    { path: 'dev/loop7', type: 'block', devmajor: 7, devminor: 7, mode: 0o660, uid: 0, gid: 6, size: 0, mtime: 0 },
    { path: 'fifo', type: 'fifo', mode: 0o620, uid: 0, gid: 0, size: 0, mtime: 0 },
    {
      path: 'caps',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: 1000,
      mtime: 7,
      xattrs: new Map([
        ['security.capability', CAPABILITY],
        ['user.bin', BINARY],
      ]),
      data: Buffer.alloc(1000, 0x5a),
    },
    { path: 'named', type: 'file', mode: 0o644, uid: 5, gid: 5, size: 0, mtime: 0, uname: 'u'.repeat(40), gname: 'users' },
  ];

  async function writeAll(batchSize?: number): Promise<Buffer> {
    const sink: Buffer[] = [];
    const writer = new TarWriter((chunk) => void sink.push(Buffer.from(chunk)), batchSize !== undefined ? { batchSize } : {});
    for (const entry of entries) await writer.add(entry, entry.data ?? (entry.type === 'file' ? Buffer.alloc(0) : undefined));
    await writer.finish();
    return Buffer.concat(sink);
  }

  it('reads back every field it writes, whatever the chunking', async () => {
    const archive = await writeAll();
    expect(archive.length % 512).toBe(0);
    for (const chunkSize of [1, 511, 512, 4096, 1 << 20]) {
      const read = await readAll(archive, chunkSize);
      expect(read.map((e) => e.path)).toEqual(entries.map((e) => e.path));
      for (const [i, expected] of entries.entries()) {
        const got = read[i]!;
        expect(got.type).toBe(expected.type);
        expect(got.mode).toBe(expected.mode);
        expect(got.uid).toBe(expected.uid);
        expect(got.gid).toBe(expected.gid);
        expect(got.mtime).toBe(expected.mtime);
        expect(got.size).toBe(expected.size);
        expect(got.linkname).toBe(expected.linkname);
        expect(got.devmajor).toBe(expected.devmajor);
        expect(got.devminor).toBe(expected.devminor);
        expect(got.uname).toBe(expected.uname);
        expect(got.data.equals(expected.data ?? Buffer.alloc(0))).toBe(true);
        expect(got.xattrs).toEqual(expected.xattrs);
      }
    }
  });

  it('hands over data already in memory without waiting, and the rest through body, whatever the chunking', async () => {
    const archive = await writeAll();
    async function* slices(size: number): AsyncGenerator<Buffer> {
      for (let i = 0; i < archive.length; i += size) yield archive.subarray(i, i + size);
    }
    for (const chunkSize of [1, 700, 1 << 20]) {
      let taken = 0;
      let waited = 0;
      for await (const entry of readTar(slices(chunkSize))) {
        const expected = entries.find((e) => e.path === entry.path)!.data ?? Buffer.alloc(0);
        const buffered = entry.takeBuffered();
        if (buffered === undefined) {
          expect(entry.size).toBeGreaterThan(0);
          waited++;
          expect((await readEntryBody(entry)).equals(expected)).toBe(true);
          expect(entry.takeBuffered()).toBeUndefined();
          continue;
        }
        if (buffered.length > 0) taken++;
        expect(buffered.equals(expected)).toBe(true);
        if (entry.size > 0) {
          expect(entry.takeBuffered()).toBeUndefined();
          await expect(readEntryBody(entry)).rejects.toThrow(/read twice/);
        }
      }
      const withData = entries.filter((e) => (e.data?.length ?? 0) > 0).length;
      expect(taken + waited).toBe(withData);
      if (chunkSize === 1 << 20) expect(taken).toBe(withData);
      else expect(waited).toBeGreaterThan(0);
    }
  });

  it('writes the same bytes for the same headers, in small batches or large', async () => {
    const a = await writeAll();
    const b = await writeAll(2048);
    expect(a.equals(b)).toBe(true);
    const reordered = encodeHeader({ ...entries[9]!, xattrs: new Map([...entries[9]!.xattrs!].reverse()) });
    const original = encodeHeader(entries[9]!);
    expect(reordered.pax!.equals(original.pax!)).toBe(true);
  });

  it('uses pax only when a field does not fit ustar', () => {
    expect(encodeHeader({ path: 'a', type: 'file', mode: 0o644, uid: 0o7777777, gid: 0, size: 0, mtime: 0 }).pax).toBeUndefined();
    expect(encodeHeader({ path: splitPath, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 }).pax).toBeUndefined();
    const big = encodeHeader({ path: 'a', type: 'file', mode: 0o644, uid: 0o7777777 + 1, gid: 0, size: 9 * 2 ** 30, mtime: 0 });
    expect(big.pax!.toString()).toBe('19 size=9663676416\n15 uid=2097152\n');
  });

  it('reads a header declaring more than 8 GiB (pax size)', async () => {
    const { header, paxHeader, pax } = encodeHeader({ path: 'huge', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 9 * 2 ** 30, mtime: 0 });
    const padded = Buffer.concat([paxHeader!, pax!, Buffer.alloc(512 - (pax!.length % 512)), header, Buffer.alloc(4096)]);
    for await (const entry of readTar(streamOf(padded))) {
      expect(entry.path).toBe('huge');
      expect(entry.size).toBe(9 * 2 ** 30);
      break;
    }
  });

  it('checks that file data matches the declared size', async () => {
    const writer = new TarWriter(() => undefined);
    await expect(writer.add({ path: 'x', type: 'file', mode: 0, uid: 0, gid: 0, size: 3, mtime: 0 }, Buffer.from('ab'))).rejects.toThrow(
      /x: data is 2 bytes but the header declares 3/,
    );
    async function* two(): AsyncGenerator<Buffer> {
      yield Buffer.from('ab');
    }
    await expect(writer.addStream({ path: 'y', type: 'file', mode: 0, uid: 0, gid: 0, size: 3, mtime: 0 }, two())).rejects.toThrow(
      /y: data is shorter/,
    );
  });

  it('applies global pax headers to every later entry and lets a local record override', async () => {
    const global = encodePaxRecords([
      ['uid', '4242'],
      ['SCHILY.xattr.user.g', 'global'],
    ]);
    const gHeader = encodeHeader({ path: 'pax_global_header', type: 'file', mode: 0o644, uid: 0, gid: 0, size: global.length, mtime: 0 }).header;
    gHeader[156] = 0x67; // 'g'
    // recompute checksum
    gHeader.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of gHeader) sum += byte;
    gHeader.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const rest = await buildTar([{ path: 'a', data: 'x' }, { path: 'b', uid: 7, data: 'y' }]);
    const b = await buildTar([{ path: 'c', uid: 3_000_000 }]);
    const archive = Buffer.concat([gHeader, global, Buffer.alloc(512 - global.length), rest.subarray(0, rest.length - 1024), b]);
    const read = await readAll(archive);
    expect(read.map((e) => [e.path, e.uid, e.xattrs?.get('user.g')?.toString()])).toEqual([
      ['a', 4242, 'global'],
      ['b', 4242, 'global'],
      ['c', 3_000_000, 'global'],
    ]);
  });
});

describe('interop with GNU tar and tar-stream', () => {
  it('GNU tar extracts what we write: long names, big ids, binary xattrs, devices', async () => {
    const archive = await buildTar([
      { path: 'd/', type: 'directory', mode: 0o2755, uid: 12, gid: 34 },
      { path: `d/${'x'.repeat(200)}/`, type: 'directory' },
      { path: `d/${'x'.repeat(200)}/${'y'.repeat(120)}`, data: 'long', uid: 3_000_000, gid: 3_000_001 },
      { path: 'd/cap', data: 'bin', mode: 0o755, xattrs: new Map([['security.capability', CAPABILITY], ['user.bin', BINARY]]) },
      { path: 'd/sym', type: 'symlink', linkname: `/${'z'.repeat(180)}` },
      { path: 'd/hard', type: 'hardlink', linkname: 'd/cap' },
      { path: 'd/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { path: 'd/fifo', type: 'fifo', mode: 0o600 },
      { path: 'd/frac', data: '', mtime: 1_600_000_000.25 },
    ]);
    const file = join(temp, 'ours.tar');
    writeFileSync(file, archive);
    const out = join(temp, 'gnu-out');
    mkdirSync(out);
    run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', file, '-C', out]);
    const long = join(out, 'd', 'x'.repeat(200), 'y'.repeat(120));
    expect(readFileSync(long, 'utf8')).toBe('long');
    expect(lstatSync(long).uid).toBe(3_000_000);
    expect(lstatSync(long).gid).toBe(3_000_001);
    expect(getXattr(join(out, 'd/cap'), 'security.capability')?.equals(CAPABILITY)).toBe(true);
    expect(getXattr(join(out, 'd/cap'), 'user.bin')?.equals(BINARY)).toBe(true);
    expect(run('getcap', [join(out, 'd/cap')])).toMatch(/cap_setuid,cap_net_raw=ep/);
    expect(lstatSync(join(out, 'd/hard')).ino).toBe(lstatSync(join(out, 'd/cap')).ino);
    expect(lstatSync(join(out, 'd/null')).rdev).toBe(lstatSync('/dev/null').rdev);
    expect(lstatSync(join(out, 'd/fifo')).isFIFO()).toBe(true);
    expect(lstatSync(join(out, 'd')).mode & 0o7777).toBe(0o2755);
    expect(lstatSync(join(out, 'd/frac')).mtimeMs).toBe(1_600_000_000_250);
    const listing = run('tar', ['-tvf', file, '--numeric-owner']);
    expect(listing).toContain(`d/sym -> /${'z'.repeat(180)}`);
  });

  it('tar-stream reads what we write', async () => {
    const archive = await buildTar([
      { path: `${'a'.repeat(150)}/${'b'.repeat(150)}`, data: 'content', uid: 1000, gid: 1000 },
      { path: 'dir/', type: 'directory', mode: 0o700 },
      { path: 'dir/sym', type: 'symlink', linkname: 'x'.repeat(300) },
      { path: 'dir/dev', type: 'block', devmajor: 7, devminor: 3 },
    ]);
    const extract = tarStream.extract();
    const seen: Array<{ name: string; type: string | null | undefined; linkname?: string | null; body: string; devmajor?: number }> = [];
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: unknown) => void parts.push(c as Buffer));
      stream.on('end', () => {
        seen.push({
          name: header.name,
          type: header.type,
          linkname: header.linkname ?? null,
          body: Buffer.concat(parts).toString(),
          ...(header.devmajor !== undefined ? { devmajor: header.devmajor } : {}),
        });
        next();
      });
    });
    const done = new Promise<void>((resolve, reject) => {
      extract.on('finish', () => resolve());
      extract.on('error', (error: Error) => reject(error));
    });
    extract.end(archive);
    await done;
    expect(seen.map((e) => [e.name, e.type, e.body])).toEqual([
      [`${'a'.repeat(150)}/${'b'.repeat(150)}`, 'file', 'content'],
      ['dir/', 'directory', ''],
      ['dir/sym', 'symlink', ''],
      ['dir/dev', 'block-device', ''],
    ]);
    expect(seen[2]!.linkname).toBe('x'.repeat(300));
    expect(seen[3]!.devmajor).toBe(7);
  });

  it('reads what GNU tar writes, in pax and gnu formats', async () => {
    const src = join(temp, 'gnu-src');
    const longDir = join(src, 'l'.repeat(120));
    mkdirSync(longDir, { recursive: true });
    const longFile = join(longDir, 'f'.repeat(150));
    writeFileSync(longFile, 'long file');
    chownSync(longFile, 3_000_000, 4_000_000);
    writeFileSync(join(src, 'cap'), 'x');
    setXattr(join(src, 'cap'), 'security.capability', CAPABILITY);
    setXattr(join(src, 'cap'), 'user.bin', BINARY);
    linkSync(join(src, 'cap'), join(src, 'hard'));
    symlinkSync('t'.repeat(140), join(src, 'sym'));
    run('mkfifo', [join(src, 'fifo')]);
    utimesSync(longFile, 1_600_000_000, 1_600_000_000);
    for (const format of ['pax', 'gnu']) {
      const file = join(temp, `gnu-${format}.tar`);
      run('tar', [`--format=${format}`, '--xattrs', '--xattrs-include=*', '--sort=name', '-cf', file, '-C', src, '.']);
      const read = await readAll(readFileSync(file));
      const byPath = new Map(read.map((e) => [e.path.replace(/^\.\//, ''), e]));
      const long = byPath.get(`${'l'.repeat(120)}/${'f'.repeat(150)}`)!;
      expect(long.data.toString()).toBe('long file');
      expect([long.uid, long.gid, long.mtime]).toEqual([3_000_000, 4_000_000, 1_600_000_000]);
      expect(byPath.get('sym')!.linkname).toBe('t'.repeat(140));
      expect(byPath.get('fifo')!.type).toBe('fifo');
      const hard = byPath.get('hard') ?? byPath.get('cap')!;
      expect(hard.type === 'hardlink' || byPath.get('cap')!.type === 'hardlink').toBe(true);
      if (format === 'pax') {
        const cap = [byPath.get('cap')!, byPath.get('hard')!].find((e) => e.type === 'file')!;
        expect(cap.xattrs?.get('security.capability')?.equals(CAPABILITY)).toBe(true);
        expect(cap.xattrs?.get('user.bin')?.equals(BINARY)).toBe(true);
      }
    }
  });

  it('reads what tar-stream writes', async () => {
    const pack = tarStream.pack();
    pack.entry({ name: `${'n'.repeat(200)}.txt`, uid: 10, gid: 20, mtime: new Date(1_500_000_000_000), mode: 0o640 }, 'tar-stream data');
    pack.entry({ name: 'd', type: 'directory', mode: 0o755 });
    pack.entry({ name: 'd/s', type: 'symlink', linkname: '../x' });
    pack.finalize();
    const sink = new BufferSink();
    await new Promise((resolve, reject) => pack.pipe(sink).on('finish', resolve).on('error', reject));
    const read = await readAll(sink.data);
    expect(read.map((e) => [e.path, e.type, e.uid, e.gid, e.mode, e.mtime, e.data.toString(), e.linkname])).toEqual([
      [`${'n'.repeat(200)}.txt`, 'file', 10, 20, 0o640, 1_500_000_000, 'tar-stream data', undefined],
      ['d', 'directory', 0, 0, 0o755, expect.any(Number), '', undefined],
      ['d/s', 'symlink', 0, 0, expect.any(Number), expect.any(Number), '', '../x'],
    ]);
  });
});

describe('hostile archives', () => {
  it('rejects a header with a bad checksum, naming where', async () => {
    const archive = await buildTar([{ path: 'first', data: 'a' }, { path: 'second', data: 'b' }]);
    archive.writeUInt8(archive.readUInt8(1024 + 10) ^ 0x01, 1024 + 10); // a byte of the second header's name
    const error = await expectLayerError(readAll(archive), /bad tar header checksum at byte 1024 \(after entry first\)/);
    expect(error.code).toBe('LAYER');
  });

  it('rejects data that is not a tar at all', async () => {
    await expectLayerError(readAll(Buffer.alloc(2048, 0x41)), /bad tar header checksum at byte 0/);
  });

  it('rejects an archive that ends inside an entry, naming it and the sizes', async () => {
    const archive = await buildTar([{ path: 'big', data: Buffer.alloc(5000, 1) }]);
    await expectLayerError(readAll(archive.subarray(0, 512 + 3000)), /big: the archive ends inside this entry: 5000 bytes declared, 3000 present/);
    // Also when the consumer skips the data instead of reading it.
    const skipping = (async () => {
      for await (const entry of readTar(streamOf(archive.subarray(0, 512 + 100)))) void entry;
    })();
    await expectLayerError(skipping, /big: the archive ends inside this entry: 5000 bytes declared, 100 present/);
  });

  it('rejects a truncated header and a pax header with no entry after it', async () => {
    const archive = await buildTar([{ path: 'a', data: 'x' }]);
    await expectLayerError(readAll(archive.subarray(0, 700)), /a: the archive ends inside this entry's padding/);
    await expectLayerError(readAll(Buffer.concat([archive.subarray(0, 1024), archive.subarray(0, 300)])), /ends inside a header/);
    const { paxHeader, pax } = encodeHeader({ path: 'p'.repeat(300), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 });
    await expectLayerError(readAll(Buffer.concat([paxHeader!, pax!, Buffer.alloc(512 - pax!.length)])), /ends after an extended header/);
  });

  it('bounds pax headers, long names and the number of entries', async () => {
    const bigXattr = await buildTar([{ path: 'x', xattrs: new Map([['user.big', Buffer.alloc(4096, 1)]]) }]);
    await expectLayerError(readAll(bigXattr, 65536, { maxHeaderBytes: 1024 }), /pax header of \d+ bytes at byte 0 \(first entry\) is over the limit of 1024/);
    const longName = await buildTar([{ path: 'n'.repeat(5000) }]);
    await expectLayerError(readAll(longName, 65536, { maxPathBytes: 4096 }), /entry name or link target over the limit of 4096 bytes/);
    const bomb = await buildTar(Array.from({ length: 101 }, (_, i) => ({ path: `f${i}` })));
    await expectLayerError(readAll(bomb, 65536, { maxEntries: 100 }), /more than 100 entries \(tar bomb\?\) at byte 51200 \(after entry f99\)/);
    expect(await readAll(bomb, 65536, { maxEntries: 101 })).toHaveLength(101);
  });

  it('bounds pax headers that pile up before an entry, and global ones', async () => {
    const one = encodeHeader({ path: 'p'.repeat(300), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 });
    const padded = Buffer.concat([one.paxHeader!, one.pax!, Buffer.alloc(512 - one.pax!.length)]);
    const piled = Buffer.concat([...Array.from({ length: 100 }, () => padded), one.header, Buffer.alloc(1024)]);
    await expectLayerError(readAll(piled, 65536, { maxHeaderBytes: 10_000 }), /pax headers at byte \d+ \(first entry\) add up to more than the limit of 10000 bytes/);
    expect(await readAll(piled)).toHaveLength(1);
    const global = Buffer.from(padded);
    global[156] = 0x67;
    global.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += global[i]!;
    global.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const globals = Buffer.concat([...Array.from({ length: 100 }, () => global), Buffer.alloc(1024)]);
    // The same key again and again replaces itself: no growth.
    expect(await readAll(globals, 65536, { maxHeaderBytes: 1000 })).toHaveLength(0);
  });

  it('rejects malformed pax records, sparse files and unknown entry types', async () => {
    const good = encodeHeader({ path: 'p'.repeat(300), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 });
    const bad = Buffer.from('99 path=short\n');
    const header = Buffer.from(good.paxHeader!);
    header.write(bad.length.toString(8).padStart(11, '0'), 124, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await expectLayerError(
      readAll(Buffer.concat([header, bad, Buffer.alloc(512 - bad.length), good.header, Buffer.alloc(1024)])),
      /pax record length does not match/,
    );

    const sparse = await buildTar([{ path: 's', xattrs: undefined }]);
    const sparsePax = encodePaxRecords([['GNU.sparse.major', '1'], ['GNU.sparse.name', 's']]);
    const sparseHeader = Buffer.from(header);
    sparseHeader.write(sparsePax.length.toString(8).padStart(11, '0'), 124, 'latin1');
    sparseHeader.fill(0x20, 148, 156);
    sum = 0;
    for (const byte of sparseHeader) sum += byte;
    sparseHeader.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await expectLayerError(readAll(Buffer.concat([sparseHeader, sparsePax, Buffer.alloc(512 - sparsePax.length), sparse])), /s: sparse files are not supported/);

    const weird = await buildTar([{ path: 'w' }]);
    weird[156] = 0x53; // 'S', GNU sparse
    weird.fill(0x20, 148, 156);
    sum = 0;
    for (let i = 0; i < 512; i++) sum += weird[i]!;
    weird.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await expectLayerError(readAll(weird), /w: unsupported tar entry type 'S' \(GNU sparse file\)/);
  });
});
