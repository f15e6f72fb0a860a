import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extract } from 'tar-stream';
import { ArchiveFile } from './archive-file.js';
import { indexTar } from './tar-index.js';
import { ArchiveTarWriter } from './tar-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-tar-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('indexTar', () => {
  it('indexes what GNU tar writes: long names (pax and GNU), symlinks, nested dirs', async () => {
    const src = join(dir, 'src');
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.json`;
    await mkdir(join(src, 'd'.repeat(120)), { recursive: true });
    await writeFile(join(src, long), '{"long":true}');
    await writeFile(join(src, 'manifest.json'), '[]');
    await symlink('manifest.json', join(src, 'link.json'));
    for (const format of ['pax', 'gnu']) {
      const archive = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', archive, '-C', src, '.']);
      const entries = await indexTar(archive, archive);
      expect(entries.get(long)).toMatchObject({ kind: 'file', size: 13 });
      expect(entries.get('link.json')).toMatchObject({ kind: 'symlink', linkname: 'manifest.json' });
      const file = await ArchiveFile.open(archive, { spoolDir: dir });
      expect((await file.readSmall(long)).toString()).toBe('{"long":true}');
      expect((await file.readSmall('link.json')).toString()).toBe('[]');
      expect(() => file.resolve('../outside')).toThrow(/path outside the archive/);
      expect(() => file.resolve('absent')).toThrow(/absent: missing from the archive/);
      await file.close();
    }
  });

  it('rejects a bad header checksum and a truncated archive, naming the problem', async () => {
    const archive = join(dir, 'ok.tar');
    await writeFile(join(dir, 'payload'), Buffer.alloc(10_000, 7));
    execFileSync('tar', ['-cf', archive, '-C', dir, 'payload']);
    const corrupt = join(dir, 'corrupt.tar');
    const data = await readFile(archive);
    data[10]! ^= 0xff;
    await writeFile(corrupt, data);
    await expect(indexTar(corrupt, 'corrupt.tar')).rejects.toThrow(/corrupt\.tar: not a tar archive or corrupt: bad header checksum at byte 0/);
    const cut = join(dir, 'cut.tar');
    await writeFile(cut, data.subarray(0, 4096));
    data[10]! ^= 0xff;
    await writeFile(cut, data.subarray(0, 4096));
    await expect(indexTar(cut, 'cut.tar')).rejects.toThrow(/cut\.tar: payload: truncated archive/);
    await truncate(cut, 100);
    await expect(indexTar(cut, 'cut.tar')).rejects.toThrow(/truncated archive: unexpected end of file at byte 0/);
  });

  it('spools standard input and gzip-compressed archives', async () => {
    const archive = join(dir, 'spool.tar');
    await writeFile(join(dir, 'manifest.json'), '[1]');
    execFileSync('tar', ['-czf', archive, '-C', dir, 'manifest.json']);
    const file = await ArchiveFile.open('-', { spoolDir: dir, stdin: Readable.from([await readFile(archive)]) });
    expect((await file.readSmall('manifest.json')).toString()).toBe('[1]');
    await file.close();
  });
});

describe('ArchiveTarWriter', () => {
  it('writes files GNU tar and tar-stream read, patching entries of unknown size in place', async () => {
    const out = join(dir, 'written.tar');
    const writer = await ArchiveTarWriter.toFile(out);
    await writer.addDirectory('blobs');
    await writer.addBuffer('index.json', Buffer.from('{"a":1}'));
    await writer.addStream('blobs/known', 5, Readable.from([Buffer.from('hello')]));
    const big = Buffer.alloc(3_000_001, 'z');
    await writer.addStreamOfUnknownSize('blobs/unknown', Readable.from([big.subarray(0, 1_000_000), big.subarray(1_000_000)]));
    await writer.finish();
    const listing = execFileSync('tar', ['-tvf', out]).toString();
    expect(listing).toMatch(/3000001 .*blobs\/unknown/);
    const seen = new Map<string, Buffer>();
    const parser = extract();
    parser.on('entry', (header, stream, next) => {
      void readAll(stream).then((data) => {
        seen.set(header.name, data);
        next();
      });
    });
    const done = new Promise<void>((resolve) => parser.on('finish', () => resolve()));
    parser.end(await readFile(out));
    await done;
    expect(seen.get('index.json')!.toString()).toBe('{"a":1}');
    expect(seen.get('blobs/known')!.toString()).toBe('hello');
    expect(seen.get('blobs/unknown')!.equals(big)).toBe(true);
  });

  it('writes entries added concurrently one after another', async () => {
    const out = join(dir, 'concurrent.tar');
    const writer = await ArchiveTarWriter.toFile(out);
    const slow = async function* (byte: number): AsyncGenerator<Buffer> {
      for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        yield Buffer.alloc(50_000, byte);
      }
    };
    await Promise.all([
      writer.addStream('a', 1_000_000, Readable.from(slow(0x61))),
      writer.addStreamOfUnknownSize('b', Readable.from(slow(0x62))),
      writer.addStream('c', 1_000_000, Readable.from(slow(0x63))),
    ]);
    await writer.finish();
    for (const [name, byte] of [['a', 'a'], ['b', 'b'], ['c', 'c']] as const) {
      expect(execFileSync('tar', ['-xOf', out, name]).equals(Buffer.alloc(1_000_000, byte))).toBe(true);
    }
  });

  it('spools entries of unknown size when writing to a stream', async () => {
    const sink = new PassThrough();
    const collected = readAll(sink);
    const writer = ArchiveTarWriter.toStream(sink, dir);
    await writer.addStreamOfUnknownSize('x', Readable.from([Buffer.from('streamed')]));
    await writer.finish();
    const out = join(dir, 'streamed.tar');
    await writeFile(out, await collected);
    expect(execFileSync('tar', ['-xOf', out, 'x']).toString()).toBe('streamed');
  });

  it('fails on a stream shorter than declared and leaves no file when aborted', async () => {
    const out = join(dir, 'aborted.tar');
    const writer = await ArchiveTarWriter.toFile(out);
    await expect(writer.addStream('short', 10, Readable.from([Buffer.from('abc')]))).rejects.toThrow(/expected 10 bytes, got 3/);
    await writer.abort();
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });
});
