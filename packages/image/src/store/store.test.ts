import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaType, sha256Digest, type Digest } from '@tsbuild/oci';
import { makeTempDir } from '../../../../test/helpers/tmp.js';
import type { RawManifest } from '../transport/types.js';
import { ImageStore } from './store.js';

/** A layerless image (config + manifest blobs in the store); `n` makes it unique. */
async function makeImage(store: ImageStore, n: number): Promise<RawManifest> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Env: [`N=${n}`] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] }));
  const configDigest = sha256Digest(config);
  await store.layout.putBlobBytes(config, configDigest);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length }, layers: [] }));
  const digest = sha256Digest(bytes);
  await store.layout.putBlobBytes(bytes, digest);
  return { bytes, digest, mediaType: MediaType.ociManifest };
}

const blobPath = (store: ImageStore, digest: Digest): string => join(store.layout.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));

describe('ImageStore', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: ImageStore;
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
    store = await ImageStore.open(join(dir, 'store'));
  });
  afterEach(async () => cleanup());

  it('leaves index.json untouched when an image is added again under the names it already has', async () => {
    const image = await makeImage(store, 1);
    await store.addImage(image, ['app:1', 'app:2']);
    const index = join(store.layout.dir, 'index.json');
    const before = await stat(index, { bigint: true });
    await store.addImage(image, ['app:1']);
    await store.addImage(image, ['app:2', 'app:1']);
    await store.addImage(image, []);
    const after = await stat(index, { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs]);

    // a new name, or a name moving to another image, still writes it
    await store.addImage(image, ['app:1', 'app:3']);
    expect((await store.findImage('app:3')).manifest.digest).toBe(image.digest);
    const other = await makeImage(store, 2);
    await store.addImage(other, ['app:1']);
    expect((await store.findImage('app:1')).manifest.digest).toBe(other.digest);
    expect([...(await store.findImage('app:2')).names].sort()).toEqual(['app:2', 'app:3']);
  });

  it('does not take the shortcut when a blob of the image is missing', async () => {
    const image = await makeImage(store, 1);
    await store.addImage(image, ['app:1']);
    const parsed = JSON.parse(image.bytes.toString()) as { config: { digest: Digest } };
    await (await import('node:fs/promises')).rm(blobPath(store, parsed.config.digest));
    await expect(store.addImage(image, ['app:1'])).rejects.toThrow(/missing|not found|blob/i);
  });

  it('finds an image by name or digest from index.json without reading the other images', async () => {
    const good = await makeImage(store, 1);
    const bad = await makeImage(store, 2);
    await store.addImage(good, ['good:1']);
    await store.addImage(bad, ['bad:1']);
    await writeFile(blobPath(store, bad.digest), 'damaged');

    const found = await store.findImage('good:1');
    expect(found).toMatchObject({ names: ['good:1'], manifest: { digest: good.digest }, created: '2024-01-01T00:00:00Z' });
    expect((await store.findImage(`good@${good.digest}`)).manifest.digest).toBe(good.digest);
    // listing every image still reads (and verifies) every manifest
    await expect(store.listImages()).rejects.toThrow();
    await expect(store.findImage('nothing:here')).rejects.toThrow(/nothing:here/);
  });

  it('still finds images by ID and by a prefix of it', async () => {
    const image = await makeImage(store, 1);
    await store.addImage(image, ['app:1']);
    const { id } = await store.findImage('app:1');
    expect((await store.findImage(id)).manifest.digest).toBe(image.digest);
    expect((await store.findImage(id.slice(7, 19))).manifest.digest).toBe(image.digest);
  });
});
