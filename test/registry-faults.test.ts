import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDockerArchive } from './helpers/archives.js';
import { makeBusyboxImage } from './helpers/busybox.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { runOk, tsbuild, type RunResult } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';

const MIB = 1024 * 1024;

async function writeRandomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  for (let written = 0; written < size; written += MIB) {
    if (!out.write(randomBytes(Math.min(MIB, size - written)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function ok(root: string, args: string[]): Promise<RunResult> {
  const result = await tsbuild(root, args, { timeout: 280_000 });
  expect(result.code, `tsbuild ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

/** What a store holds on disk: blob names and the exact index. */
async function storeState(root: string): Promise<{ blobs: string[]; index: string }> {
  return { blobs: (await readdir(join(root, 'oci', 'blobs', 'sha256'))).sort(), index: await readFile(join(root, 'oci', 'index.json'), 'utf8') };
}

describe('push and pull through a proxy that resets connections and answers 500 and 429', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let root: string;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir('tsbuild-registry-faults-'));
    registry = await startRegistry();
    root = join(work, 'store');
    // a ~200 MB image: four layers of random data, written as a docker-archive by hand and loaded
    const layerDirs: string[] = [];
    for (const [i, mib] of [72, 64, 40, 24].entries()) {
      const dir = join(work, `layer${i}`);
      await mkdir(dir, { recursive: true });
      await writeRandomFile(join(dir, `data${i}.bin`), mib * MIB + 4321 * i);
      layerDirs.push(dir);
    }
    const archive = join(work, 'big.tar');
    await writeDockerArchive(work, archive, [{ repoTags: ['big:1'], layerDirs }]);
    await ok(root, ['load', '-i', archive]);
  }, 300_000);
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await cleanup?.();
  });

  it('a ~200 MB image still pushes and pulls, every digest verified, nothing corrupt', async () => {
    proxy = await startFaultProxy({ upstream: registry.url, seed: 5, rates: { reset: 0.03, error500: 0.03, error429: 0.03 }, retryAfter: '0' });
    const local = JSON.parse((await ok(root, ['inspect', 'big:1'])).stdout) as { manifestDigest: string; manifest: { layers: Array<{ size: number }> } };
    expect(local.manifest.layers.reduce((sum, l) => sum + l.size, 0)).toBeGreaterThan(200 * MIB);

    for (const kind of ['reset', 'error500', 'error429'] as const) proxy.failNext(kind);
    const push = await ok(root, ['push', 'big:1', `${proxy.host}/faults/big:1`]);
    expect(push.stdout).toBe(`${local.manifestDigest}\n`);
    const pushFaults = proxy.faults.reset + proxy.faults.error500 + proxy.faults.error429;
    expect(pushFaults).toBeGreaterThanOrEqual(3);

    // what the registry holds is intact: skopeo reads it directly, checks every digest and keeps the layers as they are
    const copy = join(work, 'skopeo-copy');
    await runOk('skopeo', ['copy', '-q', '--src-tls-verify=false', '--preserve-digests', '--dest-oci-accept-uncompressed-layers', `docker://${registry.host}/faults/big:1`, `oci:${copy}:big`], { timeout: 280_000 });
    const index = JSON.parse(await readFile(join(copy, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    expect(index.manifests[0]!.digest).toBe(local.manifestDigest);

    // pulls make few requests: fault them harder, and cut answers in the middle too (resumed with a Range request).
    // The client retries a request 5 times: the forced faults leave the manifest GET 4 attempts against random ones.
    proxy.setRates({ reset: 0.03, error500: 0.03, error429: 0.03, cut: 0.08 });
    for (const kind of ['error429', 'reset'] as const) proxy.failNext(kind);
    const other = join(work, 'pulled');
    const pull = await ok(other, ['pull', `${proxy.host}/faults/big:1`]);
    expect(pull.stdout).toBe(`${proxy.host}/faults/big:1@${local.manifestDigest}\n`);
    expect(proxy.faults.reset + proxy.faults.error500 + proxy.faults.error429 + proxy.faults.cut).toBeGreaterThanOrEqual(pushFaults + 2);
    const check = await ok(other, ['check']);
    expect(check.stdout).toMatch(/checked 6 blobs: 0 corrupt, 0 missing, 0 orphaned/);
    const pulled = JSON.parse((await ok(other, ['inspect', `${proxy.host}/faults/big:1`])).stdout) as { manifestDigest: string };
    expect(pulled.manifestDigest).toBe(local.manifestDigest);
    expect(await readdir(join(other, 'tmp'))).toEqual([]);
  }, 600_000);

  it('a blob tampered with on the way is rejected and not stored', async () => {
    const busybox = await makeBusyboxImage(join(work, 'busybox'));
    const pusher = join(work, 'tamper-pusher');
    await ok(pusher, ['load', '-i', busybox.ociArchive]);
    await ok(pusher, ['push', 'busybox', `${registry.host}/tamper/busybox:1`]);
    const manifest = JSON.parse((await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/tamper/busybox:1`])).stdout) as { layers: Array<{ digest: string }> };
    const layer = manifest.layers[0]!.digest;

    // a store with other content (the same image from a docker-archive: same config, an uncompressed layer)
    const store = join(work, 'tamper-store');
    await ok(store, ['load', '-i', busybox.dockerArchive]);
    const before = await storeState(store);
    expect(before.blobs).not.toContain(layer.slice(7));

    const tamperer = await startFaultProxy({ upstream: registry.url, tamper: (r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer}`) });
    try {
      const result = await tsbuild(store, ['pull', `${tamperer.host}/tamper/busybox:1`]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.split('\n').filter((l) => l.startsWith('Error:'))).toEqual([
        expect.stringMatching(new RegExp(`^Error: blob ${layer} of .*digest mismatch: expected ${layer}, got sha256:`)),
      ]);
      expect(tamperer.requests.filter((r) => r.tampered).length).toBeGreaterThan(0);
    } finally {
      await tamperer.stop();
    }
    expect(await storeState(store)).toEqual(before);
    expect(await readdir(join(store, 'tmp'))).toEqual([]);
    expect((await ok(store, ['check'])).stdout).toMatch(/0 corrupt, 0 missing, 0 orphaned/);
  }, 120_000);
});
