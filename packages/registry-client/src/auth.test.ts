import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../../test/helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import { memoryBlob, makeImage, pushImage, readAll } from './__fixtures__/images.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { RegistryError } from './errors.js';
import { login, logout } from './login.js';
import { RegistrySession } from './session.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';

let scratch: string;
const clients: RegistryClient[] = [];
function client(registry: TestRegistry | string, options: Partial<RegistryClientOptions> = {}): RegistryClient {
  const host = typeof registry === 'string' ? registry : registry.host;
  const made = new RegistryClient({ registry: host, env: {}, retry: { minDelayMs: 10 }, ...options });
  clients.push(made);
  return made;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tsbuild-auth-test-'));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await rm(scratch, { recursive: true, force: true });
});

describe('TLS registry with htpasswd Basic auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true, auth: 'htpasswd' });
  });
  afterAll(async () => registry?.stop());

  it('pushes and pulls with user:password and the registry CA from a cert dir', async () => {
    const c = client(registry, { creds: `${registry.username}:${registry.password}`, certDir: registry.certDir! });
    const layer = memoryBlob(50_000);
    const image = makeImage([layer]);
    await pushImage(c, 'secure/app', '1', image);
    expect((await c.getManifest('secure/app', '1')).digest).toBe(image.manifestDigest);
    expect((await readAll(c.getBlob('secure/app', layer))).equals(layer.bytes)).toBe(true);
  });

  it('asks for a login when no credentials are given', async () => {
    const c = client(registry, { certDir: registry.certDir! });
    const error = await c.getManifest('secure/app', '1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toBe(`401 Unauthorized for ${registry.host}/secure/app: run tsbuild login ${registry.host}`);
  });

  it('says the credentials were rejected, without showing the password', async () => {
    const c = client(registry, { creds: `${registry.username}:wrong-secret-123`, certDir: registry.certDir! });
    const error = await c.getManifest('secure/app', '1').catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('UNAUTHORIZED');
    expect((error as Error).message).toBe(
      `401 Unauthorized for ${registry.host}/secure/app: the registry rejected the credentials of "${registry.username}" (from --creds); check them and run tsbuild login ${registry.host}`,
    );
    expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain('wrong-secret-123');
  });

  it('refuses an untrusted certificate with a hint, and accepts it with tlsVerify false', async () => {
    const strict = client(registry, { creds: `${registry.username}:${registry.password}` });
    const error = await strict.getManifest('secure/app', '1').catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('TLS');
    expect((error as Error).message).toMatch(/^TLS certificate of 127\.0\.0\.1:\d+ is not trusted: .*--cert-dir.*--tls-verify=false$/);
    const lax = client(registry, { creds: `${registry.username}:${registry.password}`, tlsVerify: false });
    expect(await lax.hasBlob('secure/app', memoryBlob(1).digest)).toBe(false);
  });

  it('logs in (verifying the password), stores the credentials, and logs out', async () => {
    const authfile = join(scratch, 'basic-auth.json');
    await writeFile(authfile, JSON.stringify({ auths: { 'other.example': { auth: Buffer.from('a:b').toString('base64') } }, custom: 1 }));
    const bad = await login(registry.host, registry.username!, 'nope', { authfile, certDir: registry.certDir! }).catch((e: unknown) => e);
    expect((bad as Error).message).toBe(`login to ${registry.host} failed: the registry rejected user "${registry.username}" or its password`);
    expect(JSON.parse(await readFile(authfile, 'utf8')).auths[registry.host]).toBeUndefined();

    expect(await login(registry.host, registry.username!, registry.password!, { authfile, certDir: registry.certDir! })).toBe(authfile);
    const stored = JSON.parse(await readFile(authfile, 'utf8'));
    expect(Buffer.from(stored.auths[registry.host].auth, 'base64').toString()).toBe(`${registry.username}:${registry.password}`);
    expect(stored.custom).toBe(1);
    expect(stored.auths['other.example']).toBeDefined();

    const viaFile = client(registry, { authfile, certDir: registry.certDir! });
    expect(await viaFile.hasBlob('secure/app', memoryBlob(1).digest)).toBe(false);

    expect(await logout(registry.host, { authfile })).toBe(true);
    expect(await logout(registry.host, { authfile })).toBe(false);
    const after = client(registry, { authfile, certDir: registry.certDir! });
    await expect(after.hasBlob('secure/app', memoryBlob(1).digest)).rejects.toThrow(/run tsbuild login/);
  });

  it('never sends the registry credentials to another host a blob redirects to', async () => {
    const layer = memoryBlob(70_000);
    const owner = client(registry, { creds: `${registry.username}:${registry.password}`, certDir: registry.certDir! });
    await pushImage(owner, 'redirect/app', '1', makeImage([layer]));
    const seen: IncomingHttpHeaders[] = [];
    const storage: Server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-length': String(layer.size) }).end(layer.bytes);
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const storageUrl = `http://localhost:${(storage.address() as AddressInfo).port}/bucket/blob?sig=1`;
    const proxy = await startFaultProxy({ upstream: registry.url, redirect: (r) => (r.method === 'GET' && r.path.includes('/blobs/') ? storageUrl : undefined) });
    try {
      const c = client(proxy.host, { creds: `${registry.username}:${registry.password}` });
      const pulled = await readAll(c.getBlob('redirect/app', layer));
      expect(pulled.equals(layer.bytes)).toBe(true);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.authorization).toBeUndefined();
      const blobGet = proxy.requests.find((r) => r.redirected !== undefined);
      expect(blobGet?.headers.authorization).toMatch(/^Basic /);
    } finally {
      await proxy.stop();
      storage.closeAllConnections();
      await new Promise((resolve) => storage.close(resolve));
    }
  });
});

