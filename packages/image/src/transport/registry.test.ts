import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, parseReference, sha256Digest, type Descriptor, type Digest } from '@tsbuild/oci';
import { RegistryClient, RegistryError } from '@tsbuild/registry-client';
import { startFaultProxy, type FaultProxy } from '../../../../test/helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../../../../test/helpers/registry.js';
import { copyImage, readAll } from '../copy.js';
import { pullImage, pushImage } from '../registry-io.js';
import { ImageStore } from '../store/store.js';
import { RegistryDestination, RegistrySource } from './registry.js';
import { StoreDestination, StoreSource } from './store.js';

/** Puts an image made of random layers into a store under `name`; returns its manifest digest and blobs. */
async function addTestImage(store: ImageStore, name: string, layers: Buffer[], architecture = 'amd64'): Promise<{ digest: Digest; bytes: Buffer; blobs: Descriptor[] }> {
  const layerDescriptors: Descriptor[] = [];
  for (const layer of layers) {
    const digest = sha256Digest(layer);
    await store.layout.putBlobBytes(layer, digest);
    layerDescriptors.push({ mediaType: MediaType.ociLayer, digest, size: layer.length });
  }
  const config = Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: layerDescriptors.map((d) => d.digest) }, config: { Labels: { n: name } } }));
  const configDescriptor: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256Digest(config), size: config.length };
  await store.layout.putBlobBytes(config, configDescriptor.digest as Digest);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDescriptor, layers: layerDescriptors }));
  const digest = sha256Digest(bytes);
  await store.addImage({ bytes, digest, mediaType: MediaType.ociManifest }, [name]);
  return { digest, bytes, blobs: [configDescriptor, ...layerDescriptors] };
}

