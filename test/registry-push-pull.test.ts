import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, tarDirectory, writeDockerArchive } from './helpers/archives.js';
import { makeBusyboxImage, type BusyboxImage } from './helpers/busybox.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { freePort, startRegistry, type TestRegistry } from './helpers/registry.js';
import { runOk, tsbuild, type RunResult } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

interface Inspected {
  name: string;
  names: string[];
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  config: { architecture: string };
}

async function inspect(root: string, image: string): Promise<Inspected> {
  const result = await tsbuild(root, ['inspect', image]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Inspected;
}

/** Runs tsbuild and expects success; returns its output. */
async function ok(root: string, args: string[]): Promise<RunResult> {
  const result = await tsbuild(root, args);
  expect(result.code, `tsbuild ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

/** The lines of an output, without the empty last one. */
function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** The digest of the image named `tag` in an OCI layout written by skopeo. */
async function layoutDigest(layout: string, tag: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`no ${tag} in ${layout}`);
  return entry.digest;
}

/** Writes a blob into an OCI layout; returns its descriptor. */
async function putBlob(layout: string, mediaType: string, bytes: Buffer): Promise<{ mediaType: string; digest: string; size: number }> {
  const digest = sha256(bytes);
  await writeFile(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Makes an OCI layout whose `multi` is an index of a linux/amd64 and a linux/arm64/v8 image (distinct layers). */
async function makeMultiPlatformLayout(work: string): Promise<string> {
  const layout = join(work, 'multi-layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const entries = [];
  for (const [architecture, variant] of [['amd64', undefined], ['arm64', 'v8']] as const) {
    const dir = join(work, `rootfs-${architecture}`);
    await mkdir(join(dir, 'etc'), { recursive: true });
    await writeFile(join(dir, 'etc', 'arch'), `${architecture}\n`);
    const tarFile = join(work, `layer-${architecture}.tar`);
    await tarDirectory(dir, tarFile);
    const layer = await putBlob(layout, 'application/vnd.oci.image.layer.v1.tar', await readFile(tarFile));
    const config = await putBlob(
      layout,
      'application/vnd.oci.image.config.v1+json',
      Buffer.from(JSON.stringify({ architecture, ...(variant ? { variant } : {}), os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: {} })),
    );
    const manifest = await putBlob(layout, OCI_MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] })));
    entries.push({ ...manifest, platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) } });
  }
  const index = await putBlob(layout, OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries })));
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }));
  return layout;
}

/** The digest of an index in a registry and of its children by architecture (skopeo compresses layers as it pushes, so they are read back). */
async function registryIndex(ref: string): Promise<Record<string, string>> {
  const { stdout: raw } = await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
  const index = JSON.parse(raw) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
  return Object.fromEntries([['index', sha256(Buffer.from(raw))], ...index.manifests.map((m) => [m.platform.architecture, m.digest])]);
}

describe('tsbuild pull and push against a real registry', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let busybox: BusyboxImage;
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let root: string;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir('tsbuild-registry-e2e-'));
    [busybox, registry] = await Promise.all([makeBusyboxImage(join(work, 'busybox')), startRegistry()]);
    proxy = await startFaultProxy({ upstream: registry.url });
    root = join(work, 'store');
    await ok(root, ['load', '-i', busybox.ociArchive]);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await cleanup?.();
  });

  it('an image pushed by tsbuild is what skopeo pulls, with the same manifest digest', async () => {
    const local = await inspect(root, 'busybox');
    const digestFile = join(work, 'pushed.digest');
    const push = await ok(root, ['push', 'busybox', `${registry.host}/interop/busybox:1`, '--digestfile', digestFile]);
    expect(push.stdout).toBe(`${local.manifestDigest}\n`);
    expect(await readFile(digestFile, 'utf8')).toBe(local.manifestDigest);
    expect(push.stderr).toContain('The push refers to repository [127.0.0.1:');
    expect(push.stderr).toMatch(/[a-f0-9]{12}: Pushed\n/);
    expect(push.stderr).toContain(`1: digest: ${local.manifestDigest} size: `);

    const out = join(work, 'skopeo-pulled');
    await runOk('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${registry.host}/interop/busybox:1`, `oci:${out}:pulled`]);
    expect(await layoutDigest(out, 'pulled')).toBe(local.manifestDigest);
    const { stdout: config } = await runOk('skopeo', ['inspect', '--tls-verify=false', '--config', '--raw', `docker://${registry.host}/interop/busybox:1`]);
    expect(sha256(Buffer.from(config))).toBe(local.configDigest);
  });

  it('an image pushed by skopeo (OCI and Docker v2s2) is pulled by tsbuild and matches', async () => {
    for (const format of ['oci', 'v2s2'] as const) {
      const ref = `${registry.host}/interop/skopeo-${format}:1`;
      await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--format', format, `oci:${busybox.layout}:busybox`, `docker://${ref}`]);
      const { stdout: raw } = await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
      const digest = sha256(Buffer.from(raw));
      const store = join(work, `pulled-${format}`);
      const pull = await ok(store, ['pull', ref]);
      expect(pull.stdout).toBe(`${ref}@${digest}\n`);
      expect(pull.stderr).toMatch(/^1: Pulling from interop\/skopeo-/);
      expect(pull.stderr).toMatch(/[a-f0-9]{12}: Pull complete\n/);
      expect(pull.stderr).toContain(`Digest: ${digest}\nStatus: Downloaded newer image for ${ref}\n`);
      const pulled = await inspect(store, ref);
      expect(pulled.manifestDigest).toBe(digest);
      expect(pulled.manifestMediaType).toBe(format === 'oci' ? OCI_MANIFEST : 'application/vnd.docker.distribution.manifest.v2+json');
      expect((await ok(store, ['check'])).stdout).toMatch(/0 corrupt, 0 missing, 0 orphaned/);
      // the store stays an OCI layout skopeo reads (its oci: transport finds names of OCI manifests only)
      if (format === 'oci') await runOk('skopeo', ['inspect', '--raw', `oci:${join(store, 'oci')}:${ref}`]);

      // pulled again: every layer already exists, nothing downloaded
      const again = await ok(store, ['pull', ref]);
      expect(again.stderr).toMatch(/[a-f0-9]{12}: Already exists\n/);
      expect(again.stderr).not.toContain('Pull complete');
      expect(again.stderr).toContain(`Status: Image is up to date for ${ref}`);
    }
  });

  it('a multi-platform index resolves to the host platform, --platform picks another, a missing one lists what exists', async () => {
    const layout = await makeMultiPlatformLayout(work);
    const ref = `${registry.host}/interop/multi:1`;
    await runOk('skopeo', ['copy', '-q', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${ref}`]);
    const manifests = await registryIndex(ref);
    expect(Object.keys(manifests).sort()).toEqual(['amd64', 'arm64', 'index']);
    const store = join(work, 'multi-store');

    const host = await ok(store, ['pull', ref]);
    expect(host.stdout).toBe(`${ref}@${manifests.index}\n`);
    expect(host.stderr).toContain(`Digest: ${manifests.index}\nPlatform: linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}\n`);
    expect((await inspect(store, ref)).manifestDigest).toBe(manifests[process.arch === 'arm64' ? 'arm64' : 'amd64']);

    await ok(store, ['pull', '--platform', 'linux/arm64', ref]);
    const arm = await inspect(store, ref);
    expect(arm.manifestDigest).toBe(manifests.arm64);
    expect(arm.config.architecture).toBe('arm64');

    const missing = await tsbuild(store, ['pull', '--platform', 'linux/s390x', ref]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(lines(missing.stderr)).toEqual([`Error: no image for linux/s390x in ${ref}; it has linux/amd64, linux/arm64 (choose one with --platform)`]);
    expect((await inspect(store, ref)).manifestDigest).toBe(manifests.arm64);
  });

  it('pushing the same image twice uploads nothing the second time', async () => {
    const target = `${proxy.host}/twice/busybox:1`;
    proxy.clear();
    await ok(root, ['push', 'busybox', target]);
    const uploads = (): number => proxy.count('POST', /\/blobs\/uploads\/$/) + proxy.count('PATCH') + proxy.count('PUT', /\/blobs\/uploads\//);
    expect(uploads()).toBeGreaterThanOrEqual(2); // a layer and the config
    proxy.clear();
    const second = await ok(root, ['push', 'busybox', target]);
    expect(uploads()).toBe(0);
    expect(proxy.count('GET', /\/blobs\//)).toBe(0);
    expect(proxy.count('PUT', /\/manifests\//)).toBe(1);
    expect(second.stderr).toMatch(/[a-f0-9]{12}: Layer already exists\n/);
    expect(second.stderr).not.toContain('Pushed');
  });

  it('pushing an image whose base is in another repository of the registry mounts the base layers', async () => {
    const dirs = ['base-a', 'base-b', 'app-c'].map((name) => join(work, 'mount-layers', name));
    for (const [i, dir] of dirs.entries()) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `file-${i}`), `content of layer ${i}\n`.repeat(1000 * (i + 1)));
    }
    const baseArchive = join(work, 'mount-base.tar');
    const appArchive = join(work, 'mount-app.tar');
    await writeDockerArchive(work, baseArchive, [{ repoTags: ['base:1'], layerDirs: dirs.slice(0, 2) }]);
    await writeDockerArchive(work, appArchive, [{ repoTags: ['app:1'], layerDirs: dirs }]);
    const mounts = (): typeof proxy.requests => proxy.requests.filter((r) => r.method === 'POST' && r.query.get('mount') !== null);

    // store A pushes the base, then the app to another repository: the push remembered where the base layers are
    const storeA = join(work, 'mount-a');
    await ok(storeA, ['load', '-i', baseArchive]);
    await ok(storeA, ['load', '-i', appArchive]);
    await ok(storeA, ['push', 'base:1', `${proxy.host}/mount/base:1`]);
    proxy.clear();
    const pushA = await ok(storeA, ['push', 'app:1', `${proxy.host}/mount/app-a:1`]);
    expect(mounts().map((r) => [r.query.get('from'), r.status])).toEqual([
      ['mount/base', 201],
      ['mount/base', 201],
    ]);
    expect(lines(pushA.stderr).filter((l) => l.endsWith('Mounted from mount/base'))).toHaveLength(2);
    expect(proxy.count('PUT', /\/blobs\/uploads\//)).toBe(2); // the new layer and the config

    // store B pulls the base: the pull remembered where its layers came from
    const storeB = join(work, 'mount-b');
    await ok(storeB, ['pull', `${proxy.host}/mount/base:1`]);
    await ok(storeB, ['load', '-i', appArchive]);
    proxy.clear();
    await ok(storeB, ['push', 'app:1', `${proxy.host}/mount/app-b:1`]);
    expect(mounts().map((r) => [r.query.get('from'), r.status])).toEqual([
      ['mount/base', 201],
      ['mount/base', 201],
    ]);
    const { stdout: raw } = await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/mount/app-b:1`]);
    expect(sha256(Buffer.from(raw))).toBe((await inspect(storeB, 'app:1')).manifestDigest);
  });

  it('unknown image, unreachable registry, unknown local image: one clear line each, exit 1', async () => {
    const unknown = await tsbuild(root, ['pull', `${registry.host}/interop/nope:1`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(lines(unknown.stderr)).toEqual([`Error: manifest unknown: ${registry.host}/interop/nope:1 does not exist`]);

    const port = await freePort();
    for (const args of [['pull', `127.0.0.1:${port}/app:1`], ['push', 'busybox', `127.0.0.1:${port}/app:1`]]) {
      const unreachable = await tsbuild(root, args);
      expect(unreachable.code).toBe(1);
      expect(lines(unreachable.stderr)).toHaveLength(1);
      expect(unreachable.stderr).toMatch(new RegExp(`^Error: .*cannot reach registry 127\\.0\\.0\\.1:${port}: connection refused`));
    }

    const local = await tsbuild(root, ['push', 'nothere:1', `${registry.host}/x:1`]);
    expect(local.code).toBe(1);
    expect(lines(local.stderr)).toEqual(['Error: image nothere:1 not found in the local store']);

    const byId = await tsbuild(root, ['push', (await inspect(root, 'busybox')).configDigest.slice(7, 19)]);
    expect(byId.code).toBe(1);
    expect(byId.stderr).toMatch(/^Error: .* names the image by ID: give a destination/);
  });
});