describe('registry with token auth (Bearer)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({
      auth: 'token',
      token: {
        refreshTokens: { 'identity-token-abc': 'tsbuild' },
        // "other" may only pull, and nobody may push to "locked/*"
        grant: (account, repository, actions) =>
          account === undefined ? [] : account === 'other' || repository.startsWith('locked/') ? actions.filter((a) => a === 'pull') : actions,
      },
    });
  });
  afterAll(async () => registry?.stop());

  it('pushes and pulls with tokens cached per scope', async () => {
    const server = registry.tokenServer!;
    const c = client(registry, { creds: `${registry.username}:${registry.password}` });
    const layer = memoryBlob(40_000);
    const image = makeImage([layer]);
    server.requests.length = 0;
    await pushImage(c, 'tok/app', '1', image);
    expect(await c.getManifest('tok/app', '1')).toMatchObject({ digest: image.manifestDigest });
    expect((await readAll(c.getBlob('tok/app', layer))).equals(layer.bytes)).toBe(true);
    // one token for repository:tok/app:pull,push serves the whole push and the pulls
    expect(server.requests.map((r) => r.scopes)).toEqual([['repository:tok/app:pull,push']]);
    expect(server.requests[0]!.account).toBe(registry.username);
  });

  it('asks for a login when anonymous access is refused', async () => {
    const c = client(registry);
    const error = await c.getManifest('tok/app', '1').catch((e: unknown) => e);
    expect((error as Error).message).toBe(`401 Unauthorized for ${registry.host}/tok/app: run tsbuild login ${registry.host}`);
  });

  it('reports bad credentials from the token server', async () => {
    const c = client(registry, { creds: `${registry.username}:bad-password-xyz` });
    const error = await c.getManifest('tok/app', '1').catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('UNAUTHORIZED');
    expect((error as Error).message).toBe(
      `401 Unauthorized for ${registry.host}: the token server refused the credentials of "${registry.username}" (from --creds); check them and run tsbuild login ${registry.host}`,
    );
    expect(String((error as Error).stack)).not.toContain('bad-password-xyz');
  });

  it('gets a new token when a 401 asks for more scope', async () => {
    const server = registry.tokenServer!;
    await pushImage(client(registry, { creds: `${registry.username}:${registry.password}` }), 'tok/scoped', '1', makeImage([memoryBlob(10)]));
    const session = new RegistrySession({ registry: registry.host, creds: { kind: 'basic', username: registry.username!, password: registry.password! }, env: {}, tlsVerify: true, retry: DEFAULT_RETRY_POLICY, userAgent: 'test' });
    try {
      server.requests.length = 0;
      const response = await session.send({ method: 'GET', url: '/v2/tok/scoped/tags/list', scopes: [], expect: [200], what: 'tags' });
      expect(JSON.parse(await response.body.text())).toMatchObject({ tags: ['1'] });
      expect(server.requests.map((r) => r.scopes)).toEqual([[], ['repository:tok/scoped:pull']]);
    } finally {
      await session.close();
    }
  });

  it('refreshes an expired token', async () => {
    const server = registry.tokenServer!;
    // 5 s (the client renews 0.5 s early): room for the push and the first read on a loaded machine.
    server.setExpiresIn(5);
    try {
      const c = client(registry, { creds: `${registry.username}:${registry.password}` });
      const image = makeImage([memoryBlob(10)]);
      await pushImage(c, 'tok/expiry', '1', image);
      server.requests.length = 0;
      await c.getManifest('tok/expiry', '1');
      expect(server.requests).toHaveLength(0);
      await new Promise((resolve) => setTimeout(resolve, 5100));
      await c.getManifest('tok/expiry', '1');
      expect(server.requests).toHaveLength(1);
    } finally {
      server.setExpiresIn(300);
    }
  });

  it('exchanges a Docker identity token from config.json', async () => {
    const home = join(scratch, 'identity-home');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(home, '.docker'), { recursive: true });
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('tsbuild:').toString('base64'), identitytoken: 'identity-token-abc' } } }));
    const server = registry.tokenServer!;
    server.requests.length = 0;
    const c = client(registry, { env: { HOME: home } });
    expect(await c.hasBlob('tok/app', memoryBlob(1).digest)).toBe(false);
    expect(server.requests[0]).toMatchObject({ method: 'POST', grantType: 'refresh_token', account: 'tsbuild' });
  });

  it('says when the user may not push to a repository', async () => {
    const c = client(registry, { creds: `other:${registry.users.other}` });
    const blob = memoryBlob(100);
    const { openBlob } = await import('./__fixtures__/images.js');
    const error = await c.uploadBlob('tok/readonly', blob, () => openBlob(blob)).catch((e: unknown) => e);
    expect((error as RegistryError).code).toBe('UNAUTHORIZED');
    expect((error as Error).message).toBe(`401 Unauthorized for ${registry.host}/tok/readonly: "other" may not push to it (insufficient_scope); check the repository's permissions`);
  });

  it('mounts across repositories with a token for both', async () => {
    const server = registry.tokenServer!;
    const c = client(registry, { creds: `${registry.username}:${registry.password}` });
    const base = memoryBlob(30_000);
    await pushImage(c, 'tok/base', '1', makeImage([base]));
    server.requests.length = 0;
    const results = await pushImage(c, 'tok/derived', '1', makeImage([base]), { mountFrom: ['tok/base'] });
    expect(results[1]).toBe('mounted');
    expect(server.requests.some((r) => r.scopes.includes('repository:tok/base:pull'))).toBe(true);
  });

  it('logs in against the token server', async () => {
    const authfile = join(scratch, 'token-auth.json');
    await expect(login(registry.host, 'tsbuild', 'wrong', { authfile })).rejects.toThrow(`login to ${registry.host} failed`);
    expect(await login(registry.host, registry.username!, registry.password!, { authfile })).toBe(authfile);
    const c = client(registry, { authfile });
    expect(await c.hasBlob('tok/app', memoryBlob(1).digest)).toBe(false);
  });
});
