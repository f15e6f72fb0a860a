import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferSink, makeTemp, removeTemp, run, streamOf } from '../__fixtures__/helpers.js';
import { LayerError } from '../errors.js';
import { detectCompression, sniffFormat } from './detect.js';
import { ParallelGzip } from './gzip.js';
import { compressStream, decompressStream, openUncompressed } from './streams.js';

/** Deterministic text-like data that compresses, like a real layer. */
function textLike(size: number, seed = 1): Buffer {
  const words = ['layer ', 'tar ', 'gzip ', 'image\n', 'digest ', 'overlay ', 'whiteout ', 'sha256:', '0123456789abcdef '];
  const out = Buffer.alloc(size);
  let state = seed;
  let offset = 0;
  while (offset < size) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    offset += out.write(words[state % words.length]!, offset);
    if (state % 7 === 0 && offset < size) out[offset++] = 0x41 + (state % 26);
  }
  return out;
}

async function compress(data: Buffer, stream: NodeJS.ReadWriteStream, chunkSize = 65536): Promise<Buffer> {
  const sink = new BufferSink();
  await pipeline(streamOf(data, chunkSize), stream, sink);
  return sink.data;
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

let temp: string;
beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => removeTemp(temp));

describe('detectCompression', () => {
  it('knows gzip, zstd (frames and skippable frames), bzip2, xz and plain data', () => {
    expect(detectCompression(gzipSync('x'))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0x5a, 0x2a, 0x4d, 0x18]))).toBe('zstd');
    expect(detectCompression(Buffer.from('ustar'))).toBe('none');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
    expect(sniffFormat(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(sniffFormat(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe('xz');
  });
});

describe('parallel gzip', () => {
  const data = textLike(5 * 1024 * 1024 + 12345);

  it('writes independent members that gzip, pigz and Go-compatible readers decode whole', async () => {
    const out = await compress(data, new ParallelGzip({ memberSize: 1 << 20 }));
    expect(out.length).toBeLessThan(data.length * 0.6);
    expect(gunzipSync(out).equals(data)).toBe(true);
    const file = join(temp, 'parallel.gz');
    writeFileSync(file, out);
    run('gzip', ['-t', file]);
    run('pigz', ['-t', file]);
    const viaGzip = join(temp, 'parallel.out');
    run('sh', ['-c', `gzip -dc "$1" > "$2"`, 'sh', file, viaGzip]);
    expect(sha(readFileSync(viaGzip))).toBe(sha(data));
    const single = gzipSync(data.subarray(0, 1 << 20), { level: 6 });
    expect(out.subarray(0, single.length).equals(single)).toBe(true); // the first member is exactly gzip of the first MiB
  });

  it('gives the same bytes whatever the concurrency and input chunking', async () => {
    const a = await compress(data, new ParallelGzip({ concurrency: 1 }), 1000);
    const b = await compress(data, new ParallelGzip({ concurrency: 4 }), 1 << 20);
    const c = await compress(data, compressStream('gzip'), 77777);
    expect(sha(a)).toBe(sha(b));
    expect(sha(a)).toBe(sha(c));
    const level1 = await compress(data, compressStream('gzip', { level: 1 }));
    expect(sha(level1)).not.toBe(sha(a));
    expect(gunzipSync(level1).equals(data)).toBe(true);
  });

  it('writes a valid gzip stream for empty input and for input below one member', async () => {
    expect(gunzipSync(await compress(Buffer.alloc(0), new ParallelGzip())).length).toBe(0);
    const small = textLike(1000);
    const out = await compress(small, new ParallelGzip());
    expect(out.equals(gzipSync(small, { level: 6 }))).toBe(true);
  });

  it('cuts members at fixed offsets, each an independent gzip stream (so they can be compressed in parallel)', async () => {
    const out = await compress(data, new ParallelGzip({ concurrency: 2 }), 12345);
    const members: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += 1 << 20) members.push(gzipSync(data.subarray(offset, offset + (1 << 20)), { level: 6 }));
    expect(members).toHaveLength(6);
    expect(out.equals(Buffer.concat(members))).toBe(true);
  });
});

