import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestMismatchError, MediaType, sha256Digest } from '@tsbuild/oci';
import { startFaultProxy, type FaultProxy } from '../../../test/helpers/fault-proxy.js';
import { freePort, startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import { memoryBlob, makeImage, openBlob, pushImage, readAll } from './__fixtures__/images.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

describe('RegistryClient against a plain-http docker-registry', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  const clients: RegistryClient[] = [];
  const client = (options: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}, host?: string): RegistryClient => {
    const made = new RegistryClient({ registry: host ?? proxy.host, env: {}, retry: { minDelayMs: 10 }, ...options });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy({ upstream: registry.url });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await proxy?.stop();
    await registry?.stop();
  });

  it('pushes and pulls manifests and blobs with their exact bytes and digests', async () => {
    const c = client();
    const layer = memoryBlob(300_000);
    const image = makeImage([layer]);
    expect(await pushImage(c, 'roundtrip/app', 'v1', image)).toEqual(['uploaded', 'uploaded']);
    const fetched = await c.getManifest('roundtrip/app', 'v1');
    expect(fetched.bytes.equals(image.manifest)).toBe(true);
    expect(fetched.digest).toBe(image.manifestDigest);
    expect(fetched.mediaType).toBe(MediaType.ociManifest);
    const byDigest = await c.getManifest('roundtrip/app', image.manifestDigest);
    expect(byDigest.bytes.equals(image.manifest)).toBe(true);
    expect(await c.headManifest('roundtrip/app', 'v1')).toEqual({ digest: image.manifestDigest, mediaType: MediaType.ociManifest, size: image.manifest.length });
    const pulled = await readAll(c.getBlob('roundtrip/app', layer));
    expect(pulled.equals(layer.bytes)).toBe(true);
    expect(await c.hasBlob('roundtrip/app', layer.digest)).toBe(true);
    expect(await c.hasBlob('roundtrip/app', memoryBlob(10).digest)).toBe(false);
    expect(await c.listTags('roundtrip/app')).toEqual(['v1']);
  });

  it('pushes a Docker schema 2 manifest and reads it back with its media type', async () => {
    const c = client();
    const image = makeImage([memoryBlob(1000)], { docker: true });
    await pushImage(c, 'roundtrip/docker', 'latest', image);
    const fetched = await c.getManifest('roundtrip/docker', 'latest');
    expect(fetched.mediaType).toBe(MediaType.dockerManifest);
    expect(fetched.digest).toBe(image.manifestDigest);
  });

  it('uploads large blobs in PATCH chunks and small ones with a single PUT', async () => {
    const c = client({ monolithicThreshold: 100_000, chunkSize: 150_000 });
    const small = memoryBlob(50_000);
    const large = memoryBlob(400_000);
    proxy.clear();
    const progress: number[] = [];
    expect(await c.uploadBlob('chunks/app', large, () => openBlob(large), { onProgress: (p) => progress.push(p.done) })).toBe('uploaded');
    expect(proxy.count('PATCH', /\/v2\/chunks\/app\/blobs\/uploads\//)).toBe(3);
    expect(progress.at(-1)).toBe(400_000);
    proxy.clear();
    expect(await c.uploadBlob('chunks/app', small, () => openBlob(small))).toBe('uploaded');
    expect(proxy.count('PATCH')).toBe(0);
    expect(proxy.count('PUT', /\/blobs\/uploads\//)).toBe(1);
    expect((await readAll(c.getBlob('chunks/app', large))).equals(large.bytes)).toBe(true);
  });

  it('uploads nothing when the same image is pushed a second time', async () => {
    const c = client();
    const image = makeImage([memoryBlob(20_000), memoryBlob(30_000)]);
    await pushImage(c, 'twice/app', '1', image);
    proxy.clear();
    expect(await pushImage(c, 'twice/app', '1', image)).toEqual(['exists', 'exists', 'exists']);
    expect(proxy.count('POST')).toBe(0);
    expect(proxy.count('PATCH')).toBe(0);
    expect(proxy.count('PUT', /\/blobs\//)).toBe(0);
  });

  it('mounts blobs from another repository of the same registry instead of uploading them', async () => {
    const c = client();
    const base = memoryBlob(100_000);
    await pushImage(c, 'mount/base', '1', makeImage([base]));
    const derived = makeImage([base, memoryBlob(5000)]);
    proxy.clear();
    const results = await pushImage(c, 'mount/derived', '1', derived, { mountFrom: ['mount/base'] });
    expect(results[1]).toBe('mounted');
    const mounts = proxy.requests.filter((r) => r.method === 'POST' && r.query.get('mount') === base.digest && r.query.get('from') === 'mount/base');
    expect(mounts).toHaveLength(1);
    expect(mounts[0]!.status).toBe(201);
    // the base layer's bytes were never sent: no PUT/PATCH carried its digest
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.query.get('digest') === base.digest)).toHaveLength(0);
    expect((await readAll(c.getBlob('mount/derived', base))).equals(base.bytes)).toBe(true);
  });

  it('falls back to an upload when the mount source lacks the blob', async () => {
    const c = client();
    const blob = memoryBlob(2000);
    proxy.clear();
    expect(await c.uploadBlob('mount/other', blob, () => openBlob(blob), { mountFrom: ['mount/nothing-here'] })).toBe('uploaded');
    expect(proxy.count('POST')).toBe(1); // the mount's 202 session was reused for the upload
  });

  it('says which image does not exist', async () => {
    const c = client();
    await pushImage(c, 'known/app', '1', makeImage([memoryBlob(100)]));
    const error = await c.getManifest('known/app', '2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).message).toBe(`manifest unknown: ${proxy.host}/known/app:2 does not exist`);
    expect((error as RegistryError).code).toBe('MANIFEST_UNKNOWN');
    expect((error as RegistryError).status).toBe(404);
    expect(await c.headManifest('known/app', '2')).toBeUndefined();
    const missingRepo = await c.getManifest('nothing/here', 'latest').catch((e: unknown) => e);
    expect((missingRepo as Error).message).toBe(`manifest unknown: ${proxy.host}/nothing/here:latest does not exist`);
  });

  it('gives one clear line for an unreachable registry', async () => {
    const port = await freePort();
    const c = client({}, `127.0.0.1:${port}`);
    const error = await c.getManifest('app', 'latest').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('UNREACHABLE');
    expect((error as Error).message).toBe(`cannot reach registry 127.0.0.1:${port}: connection refused (is the registry running and the address right?)`);
    expect((error as Error).message).not.toContain('\n');
  });

  it('uses plain http for a registry that is not on loopback only when TLS verification is off', async () => {
    // 0.0.0.0 reaches the proxy on this host, but is not a loopback name: https only, unless tlsVerify is false
    const host = `0.0.0.0:${proxy.port}`;
    const strict = client({ retry: { retries: 0 } }, host);
    const error = await strict.getManifest('app', 'latest').catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('UNREACHABLE');
    expect((error as Error).message).toMatch(/^cannot reach registry 0\.0\.0\.0:\d+: .*pass --tls-verify=false$/);
    const lax = client({ tlsVerify: false }, host);
    const image = makeImage([memoryBlob(100)]);
    await pushImage(lax, 'insecure/app', '1', image);
    expect((await lax.getManifest('insecure/app', '1')).digest).toBe(image.manifestDigest);
  });

  it('goes through HTTP_PROXY for remote registries, and never for loopback ones', async () => {
    const forward = await startFaultProxy({ upstream: registry.url });
    try {
      const image = makeImage([memoryBlob(1000)]);
      const remote = client({ tlsVerify: false, env: { HTTP_PROXY: forward.url, HTTPS_PROXY: forward.url } }, 'registry.example:5000');
      await pushImage(remote, 'proxied/app', '1', image);
      expect((await remote.getManifest('proxied/app', '1')).digest).toBe(image.manifestDigest);
      expect(forward.requests.filter((r) => r.headers.host === 'registry.example:5000').length).toBeGreaterThan(3);
      forward.clear();
      const local = client({ env: { HTTP_PROXY: forward.url, HTTPS_PROXY: forward.url } }, registry.host);
      expect((await local.getManifest('proxied/app', '1')).digest).toBe(image.manifestDigest);
      expect(forward.requests).toHaveLength(0);
    } finally {
      await forward.stop();
    }
  });

  it('rejects a manifest whose bytes do not match the digest asked for', async () => {
    const c = client();
    const image = makeImage([memoryBlob(100)]);
    await pushImage(c, 'tamper/app', '1', image);
    const tampering = await startFaultProxy({ upstream: registry.url, tamper: (r) => r.method === 'GET' && r.path.includes('/manifests/') });
    try {
      const t = client({}, tampering.host);
      const error = await t.getManifest('tamper/app', image.manifestDigest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DigestMismatchError);
      const byTag = await t.getManifest('tamper/app', '1').catch((e: unknown) => e);
      expect(byTag).toBeInstanceOf(DigestMismatchError); // Docker-Content-Digest no longer matches
    } finally {
      await tampering.stop();
    }
  });

  it('rejects a tampered blob while streaming it', async () => {
    const c = client();
    const layer = memoryBlob(200_000);
    await pushImage(c, 'tamper/blob', '1', makeImage([layer]));
    const tampering = await startFaultProxy({ upstream: registry.url, tamper: (r) => r.method === 'GET' && r.path.includes('/blobs/') });
    try {
      const t = client({}, tampering.host);
      const error = await readAll(t.getBlob('tamper/blob', layer)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DigestMismatchError);
      expect((error as Error).message).toContain(layer.digest);
    } finally {
      await tampering.stop();
    }
  });

  it('refuses to upload local content that does not match its descriptor', async () => {
    const c = client();
    const blob = memoryBlob(5000);
    const wrong = { ...blob, digest: sha256Digest('something else') };
    const error = await c.uploadBlob('local/corrupt', wrong, () => openBlob(blob)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect(await c.hasBlob('local/corrupt', wrong.digest)).toBe(false);
  });

  it('resumes a blob download that breaks in the middle with a Range request', async () => {
    const c = client();
    const layer = memoryBlob(3_000_000);
    await pushImage(c, 'resume/app', '1', makeImage([layer]));
    proxy.clear();
    proxy.failNext('cut');
    const pulled = await readAll(c.getBlob('resume/app', layer));
    expect(pulled.equals(layer.bytes)).toBe(true);
    const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(layer.digest));
    expect(gets).toHaveLength(2);
    expect(gets[0]!.fault).toBe('cut');
    expect(gets[1]!.headers.range).toMatch(/^bytes=\d+-$/);
  });

  it('retries 500 and 429 answers and honours Retry-After', async () => {
    const slow = await startFaultProxy({ upstream: registry.url, retryAfter: '1' });
    try {
      const c = client({}, slow.host);
      const image = makeImage([memoryBlob(100)]);
      await pushImage(c, 'retry/app', '1', image);
      slow.failNext('error429');
      slow.failNext('error500');
      const started = Date.now();
      const fetched = await c.getManifest('retry/app', '1');
      expect(fetched.digest).toBe(image.manifestDigest);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(slow.faults).toMatchObject({ error429: 1, error500: 1 });
    } finally {
      await slow.stop();
    }
  });

  it('gives up after the retry budget with the status in the message', async () => {
    const c = client({ retry: { retries: 2, minDelayMs: 1 } });
    proxy.failNext('error500', 3);
    const error = await c.getManifest('retry/none', '1').catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('UNAVAILABLE');
    expect((error as Error).message).toMatch(/500 Internal Server Error after 3 attempts/);
  });

  it('stops at once when aborted', async () => {
    const c = client();
    const controller = new AbortController();
    controller.abort(new Error('stopped by test'));
    await expect(c.getManifest('x/y', '1', { signal: controller.signal })).rejects.toThrow('stopped by test');
  });

  it('refuses manifests over 4 MiB', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const server: Server = createServer((req, res) => {
      if (req.url === '/v2/') return void res.writeHead(200).end('{}');
      res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(big);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const c = client({}, `127.0.0.1:${(server.address() as AddressInfo).port}`);
      const error = await c.getManifest('big/app', '1').catch((e: unknown) => e);
      expect((error as RegistryError).code).toBe('TOO_LARGE');
      await expect(c.putManifest('big/app', '1', big, MediaType.ociManifest)).rejects.toThrow(/4194304-byte limit/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
