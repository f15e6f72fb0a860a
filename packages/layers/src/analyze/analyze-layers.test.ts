import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from '@tsbuild/oci';
import { buildTar, streamOf, type TarSpec } from '../__fixtures__/helpers.js';
import { compressStream } from '../compression/streams.js';
import { analyzeLayers, type AnalyzeLayerInput } from './analyze-layers.js';

async function layer(specs: TarSpec[], createdBy: string, compression: 'gzip' | 'zstd' | 'none' = 'gzip'): Promise<AnalyzeLayerInput> {
  const tar = await buildTar(specs);
  let blob = tar;
  if (compression === 'gzip') blob = gzipSync(tar);
  if (compression === 'zstd') {
    const parts: Buffer[] = [];
    for await (const chunk of Readable.from([tar]).pipe(compressStream('zstd'))) parts.push(chunk as Buffer);
    blob = Buffer.concat(parts);
  }
  return { digest: sha256Digest(blob), createdBy, open: async () => streamOf(blob) };
}

const bytes = (n: number): Buffer => Buffer.alloc(n, 0x61);

describe('analyzeLayers', () => {
  it('counts what each layer adds, changes and removes, and the bytes later layers waste', async () => {
    const layers = [
      await layer(
        [
          { path: 'etc/' },
          { path: 'etc/config', data: bytes(100) },
          { path: 'etc/old', data: bytes(40) },
          { path: 'var/cache/', type: 'directory' },
          { path: 'var/cache/a', data: bytes(1000) },
          { path: 'var/cache/b', data: bytes(2000) },
          { path: 'opt/app/', type: 'directory' },
          { path: 'opt/app/v1.js', data: bytes(300) },
          { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
        ],
        'FROM base',
      ),
      await layer(
        [
          { path: 'etc/config', data: bytes(150) },
          { path: 'etc/.wh.old' },
          { path: 'var/.wh.cache' },
          { path: 'tmp/build/', type: 'directory' },
          { path: 'tmp/build/obj', data: bytes(5000) },
        ],
        'RUN apt-get update',
        'zstd',
      ),
      await layer(
        [
          { path: 'etc/config', data: bytes(160) },
          { path: '.wh.tmp' },
          { path: 'opt/app/' },
          { path: 'opt/app/.wh..wh..opq' },
          { path: 'opt/app/v2.js', data: bytes(310) },
          { path: '.wh.never-existed' },
        ],
        'RUN make && rm -rf /tmp',
        'none',
      ),
    ];
    const analysis = await analyzeLayers(layers, { top: 3 });
    const [base, second, third] = analysis.layers;
    expect(base).toMatchObject({
      index: 0,
      createdBy: 'FROM base',
      entries: 9,
      bytes: 3440,
      added: { files: 6, bytes: 3440 },
      changed: { files: 0, bytes: 0 },
      removed: { files: 0, bytes: 0 },
      wastedBytes: 100 + 40 + 1000 + 2000 + 300,
    });
    expect(second).toMatchObject({
      entries: 5,
      bytes: 5150,
      added: { files: 1, bytes: 5000 },
      changed: { files: 1, bytes: 150 },
      removed: { files: 3, bytes: 3040 },
      wastedBytes: 150 + 5000,
    });
    expect(third).toMatchObject({
      entries: 6,
      bytes: 470,
      added: { files: 1, bytes: 310 },
      changed: { files: 1, bytes: 160 },
      removed: { files: 2, bytes: 5300 },
      wastedBytes: 0,
    });
    expect(analysis.totalBytes).toBe(3440 + 5150 + 470);
    expect(analysis.imageBytes).toBe(160 + 310);
    expect(analysis.wastedBytes).toBe(analysis.totalBytes - analysis.imageBytes);
    expect(analysis.efficiency).toBeCloseTo((470 / 9060) * 100, 6);
    expect(analysis.largestWasted).toEqual([
      { path: 'tmp/build/obj', bytes: 5000, versions: 1, layers: [1] },
      { path: 'var/cache/b', bytes: 2000, versions: 1, layers: [0] },
      { path: 'var/cache/a', bytes: 1000, versions: 1, layers: [0] },
    ]);
    const all = await analyzeLayers(layers, { top: 100 });
    expect(all.largestWasted.find((w) => w.path === 'etc/config')).toEqual({ path: 'etc/config', bytes: 250, versions: 2, layers: [0, 1] });
  });

  it('reports a clean image as 100% efficient and names the layer of a broken blob', async () => {
    const only = await layer([{ path: 'a', data: 'x' }], 'COPY a /');
    const clean = await analyzeLayers([only]);
    expect([clean.efficiency, clean.wastedBytes, clean.largestWasted]).toEqual([100, 0, []]);
    expect((await analyzeLayers([])).efficiency).toBe(100);
    const broken = { digest: sha256Digest('broken'), open: async () => streamOf(gzipSync(Buffer.alloc(2048, 0x41))) };
    await expect(analyzeLayers([only, broken])).rejects.toThrow(/layer 1 \(sha256:[0-9a-f]{64}\): bad tar header checksum/);
  });
});
