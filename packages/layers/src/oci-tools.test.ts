import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, sha256Digest, type Compression, type Digest } from '@tsbuild/oci';
import { BufferSink, describeTree, makeRichTree, makeTemp, removeTemp, run, streamOf } from './__fixtures__/helpers.js';
import { applyLayer } from './apply/apply-layer.js';
import { createLayer, createLayerFromDirectory, type LayerResult } from './create/create-layer.js';

/**
 * Go-based tools accept our layers: an OCI layout is written by hand (blobs, config, manifest, index.json), then
 * `umoci unpack` must give the same tree as our own apply, and `skopeo copy` must read, verify, decompress and
 * recompress every blob. Both with gzip (parallel members) and with zstd.
 */

let temp: string;
beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => removeTemp(temp));

interface BuiltLayer {
  result: LayerResult;
  blob: Buffer;
}

function writeBlob(layout: string, data: Buffer | string): Digest {
  const digest = sha256Digest(data);
  writeFileSync(join(layout, 'blobs/sha256', digest.slice(7)), data);
  return digest;
}

function writeLayout(layout: string, tag: string, layers: BuiltLayer[]): void {
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const layer of layers) writeBlob(layout, layer.blob);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.result.diffID) },
    history: layers.map((_, i) => ({ created_by: `layer ${i}` })),
  });
  const configDigest = writeBlob(layout, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: Buffer.byteLength(config) },
    layers: layers.map((layer) => ({ mediaType: layer.result.mediaType, digest: layer.result.digest, size: layer.result.size })),
  });
  const manifestDigest = writeBlob(layout, manifest);
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MediaType.ociManifest,
          digest: manifestDigest,
          size: Buffer.byteLength(manifest),
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}

async function buildLayers(compression: Compression, base: string): Promise<BuiltLayer[]> {
  const first = new BufferSink();
  const firstResult = await createLayerFromDirectory(base, first, { compression });
  const second = new BufferSink();
  const secondResult = await createLayer(
    async (writer) => {
      const at = 1_700_000_000;
      const header = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: at } as const;
      await writer.add({ ...header, path: 'bin/.wh.wall', type: 'file' });
      await writer.add({ ...header, path: 'etc/', type: 'directory', mode: 0o755 });
      await writer.add({ ...header, path: 'etc/passwd', type: 'file', size: 12 }, Buffer.from('root:x:0:0:\n'));
      await writer.add({ ...header, path: 'etc/.wh.shadow', type: 'file' });
      await writer.add({ ...header, path: '.wh.tmp', type: 'file' });
      await writer.add({ ...header, path: 'var/', type: 'directory', mode: 0o755 });
      await writer.add({ ...header, path: 'var/lib/', type: 'directory', mode: 0o755 });
      await writer.add({ ...header, path: 'var/lib/data/', type: 'directory', mode: 0o750 });
      await writer.add({ ...header, path: 'var/lib/data/.wh..wh..opq', type: 'file' });
      await writer.add({ ...header, path: 'var/lib/data/fresh', type: 'file', size: 5 }, Buffer.from('fresh'));
    },
    second,
    { compression },
  );
  return [
    { result: firstResult, blob: first.data },
    { result: secondResult, blob: second.data },
  ];
}

describe('umoci and skopeo accept our layers (needs root)', () => {
  for (const compression of ['gzip', 'zstd'] as const) {
    it(`with ${compression}`, async () => {
      const base = join(temp, `base-${compression}`);
      mkdirSync(base);
      makeRichTree(base);
      // A tree large enough for several gzip members.
      mkdirSync(join(base, 'bulk'));
      for (let i = 0; i < 12; i++) {
        writeFileSync(join(base, `bulk/part${i}`), Buffer.from(Array.from({ length: 400_000 }, (_, j) => 97 + ((i * j) % 23))));
      }
      run('touch', ['-d', '@1620000000', join(base, 'bulk')]);
      const layers = await buildLayers(compression, base);
      const layout = join(temp, `layout-${compression}`);
      writeLayout(layout, 'v1', layers);

      const ours = join(temp, `ours-${compression}`);
      for (const layer of layers) await applyLayer(streamOf(layer.blob), ours, { expectedDiffID: layer.result.diffID });

      const expected = describeTree(ours);
      expect(expected['var/lib/data/blob.bin']).toBeUndefined();
      expect(expected['var/lib/data/fresh']).toBeDefined();
      expect(expected.tmp).toBeUndefined();
      if (compression === 'gzip') {
        // Debian's umoci 0.4.7 predates zstd layers; the zstd image is unpacked after skopeo recompressed it below.
        const bundle = join(temp, `bundle-${compression}`);
        run('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
        expect(describeTree(join(bundle, 'rootfs'))).toEqual(expected);
      }

      const copy = join(temp, `copy-${compression}`);
      run('skopeo', ['copy', '-q', `oci:${layout}:v1`, `oci:${copy}:v1`]);
      const copiedIndex = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      const copiedManifest = JSON.parse(readFileSync(join(copy, 'blobs/sha256', copiedIndex.manifests[0]!.digest.slice(7)), 'utf8')) as {
        layers: Array<{ digest: string }>;
      };
      expect(copiedManifest.layers.map((l) => l.digest)).toEqual(layers.map((l) => l.result.digest));

      // Decompressing with Go's readers must give exactly our diffIDs.
      const dir = join(temp, `dir-${compression}`);
      run('skopeo', ['copy', '-q', '--dest-decompress', `oci:${layout}:v1`, `dir:${dir}`]);
      const files = readdirSync(dir);
      for (const layer of layers) expect(files).toContain(layer.result.diffID.slice(7));

      // Recompressing into the other format reads every byte of ours through Go.
      const other = compression === 'gzip' ? 'zstd' : 'gzip';
      const recompressed = join(temp, `recompressed-${compression}`);
      run('skopeo', ['copy', '-q', '--dest-compress-format', other, `oci:${layout}:v1`, `oci:${recompressed}:v1`]);
      if (other === 'gzip') {
        const bundle2 = join(temp, `bundle2-${compression}`);
        run('umoci', ['unpack', '--image', `${recompressed}:v1`, bundle2]);
        expect(describeTree(join(bundle2, 'rootfs'))).toEqual(expected);
      }
      // And we read what skopeo (Go) wrote: the same tree again.
      const theirs = join(temp, `theirs-${compression}`);
      const index = JSON.parse(readFileSync(join(recompressed, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      const manifest = JSON.parse(readFileSync(join(recompressed, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
        layers: Array<{ digest: string; mediaType: string }>;
      };
      for (const [i, layer] of manifest.layers.entries()) {
        expect(layer.mediaType).toBe(`application/vnd.oci.image.layer.v1.tar+${other}`);
        const applied = await applyLayer(streamOf(readFileSync(join(recompressed, 'blobs/sha256', layer.digest.slice(7)))), theirs);
        expect(applied.compression).toBe(other);
        expect(applied.diffID).toBe(layers[i]!.result.diffID);
      }
      expect(describeTree(theirs)).toEqual(expected);
    });
  }
});