describe('gzip decompressor', () => {
  it('keeps up to readAhead decompressed bytes ready, and decompresses the same bytes whatever it is', async () => {
    const data = Buffer.alloc(3 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    const gz = gzipSync(data);
    for (const readAhead of [undefined, 1 << 20]) {
      const stream = decompressStream('gzip', readAhead !== undefined ? { readAhead } : {});
      if (readAhead !== undefined) expect(stream.readableHighWaterMark).toBe(readAhead);
      const sink = new BufferSink();
      await pipeline(streamOf(gz), stream, sink);
      expect(sink.data.equals(data)).toBe(true);
    }
  });
});

describe('zstd', () => {
  const data = textLike(3 * 1024 * 1024, 3);

  it('round-trips through the addon and through the zstd program, each reading the other', async () => {
    const viaAddon = await compress(data, compressStream('zstd', { zstd: 'addon' }));
    const viaProgram = await compress(data, compressStream('zstd', { zstd: 'program' }));
    expect(detectCompression(viaAddon)).toBe('zstd');
    expect(detectCompression(viaProgram)).toBe('zstd');
    for (const blob of [viaAddon, viaProgram]) {
      for (const zstd of ['addon', 'program'] as const) {
        expect(sha(await compress(blob, decompressStream('zstd', { zstd })))).toBe(sha(data));
      }
    }
    const file = join(temp, 'addon.zst');
    writeFileSync(file, viaAddon);
    run('zstd', ['-t', '-q', file]);
  });

  it('gives the same bytes for the same level', async () => {
    const a = await compress(data, compressStream('zstd', { level: 3 }), 4096);
    const b = await compress(data, compressStream('zstd', { level: 3 }), 1 << 20);
    expect(sha(a)).toBe(sha(b));
  });

  it('reports a failing zstd program with its message', async () => {
    await expect(compress(Buffer.from('not zstd at all'), decompressStream('zstd', { zstd: 'program' }))).rejects.toThrow(
      /zstd -d -c -q failed: .*unknown header|zstd -d -c -q failed/,
    );
  });
});

describe('openUncompressed', () => {
  const data = textLike(300_000, 9);

  it('sniffs gzip, zstd and plain data and gives the uncompressed bytes', async () => {
    const blobs = {
      gzip: gzipSync(data),
      zstd: await compress(data, compressStream('zstd')),
      none: data,
    };
    for (const [name, blob] of Object.entries(blobs)) {
      for (const chunkSize of [1, 3, 65536]) {
        if (chunkSize === 1 && name !== 'none') continue;
        const { compression, stream } = await openUncompressed(streamOf(blob, chunkSize));
        expect(compression).toBe(name);
        const sink = new BufferSink();
        await pipeline(stream, sink);
        expect(sha(sink.data)).toBe(sha(data));
      }
    }
  });

  it('rejects bzip2 and xz with a clear error and surfaces corrupt gzip on the stream', async () => {
    await expect(openUncompressed(streamOf(Buffer.from('BZh91AY&SY')))).rejects.toThrow(LayerError);
    await expect(openUncompressed(streamOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1])))).rejects.toThrow(/compressed with xz/);
    const corrupt = Buffer.from(gzipSync(data));
    corrupt.fill(0x55, 100, 200);
    const { stream } = await openUncompressed(streamOf(corrupt));
    await expect(pipeline(stream, new BufferSink())).rejects.toThrow();
    const truncated = gzipSync(data).subarray(0, 1000);
    const opened = await openUncompressed(streamOf(truncated));
    await expect(pipeline(opened.stream, new BufferSink())).rejects.toThrow(/unexpected end of file/);
  });
});
