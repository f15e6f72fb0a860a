import { createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { makeSelfSignedCertificate } from './certs.js';

/** Who may do what: returns the granted subset of `actions` on `repository`. */
export type GrantPolicy = (account: string | undefined, repository: string, actions: string[]) => string[];

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** user name → password accepted with Basic auth (default `{ tsbuild: 'tsbuild-pass' }`). */
  users?: Record<string, string>;
  /** Refresh tokens (Docker `identitytoken`s) → account, for the OAuth2 `refresh_token` grant. */
  refreshTokens?: Record<string, string>;
  /** Lifetime of issued tokens in seconds (default 300). */
  expiresIn?: number;
  /** Which field(s) carry the token in the answer (default both `token` and `access_token`). */
  tokenField?: 'token' | 'access_token' | 'both';
  /** The JWT `iss` (default `tsbuild-test-issuer`). */
  issuer?: string;
  /** The service (JWT `aud`) (default `tsbuild-test-registry`). */
  service?: string;
  /** Access policy; default: any authenticated user gets what it asks for, anonymous users get nothing. */
  grant?: GrantPolicy;
}

/** One request the token server answered. */
export interface TokenRequestRecord {
  method: string;
  account: string | undefined;
  scopes: string[];
  status: number;
  grantType?: string;
}

/** A running token issuer. */
export interface TokenServer {
  /** The realm URL, e.g. `http://127.0.0.1:40123/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** The signing certificate (PEM) the registry must trust (`rootcertbundle`). */
  certFile: string;
  /** Every request answered, in order. */
  requests: TokenRequestRecord[];
  /** Changes the lifetime of tokens issued from now on. */
  setExpiresIn(seconds: number): void;
  stop(): Promise<void>;
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts a small token issuer for distribution's `auth: token` on 127.0.0.1: `GET /token?service=&scope=` with
 * optional Basic credentials, and `POST /token` with the OAuth2 `password`/`refresh_token` grants. It signs RS256 JWTs
 * with a self-signed certificate (made with `openssl` in `dir`) that it names in the `x5c` header, so a registry whose
 * `rootcertbundle` is {@link TokenServer.certFile} accepts them.
 */
export async function startTokenServer(dir: string, options: TokenServerOptions = {}): Promise<TokenServer> {
  const { certFile, keyFile } = await makeSelfSignedCertificate(dir, 'token-signer', 'tsbuild-test-token-signer');
  const key: KeyObject = createPrivateKey(await readFile(keyFile));
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');
  const users = options.users ?? { tsbuild: 'tsbuild-pass' };
  const issuer = options.issuer ?? 'tsbuild-test-issuer';
  const service = options.service ?? 'tsbuild-test-registry';
  const grant: GrantPolicy = options.grant ?? ((account, _repository, actions) => (account === undefined ? [] : actions));
  let expiresIn = options.expiresIn ?? 300;
  const requests: TokenRequestRecord[] = [];

  const issue = (account: string | undefined, scopes: string[]): string => {
    const access = scopes.flatMap((scope) => {
      const parsed = parseScope(scope);
      if (!parsed) return [];
      const actions = parsed.type === 'repository' ? grant(account, parsed.name, parsed.actions) : [];
      return actions.length > 0 ? [{ type: parsed.type, name: parsed.name, actions }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = { iss: issuer, sub: account ?? '', aud: service, exp: now + expiresIn, nbf: now - 1, iat: now, jti: randomUUID(), access };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    return `${input}.${base64url(sign('sha256', Buffer.from(input), key))}`;
  };

  const answer = (res: ServerResponse, record: TokenRequestRecord, account: string | undefined, scopes: string[]): void => {
    const token = issue(account, scopes);
    const body: Record<string, unknown> = { expires_in: expiresIn, issued_at: new Date().toISOString() };
    const field = options.tokenField ?? 'both';
    if (field !== 'access_token') body.token = token;
    if (field !== 'token') body.access_token = token;
    record.status = 200;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const deny = (res: ServerResponse, record: TokenRequestRecord, status = 401): void => {
    record.status = status;
    res.writeHead(status, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="tsbuild-test"' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const record: TokenRequestRecord = { method: req.method ?? 'GET', account: undefined, scopes: [], status: 0 };
    requests.push(record);
    if (url.pathname !== '/token') {
      record.status = 404;
      res.writeHead(404).end();
      return;
    }
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      record.grantType = form.get('grant_type') ?? undefined;
      record.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      if (form.get('service') !== service) return deny(res, record, 400);
      let account: string | undefined;
      if (record.grantType === 'refresh_token') account = options.refreshTokens?.[form.get('refresh_token') ?? ''];
      if (record.grantType === 'password') {
        const user = form.get('username') ?? '';
        if (users[user] !== undefined && users[user] === form.get('password')) account = user;
      }
      record.account = account;
      if (account === undefined) return deny(res, record);
      return answer(res, record, account, record.scopes);
    }
    record.scopes = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' ')).filter(Boolean);
    if (url.searchParams.get('service') !== service) return deny(res, record, 400);
    const authorization = req.headers.authorization;
    let account: string | undefined;
    if (authorization !== undefined) {
      const match = /^Basic\s+(.+)$/i.exec(authorization);
      const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      if (colon <= 0 || users[user] === undefined || users[user] !== decoded.slice(colon + 1)) return deny(res, record);
      account = user;
    }
    record.account = account;
    answer(res, record, account, record.scopes);
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    setExpiresIn(seconds: number): void {
      expiresIn = seconds;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
