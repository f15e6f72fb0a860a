import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, sha256Digest, digestHex } from '@tsbuild/oci';
import { startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import { gzipBlob, makeImage, pushImage, readAll, type MemoryBlob, type TestImage } from './__fixtures__/images.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { resolveImage } from './resolve.js';

const run = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Writes an OCI image layout holding `images` (and optionally an index over them) under `tag`. */
async function writeLayout(dir: string, tag: string, images: TestImage[], index?: Buffer): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const write = (digest: string, bytes: Buffer): Promise<void> => writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  for (const image of images) {
    for (const blob of [image.config, ...(image.layers as MemoryBlob[])]) await write(blob.digest, blob.bytes);
    await write(image.manifestDigest, image.manifest);
  }
  const top = index
    ? { mediaType: MediaType.ociIndex, digest: sha256Digest(index), size: index.length }
    : { mediaType: images[0]!.mediaType, digest: images[0]!.manifestDigest, size: images[0]!.manifest.length };
  if (index) await write(top.digest, index);
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }] }));
}

describe('interop with skopeo', () => {
  let registry: TestRegistry;
  let dir: string;
  let client: RegistryClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-skopeo-'));
    registry = await startRegistry();
    client = new RegistryClient({ registry: registry.host, env: {} });
  });
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('skopeo reads what the client pushed, with the same digests', async () => {
    const image = makeImage([gzipBlob(100_000), gzipBlob(20_000_000)]);
    await pushImage(client, 'interop/pushed', '1', image);
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/interop/pushed:1`);
    expect(sha256Digest(raw)).toBe(image.manifestDigest);
    const layout = join(dir, 'pulled-by-skopeo');
    await skopeo('copy', '--src-tls-verify=false', `docker://${registry.host}/interop/pushed:1`, `oci:${layout}:pulled`);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(image.manifestDigest);
    for (const blob of [image.config, ...(image.layers as MemoryBlob[])]) {
      expect(sha256Digest(await readFile(join(layout, 'blobs', 'sha256', digestHex(blob.digest))))).toBe(blob.digest);
    }
  });

  it('the client reads what skopeo pushed, with the same digests', async () => {
    const layer = gzipBlob(300_000);
    const image = makeImage([layer]);
    const layout = join(dir, 'to-push');
    await writeLayout(layout, 'v1', [image]);
    await skopeo('copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${registry.host}/interop/from-skopeo:v1`);
    const fetched = await client.getManifest('interop/from-skopeo', 'v1');
    expect(fetched.digest).toBe(image.manifestDigest);
    expect(fetched.mediaType).toBe(MediaType.ociManifest);
    const resolved = await resolveImage(client, `${registry.host}/interop/from-skopeo:v1`);
    expect(resolved.parsed.layers[0]!.digest).toBe(layer.digest);
    expect((await readAll(client.getBlob('interop/from-skopeo', resolved.parsed.layers[0]!))).equals(layer.bytes)).toBe(true);
    expect((await readAll(client.getBlob('interop/from-skopeo', resolved.parsed.config))).equals(image.config.bytes)).toBe(true);
  });

  it('resolves a multi-platform index pushed by skopeo to the requested platform', async () => {
    const amd64 = makeImage([gzipBlob(1000)], { architecture: 'amd64' });
    const arm64 = makeImage([gzipBlob(1000)], { architecture: 'arm64', variant: 'v8' });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { mediaType: amd64.mediaType, digest: amd64.manifestDigest, size: amd64.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: arm64.mediaType, digest: arm64.manifestDigest, size: arm64.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      }),
    );
    const layout = join(dir, 'multi');
    await writeLayout(layout, 'multi', [amd64, arm64], index);
    await skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${registry.host}/interop/multi:1`);

    const arm = await resolveImage(client, `${registry.host}/interop/multi:1`, { platform: 'linux/arm64' });
    expect(arm.manifest.digest).toBe(arm64.manifestDigest);
    expect(arm.index?.digest).toBe(sha256Digest(index));
    expect(arm.platform).toEqual({ os: 'linux', architecture: 'arm64' });
    const amd = await resolveImage(client, `${registry.host}/interop/multi:1`, { platform: { os: 'linux', architecture: 'amd64' } });
    expect(amd.manifest.digest).toBe(amd64.manifestDigest);
    const error = await resolveImage(client, `${registry.host}/interop/multi:1`, { platform: 'linux/s390x' }).catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('PLATFORM_NOT_FOUND');
    expect((error as Error).message).toBe(
      `no image for linux/s390x in ${registry.host}/interop/multi:1; it has linux/amd64, linux/arm64 (choose one with --platform)`,
    );
  });

  it('skopeo and the client agree over TLS with Basic auth', async () => {
    const secure = await startRegistry({ tls: true, auth: 'htpasswd' });
    const c = new RegistryClient({ registry: secure.host, env: {}, creds: `${secure.username}:${secure.password}`, certDir: secure.certDir! });
    try {
      const image = makeImage([gzipBlob(5000)]);
      await pushImage(c, 'interop/secure', '1', image);
      const raw = await skopeo('inspect', '--raw', '--cert-dir', secure.certDir!, '--creds', `${secure.username}:${secure.password}`, `docker://${secure.host}/interop/secure:1`);
      expect(sha256Digest(raw)).toBe(image.manifestDigest);
      await skopeo(
        'copy', '--src-cert-dir', secure.certDir!, '--src-creds', `${secure.username}:${secure.password}`,
        '--dest-cert-dir', secure.certDir!, '--dest-creds', `${secure.username}:${secure.password}`,
        `docker://${secure.host}/interop/secure:1`, `docker://${secure.host}/interop/secure-copy:1`,
      );
      expect((await c.getManifest('interop/secure-copy', '1')).digest).toBe(image.manifestDigest);
    } finally {
      await c.close();
      await secure.stop();
    }
  });
});
