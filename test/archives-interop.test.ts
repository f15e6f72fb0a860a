import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxImage, type BusyboxImage } from './helpers/busybox.js';
import { TSBUILD_BIN, runOk, tsbuild } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';
import { treeListing } from './helpers/archives.js';

/** The manifest and config digests skopeo reports for an image. */
async function skopeoDigests(reference: string): Promise<{ manifest: string; config: string }> {
  const raw = await runOk('skopeo', ['inspect', '--raw', reference]);
  const config = (JSON.parse(raw.stdout) as { config: { digest: string } }).config.digest;
  const { createHash } = await import('node:crypto');
  return { manifest: `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, config };
}

async function inspect(root: string, name: string): Promise<{ manifestDigest: string; configDigest: string; manifest: { layers: Array<{ mediaType: string }> } }> {
  const result = await tsbuild(root, ['inspect', name]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as never;
}

describe('archives move between tsbuild, skopeo and umoci', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let busybox: BusyboxImage;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir());
    busybox = await makeBusyboxImage(join(work, 'busybox'));
  });
  afterAll(async () => cleanup());

  it('loads an oci-archive written by skopeo with the same manifest and config digests', async () => {
    const root = join(work, 'store-oci');
    const loaded = await tsbuild(root, ['load', '-i', busybox.ociArchive]);
    expect(loaded.stdout).toBe('Loaded image: busybox:latest\n');
    expect(loaded.code).toBe(0);
    const expected = await skopeoDigests(`oci-archive:${busybox.ociArchive}`);
    const image = await inspect(root, 'busybox');
    expect(image.manifestDigest).toBe(expected.manifest);
    expect(image.configDigest).toBe(expected.config);
  });

  it('loads a docker-archive written by skopeo with the same config digest (the image ID)', async () => {
    const root = join(work, 'store-docker');
    const loaded = await tsbuild(root, ['load', '-i', busybox.dockerArchive]);
    expect(loaded.code).toBe(0);
    expect(loaded.stdout).toBe('Loaded image: busybox:latest\n');
    const expected = await skopeoDigests(`docker-archive:${busybox.dockerArchive}`);
    const image = await inspect(root, 'busybox:latest');
    expect(image.configDigest).toBe(expected.config);
    expect(image.manifest.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  });

  it('loads from standard input', async () => {
    const root = join(work, 'store-stdin');
    const loaded = await tsbuild(root, ['load'], { input: await readFile(busybox.ociArchive) });
    expect(loaded.stdout).toBe('Loaded image: busybox:latest\n');
  });

  it('keeps a store that skopeo and umoci read as an OCI layout', async () => {
    const root = join(work, 'store-read');
    await tsbuild(root, ['load', '-i', busybox.ociArchive]);
    expect((await tsbuild(root, ['tag', 'busybox', 'localhost:5000/tools/bb:1'])).code).toBe(0);
    const ours = await inspect(root, 'localhost:5000/tools/bb:1');
    const viaSkopeo = await skopeoDigests(`oci:${root}/oci:localhost:5000/tools/bb:1`);
    expect(viaSkopeo.manifest).toBe(ours.manifestDigest);
    const tags = await runOk('umoci', ['ls', '--layout', join(root, 'oci')]);
    expect(tags.stdout.split('\n').filter(Boolean).sort()).toEqual(['busybox:latest', 'localhost:5000/tools/bb:1']);
    const bundle = join(work, 'umoci-from-store');
    await runOk('umoci', ['unpack', '--image', `${join(root, 'oci')}:busybox:latest`, bundle]);
    expect(await treeListing(join(bundle, 'rootfs'))).toEqual(await treeListing(busybox.rootfs));
  });

  for (const format of ['docker-archive', 'oci-archive'] as const) {
    it(`saves a ${format} that skopeo copies and umoci unpacks to the same tree`, async () => {
      const root = join(work, `store-save-${format}`);
      await tsbuild(root, ['load', '-i', busybox.ociArchive]);
      await tsbuild(root, ['tag', 'busybox', 'second:2']);
      const archive = join(work, `saved.${format}.tar`);
      const saved = await tsbuild(root, ['save', '--format', format, '-o', archive, 'busybox', 'second:2']);
      expect(saved.stderr).toBe('');
      expect(saved.code).toBe(0);
      for (const name of ['busybox:latest', 'second:2']) {
        const layout = join(work, `from-${format}-${name.replace(':', '-')}`);
        await runOk('skopeo', ['copy', '-q', `${format}:${archive}:${name}`, `oci:${layout}:x`]);
        const bundle = join(work, `bundle-${format}-${name.replace(':', '-')}`);
        await runOk('umoci', ['unpack', '--image', `${layout}:x`, bundle]);
        expect(await treeListing(join(bundle, 'rootfs'))).toEqual(await treeListing(busybox.rootfs));
      }
      // Loading our own archive back gives the same image ID.
      const again = join(work, `store-again-${format}`);
      const loaded = await tsbuild(again, ['load', '-i', archive]);
      expect(loaded.stdout.split('\n').filter(Boolean).sort()).toEqual(['Loaded image: busybox:latest', 'Loaded image: second:2']);
      expect((await inspect(again, 'second:2')).configDigest).toBe((await inspect(root, 'busybox')).configDigest);
    });
  }

  it('saves an image of several layers in both formats (layers copied concurrently)', async () => {
    const root = join(work, 'store-layers');
    await tsbuild(root, ['load', '-i', busybox.ociArchive]);
    const context = join(work, 'layers-context');
    await mkdir(context);
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo a > /a\nRUN echo b > /b\nRUN echo c > /c\n');
    expect((await tsbuild(root, ['build', '-q', '-t', 'layers:1', context])).code).toBe(0);
    const reference = join(work, 'layers-unpacked');
    await tsbuild(root, ['unpack', 'layers:1', reference]);
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const archive = join(work, `layers.${format}.tar`);
      expect((await tsbuild(root, ['save', '--format', format, '-o', archive, 'layers:1'])).code).toBe(0);
      const layout = join(work, `layers-${format}`);
      await runOk('skopeo', ['copy', '-q', `${format}:${archive}`, `oci:${layout}:x`]);
      const bundle = join(work, `layers-bundle-${format}`);
      await runOk('umoci', ['unpack', '--image', `${layout}:x`, bundle]);
      expect(await treeListing(join(bundle, 'rootfs'))).toEqual(await treeListing(reference));
    }
  });

  it('writes each shared layer once when several images go into one archive', async () => {
    const root = join(work, 'store-shared');
    await tsbuild(root, ['load', '-i', busybox.ociArchive]);
    await tsbuild(root, ['tag', 'busybox', 'other:1']);
    const archive = join(work, 'shared.tar');
    await tsbuild(root, ['save', '--format', 'oci-archive', '-o', archive, 'busybox', 'other:1']);
    const listing = (await runOk('tar', ['-tf', archive])).stdout.split('\n').filter((line) => line.startsWith('blobs/sha256/') && line.length > 14);
    expect(new Set(listing).size).toBe(listing.length);
    expect(listing.length).toBe(3); // one layer, one config, one manifest
  });

  it('saves to standard output', async () => {
    const root = join(work, 'store-stdout');
    await tsbuild(root, ['load', '-i', busybox.ociArchive]);
    const archive = join(work, 'stdout.tar');
    await runOk('sh', ['-c', `${TSBUILD_BIN} --root ${root} save -o - busybox > ${archive}`]);
    const listing = (await runOk('tar', ['-tf', archive])).stdout;
    expect(listing).toContain('manifest.json');
  });
});