describe('registry transport', () => {
  let dir: string;
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let client: RegistryClient;
  let store: ImageStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-transport-'));
    registry = await startRegistry();
    proxy = await startFaultProxy({ upstream: registry.url });
    client = new RegistryClient({ registry: proxy.host, env: {} });
    store = await ImageStore.open(join(dir, 'store'));
  });
  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies a store image to a registry and back, byte for byte', async () => {
    const image = await addTestImage(store, 'app:1', [randomBytes(3000), randomBytes(20_000)]);
    const source = new StoreSource(store, ['app:1']);
    const [listed] = await source.listImages();
    const destination = new RegistryDestination(client, parseReference(`${proxy.host}/transport/app:1`));
    await copyImage(source, listed!, destination, { names: [] });
    await destination.commit();
    expect(destination.digest).toBe(image.digest);
    expect((await client.headManifest('transport/app', '1'))?.digest).toBe(image.digest);

    const other = await ImageStore.open(join(dir, 'other'));
    const registrySource = new RegistrySource(client, parseReference(`${proxy.host}/transport/app:1`));
    const [pulled] = await registrySource.listImages();
    expect(pulled!.names).toEqual([`${proxy.host}/transport/app:1`]);
    const storeDestination = await StoreDestination.open(other);
    await copyImage(registrySource, pulled!, storeDestination);
    await storeDestination.commit();
    const stored = await other.findImage(`${proxy.host}/transport/app:1`);
    expect(stored.manifest.digest).toBe(image.digest);
    for (const blob of image.blobs) expect(await other.layout.hasBlob(blob.digest as Digest, blob.size)).toBe(true);
  });

  it('pushes by digest when the reference has no tag, and never tags after a failed blob', async () => {
    const image = await addTestImage(store, 'bydigest:1', [randomBytes(1000)]);
    const [listed] = await new StoreSource(store, ['bydigest:1']).listImages();
    const byDigest = new RegistryDestination(client, parseReference(`${proxy.host}/transport/bydigest@${image.digest}`));
    await copyImage(new StoreSource(store), listed!, byDigest, { names: [] });
    expect(byDigest.digest).toBe(image.digest);
    expect((await client.headManifest('transport/bydigest', image.digest))?.digest).toBe(image.digest);
    // distribution answers NAME_UNKNOWN for a repository without tags
    expect(await client.listTags('transport/bydigest').catch(() => [])).toEqual([]);

    const broken = new RegistryDestination(client, parseReference(`${proxy.host}/transport/broken:1`));
    const layer = randomBytes(500);
    const descriptor: Descriptor = { mediaType: MediaType.ociLayer, digest: sha256Digest(layer), size: layer.length };
    const tampered = Buffer.from(layer);
    tampered[0] = tampered[0]! ^ 1;
    await expect(broken.putBlob(descriptor, async () => Readable.from([tampered]))).rejects.toThrow(/digest mismatch/);
    await expect(broken.putImage({ manifest: { bytes: image.bytes, digest: image.digest, mediaType: MediaType.ociManifest }, config: { descriptor, bytes: layer }, layers: [], diffIDs: [], names: [] })).rejects.toThrow(/digest mismatch/);
    expect(await client.headManifest('transport/broken', '1')).toBeUndefined();
  });

  it('mounts blobs from candidate repositories instead of uploading them', async () => {
    const image = await addTestImage(store, 'mounted:1', [randomBytes(4000), randomBytes(5000)]);
    await pushImage(store, 'mounted:1', `${proxy.host}/transport/mount-base:1`, { client });
    proxy.clear();
    const results = new Map<string, string>();
    const [listed] = await new StoreSource(store, ['mounted:1']).listImages();
    const destination = new RegistryDestination(client, parseReference(`${proxy.host}/transport/mount-target:1`), {
      mountCandidates: () => ['transport/mount-target', 'transport/mount-base'],
      onBlob: (digest, result, candidates) => {
        results.set(digest, result);
        expect(candidates).toEqual(['transport/mount-base']);
      },
    });
    await copyImage(new StoreSource(store), listed!, destination, { names: [] });
    expect([...results.values()]).toEqual(['mounted', 'mounted', 'mounted']);
    expect(proxy.requests.filter((r) => r.query.get('mount') !== null && r.query.get('from') === 'transport/mount-base')).toHaveLength(3);
    expect(proxy.count('PUT', /\/blobs\/uploads\//) + proxy.count('PATCH')).toBe(0);
    expect(destination.digest).toBe(image.digest);
  });

  it('resolves an index to the platform and opens its child manifests as blobs', async () => {
    const amd = await addTestImage(store, 'multi-amd64:1', [randomBytes(800)], 'amd64');
    const arm = await addTestImage(store, 'multi-arm64:1', [randomBytes(900)], 'arm64');
    await pushImage(store, 'multi-amd64:1', `${proxy.host}/transport/multi:amd64`, { client });
    await pushImage(store, 'multi-arm64:1', `${proxy.host}/transport/multi:arm64`, { client });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { mediaType: MediaType.ociManifest, digest: amd.digest, size: amd.bytes.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: MediaType.ociManifest, digest: arm.digest, size: arm.bytes.length, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
    );
    const indexDigest = await client.putManifest('transport/multi', '1', index, MediaType.ociIndex);

    const source = new RegistrySource(client, parseReference(`${proxy.host}/transport/multi:1`), { platform: 'linux/arm64' });
    const [image] = await source.listImages();
    expect(image!.manifest.digest).toBe(arm.digest);
    expect(source.resolved?.index?.digest).toBe(indexDigest);
    const child = await readAll(await source.openBlob({ mediaType: MediaType.ociManifest, digest: amd.digest, size: amd.bytes.length }));
    expect(child.equals(amd.bytes)).toBe(true);

    const wrong = new RegistrySource(client, parseReference(`${proxy.host}/transport/multi:1`), { platform: 'linux/s390x' });
    const error = await wrong.listImages().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toMatch(/no image for linux\/s390x .* it has linux\/amd64, linux\/arm64/);

    const other = await ImageStore.open(join(dir, 'multi'));
    const pulled = await pullImage(other, `${proxy.host}/transport/multi:1`, { client, platform: 'linux/arm64' });
    expect(pulled).toMatchObject({ digest: indexDigest, manifestDigest: arm.digest, platform: 'linux/arm64', name: `${proxy.host}/transport/multi:1` });
  });
});
