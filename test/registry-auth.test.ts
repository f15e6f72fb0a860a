import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxImage, type BusyboxImage } from './helpers/busybox.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { run, tsbuild, TSBUILD_BIN, type RunOptions, type RunResult } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

describe.each([
  { mode: 'htpasswd over TLS', options: { tls: true, auth: 'htpasswd' as const } },
  { mode: 'token', options: { auth: 'token' as const } },
])('tsbuild login, logout, push and pull: $mode registry', ({ options }) => {
  let work: string;
  let cleanup: () => Promise<void>;
  let busybox: BusyboxImage;
  let registry: TestRegistry;
  let root: string;
  let authfile: string;
  let env: RunOptions['env'];
  const outputs: RunResult[] = [];

  /** Runs tsbuild with an isolated HOME and the registry's CA directory; keeps every output to check for secrets. */
  async function cli(args: string[], input?: string, store = root): Promise<RunResult> {
    const certArgs = registry.certDir !== undefined && args[0] !== 'logout' ? ['--cert-dir', registry.certDir] : [];
    const result = await tsbuild(store, [...args, ...certArgs], { env, ...(input !== undefined ? { input } : {}) });
    outputs.push(result);
    return result;
  }

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir('tsbuild-registry-auth-'));
    [busybox, registry] = await Promise.all([makeBusyboxImage(join(work, 'busybox')), startRegistry(options)]);
    root = join(work, 'store');
    authfile = join(work, 'auth.json');
    env = { HOME: join(work, 'home'), REGISTRY_AUTH_FILE: undefined, XDG_RUNTIME_DIR: undefined, DOCKER_CONFIG: undefined };
    expect((await tsbuild(root, ['load', '-i', busybox.ociArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await registry?.stop();
    await cleanup?.();
  });

  it('refuses a push without credentials and with bad ones, in one line that says what to do', async () => {
    const anonymous = await cli(['push', 'busybox', `${registry.host}/auth/busybox:1`, '--authfile', authfile]);
    expect(anonymous.code).toBe(1);
    expect(lines(anonymous.stderr)).toEqual([expect.stringMatching(new RegExp(`^Error: .*401 Unauthorized .*run tsbuild login ${registry.host.replace(/\./g, '\\.')}$`))]);

    const bad = await cli(['push', 'busybox', `${registry.host}/auth/busybox:1`, '--creds', 'tsbuild:wrong-secret']);
    expect(bad.code).toBe(1);
    expect(lines(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toMatch(/^Error: .*(401|rejected)/);
    expect(bad.stderr).toContain('"tsbuild"');
    expect(bad.stderr).not.toContain('wrong-secret');
  });

  it('login with a wrong password fails and stores nothing', async () => {
    const result = await cli(['login', registry.host, '-u', 'tsbuild', '--password-stdin', '--authfile', authfile], 'not-the-password\n');
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`^Error: login to ${registry.host.replace(/\./g, '\\.')} failed: the registry rejected user "tsbuild"`))]);
    await expect(readFile(authfile, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('login stores the credentials; push and pull use them; logout removes them', async () => {
    const login = await cli(['login', registry.host, '-u', 'tsbuild', '--password-stdin', '--authfile', authfile], `${registry.password!}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('Login Succeeded!\n');
    const stored = JSON.parse(await readFile(authfile, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(stored.auths[registry.host]!.auth, 'base64').toString()).toBe(`tsbuild:${registry.password!}`);

    const push = await cli(['push', 'busybox', `${registry.host}/auth/busybox:1`, '--authfile', authfile]);
    expect(push.code, push.stderr).toBe(0);
    const digest = push.stdout.trim();
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const pull = await cli(['pull', `${registry.host}/auth/busybox:1`, '--authfile', authfile], undefined, join(work, 'pulled'));
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toBe(`${registry.host}/auth/busybox:1@${digest}\n`);

    // --creds works without a stored login
    const withCreds = await cli(['pull', `${registry.host}/auth/busybox:1`, '--creds', `tsbuild:${registry.password!}`], undefined, join(work, 'pulled-creds'));
    expect(withCreds.code, withCreds.stderr).toBe(0);

    const logout = await cli(['logout', registry.host, '--authfile', authfile]);
    expect(logout.stdout).toBe(`Removed login credentials for ${registry.host}\n`);
    const stored2 = JSON.parse(await readFile(authfile, 'utf8')) as { auths: Record<string, unknown> };
    expect(stored2.auths[registry.host]).toBeUndefined();
    expect((await cli(['logout', registry.host, '--authfile', authfile])).stdout).toBe(`Not logged in to ${registry.host}\n`);
    const after = await cli(['pull', `${registry.host}/auth/busybox:1`, '--authfile', authfile], undefined, join(work, 'pulled-after'));
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/401 Unauthorized/);
  });

  it('without --authfile, login writes ~/.docker/config.json, which pull reads and logout cleans', async () => {
    const login = await cli(['login', `https://${registry.host}/`, '-u', 'tsbuild', '--password-stdin'], `${registry.password!}\n`);
    expect(login.code, login.stderr).toBe(0);
    const config = join(work, 'home', '.docker', 'config.json');
    expect(Object.keys((JSON.parse(await readFile(config, 'utf8')) as { auths: object }).auths)).toEqual([registry.host]);
    const pull = await cli(['pull', `${registry.host}/auth/busybox:1`], undefined, join(work, 'pulled-default'));
    expect(pull.code, pull.stderr).toBe(0);
    expect((await cli(['logout', registry.host])).stdout).toBe(`Removed login credentials for ${registry.host}\n`);
  });

  it('never prints a password', () => {
    expect(outputs.length).toBeGreaterThan(5);
    for (const output of outputs) {
      expect(output.stdout + output.stderr).not.toContain(registry.password!);
      expect(output.stdout + output.stderr).not.toContain(Buffer.from(`tsbuild:${registry.password!}`).toString('base64'));
    }
  });
});

describe('tsbuild against a TLS registry without its CA', () => {
  it('fails in one line that says how to trust it', async () => {
    const { dir, cleanup } = await makeTempDir('tsbuild-registry-tls-');
    const registry = await startRegistry({ tls: true });
    try {
      const result = await tsbuild(join(dir, 'store'), ['pull', `${registry.host}/app:1`], { env: { NODE_EXTRA_CA_CERTS: undefined } });
      expect(result.code).toBe(1);
      expect(lines(result.stderr)).toEqual([expect.stringMatching(/^Error: TLS certificate of 127\.0\.0\.1:\d+ is not trusted: .*pass --cert-dir/)]);
      const trusted = await tsbuild(join(dir, 'store'), ['pull', `${registry.host}/app:1`, '--cert-dir', registry.certDir!]);
      expect(lines(trusted.stderr)).toEqual([`Error: manifest unknown: ${registry.host}/app:1 does not exist`]);
    } finally {
      await registry.stop();
      await cleanup();
    }
  });

  it('trusts the CAs named by NODE_EXTRA_CA_CERTS, which the launcher has Node skip at start and loads only for a registry', async () => {
    const { dir, cleanup } = await makeTempDir('tsbuild-registry-tls-');
    const registry = await startRegistry({ tls: true });
    try {
      const trusted = await tsbuild(join(dir, 'store'), ['pull', `${registry.host}/app:1`], { env: { NODE_EXTRA_CA_CERTS: registry.caFile! } });
      expect(lines(trusted.stderr)).toEqual([`Error: manifest unknown: ${registry.host}/app:1 does not exist`]);
      // Node warns at start about a NODE_EXTRA_CA_CERTS it cannot read: through the launcher it never tries.
      const env = { NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') };
      expect((await run(process.execPath, [join(dirname(TSBUILD_BIN), 'tsbuild.cjs'), '--version'], { env })).stderr).toMatch(/extra certs/i);
      const launched = await run(TSBUILD_BIN, ['--version'], { env });
      expect([launched.code, launched.stderr]).toEqual([0, '']);
    } finally {
      await registry.stop();
      await cleanup();
    }
  });
});
