import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../../test/helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import { digestOf, fileBlob, makeImage, pushImage, type FileBlob } from './__fixtures__/images.js';
import { RegistryClient } from './client.js';

describe('push and pull of ~200 MB through a proxy that resets connections and answers 500/429 at random', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let blobs: FileBlob[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-faults-'));
    registry = await startRegistry();
    proxy = await startFaultProxy({ upstream: registry.url, seed: 20240611, rates: { reset: 0.025, error500: 0.025, error429: 0.025, cut: 0.025 } });
    const sizes = [72, 64, 40, 24].map((mib) => mib * 1024 * 1024 + 12345);
    blobs = await Promise.all(sizes.map((size, i) => fileBlob(join(dir, `layer${i}`), size)));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('still pushes and pulls every blob with its digest verified', async () => {
    const client = new RegistryClient({ registry: proxy.host, env: {}, chunkSize: 16 * 1024 * 1024, retry: { retries: 12, minDelayMs: 5, maxDelayMs: 200 } });
    try {
      const image = makeImage(blobs);
      for (const kind of ['reset', 'error500', 'error429', 'cut'] as const) proxy.failNext(kind);
      const results = await pushImage(client, 'faults/app', '1', image);
      expect(results.every((r) => r === 'uploaded' || r === 'exists')).toBe(true);
      expect(proxy.faults.reset + proxy.faults.error500 + proxy.faults.error429 + proxy.faults.cut).toBeGreaterThan(0);
      const pushFaults = { ...proxy.faults };

      // pulls make few requests: fault them harder, and for sure at the start
      proxy.setRates({ reset: 0.05, error500: 0.05, error429: 0.05, cut: 0.25 });
      for (const kind of ['cut', 'reset', 'cut', 'error500', 'cut', 'error429'] as const) proxy.failNext(kind);
      const manifest = await client.getManifest('faults/app', '1');
      expect(manifest.digest).toBe(image.manifestDigest);
      proxy.failNext('cut'); // the first blob's answer is cut half way: the client must resume it with a Range request
      for (const blob of blobs) {
        expect(await digestOf(client.getBlob('faults/app', blob))).toEqual({ digest: blob.digest, size: blob.size });
      }
      const total = (f: typeof pushFaults): number => f.reset + f.error500 + f.error429 + f.cut;
      expect(total(proxy.faults)).toBeGreaterThanOrEqual(total(pushFaults) + 6);
      expect(proxy.requests.some((r) => r.method === 'GET' && r.headers.range !== undefined)).toBe(true);

      // what the registry holds is intact: read it again with no faults in the way
      const direct = new RegistryClient({ registry: registry.host, env: {} });
      try {
        for (const blob of blobs) expect(await digestOf(direct.getBlob('faults/app', blob))).toEqual({ digest: blob.digest, size: blob.size });
      } finally {
        await direct.close();
      }
    } finally {
      await client.close();
    }
  }, 300_000);
});
