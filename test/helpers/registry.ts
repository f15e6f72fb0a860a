import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile, copyFile, open } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeSelfSignedCertificate } from './certs.js';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.js';

const run = promisify(execFile);

/** The registry binary Debian's `docker-registry` package installs. */
export const REGISTRY_BINARY = '/usr/bin/docker-registry';

/** How clients authenticate to a test registry. */
export type RegistryAuthMode = 'none' | 'htpasswd' | 'token';

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  /** Serve https with a self-signed certificate for localhost and 127.0.0.1 (default false). */
  tls?: boolean;
  /** `none` (default), `htpasswd` (Basic, bcrypt), or `token` (Bearer via a {@link TokenServer}). */
  auth?: RegistryAuthMode;
  /** user → password for htpasswd and token modes (default `{ tsbuild: 'tsbuild-pass', other: 'other-pass' }`). */
  users?: Record<string, string>;
  /** Token server options (token mode). */
  token?: Omit<TokenServerOptions, 'users'>;
  /** Answer blob GETs with relative Location headers etc.: distribution's `http.relativeurls` (default false). */
  relativeUrls?: boolean;
}

/** A running `docker-registry` on 127.0.0.1. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`, as in image references. */
  host: string;
  port: number;
  /** `http(s)://127.0.0.1:PORT`. */
  url: string;
  tls: boolean;
  auth: RegistryAuthMode;
  users: Record<string, string>;
  /** The first user and its password (htpasswd and token modes). */
  username?: string;
  password?: string;
  /** With TLS: a directory holding the CA as `ca.crt` (for `--cert-dir`). */
  certDir?: string;
  /** With TLS: the CA certificate file (PEM). */
  caFile?: string;
  /** Token mode: the token issuer. */
  tokenServer?: TokenServer;
  /** The registry's storage directory. */
  dataDir: string;
  /** The registry's stdout/stderr so far. */
  log(): Promise<string>;
  /** Stops the registry (and token server) and removes its files. */
  stop(): Promise<void>;
}

/** The default users of auth modes. */
export const DEFAULT_USERS: Readonly<Record<string, string>> = { tsbuild: 'tsbuild-pass', other: 'other-pass' };

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function configYaml(options: { dataDir: string; port: number; tls?: { cert: string; key: string }; auth: string; relativeUrls: boolean }): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${options.dataDir}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${options.port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    `  relativeurls: ${options.relativeUrls}`,
    ...(options.tls ? ['  tls:', `    certificate: ${options.tls.cert}`, `    key: ${options.tls.key}`] : []),
    options.auth,
    '',
  ].join('\n');
}

/**
 * Starts Debian's `docker-registry` (distribution 2.8) on a free port of 127.0.0.1 with its config and storage in a
 * fresh temporary directory, and waits until `/v2/` answers. Modes: plain http; TLS with a self-signed certificate
 * (made with `openssl`); Basic auth from an htpasswd file (bcrypt, made with `htpasswd -Bbn` from apache2-utils);
 * token auth with a {@link TokenServer} whose signing certificate is the registry's `rootcertbundle`.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const tls = options.tls ?? false;
  const users = options.users ?? { ...DEFAULT_USERS };
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  const dataDir = join(root, 'data');
  await mkdir(dataDir);
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  const logFile = join(root, 'registry.log');
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await tokenServer?.stop();
    await rm(root, { recursive: true, force: true });
  };
  try {
    let tlsFiles: { cert: string; key: string } | undefined;
    let certDir: string | undefined;
    let caFile: string | undefined;
    if (tls) {
      const cert = await makeSelfSignedCertificate(root, 'registry');
      tlsFiles = { cert: cert.certFile, key: cert.keyFile };
      certDir = join(root, 'certs.d');
      await mkdir(certDir);
      caFile = join(certDir, 'ca.crt');
      await copyFile(cert.certFile, caFile);
    }
    let authYaml = '';
    if (auth === 'htpasswd') {
      const lines: string[] = [];
      for (const [user, password] of Object.entries(users)) {
        const { stdout } = await run('htpasswd', ['-Bbn', user, password]);
        lines.push(stdout.trim());
      }
      const htpasswdFile = join(root, 'htpasswd');
      await writeFile(htpasswdFile, `${lines.join('\n')}\n`);
      authYaml = ['auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${htpasswdFile}`].join('\n');
    } else if (auth === 'token') {
      tokenServer = await startTokenServer(root, { ...options.token, users });
      authYaml = [
        'auth:',
        '  token:',
        `    realm: ${tokenServer.realm}`,
        `    service: ${tokenServer.service}`,
        `    issuer: ${tokenServer.issuer}`,
        `    rootcertbundle: ${tokenServer.certFile}`,
      ].join('\n');
    }
    const first = Object.entries(users)[0];
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const configFile = join(root, 'config.yml');
      await writeFile(configFile, configYaml({ dataDir, port, ...(tlsFiles ? { tls: tlsFiles } : {}), auth: authYaml, relativeUrls: options.relativeUrls ?? false }));
      const log = await open(logFile, 'a');
      child = spawn(REGISTRY_BINARY, ['serve', configFile], { stdio: ['ignore', log.fd, log.fd] });
      await log.close();
      const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      let up = false;
      while (Date.now() < deadline && child.exitCode === null) {
        const status = await probe(`${url}/v2/`);
        if (status === 200 || status === 401) {
          up = true;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (up) {
        return {
          host: `127.0.0.1:${port}`,
          port,
          url,
          tls,
          auth,
          users,
          ...(auth !== 'none' && first ? { username: first[0], password: first[1] } : {}),
          ...(certDir ? { certDir } : {}),
          ...(caFile ? { caFile } : {}),
          ...(tokenServer ? { tokenServer } : {}),
          dataDir,
          log: () => readFile(logFile, 'utf8'),
          stop,
        };
      }
      child.kill('SIGKILL');
      if (attempt >= 2) throw new Error(`docker-registry did not come up on ${url}:\n${await readFile(logFile, 'utf8')}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
