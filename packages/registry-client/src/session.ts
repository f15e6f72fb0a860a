import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { parseChallenges, type AuthChallenge } from './challenge.js';
import { findCredentials, type CredentialOptions, type FoundCredentials } from './credentials.js';
import { parseErrorBody, RegistryError } from './errors.js';
import { apiHost, isLoopbackRegistry } from './registry-host.js';
import { errorCode, isRetryableNetworkError, isRetryableStatus, RetryBudget, type RetryPolicy } from './retry.js';
import { mergeScopes, scopeAtoms, scopesCover } from './scope.js';
import { caBundle, isCertificateError, loadCertDir, systemCertDirs, type TlsMaterial } from './tls.js';
import { fetchBearerToken, type BearerToken, type RawRequest } from './token.js';

/** How a {@link RegistrySession} reaches and authenticates to one registry. */
export interface SessionOptions extends CredentialOptions {
  /** `host[:port]` as in image references (`docker.io` is reached at `registry-1.docker.io`). */
  registry: string;
  /** Verify TLS certificates, and use plain http only for loopback registries (default true). */
  tlsVerify: boolean;
  /** A certs.d-style directory with extra CAs and a client certificate. */
  certDir?: string;
  retry: RetryPolicy;
  userAgent: string;
  /** Connections per origin (default 16). */
  maxConnections?: number;
}

/** The body of a request: bytes (replayable), a stream (sent once), or a function that opens a stream (called again for a retry). */
export type RequestBody = Buffer | string | Readable | (() => Readable | Promise<Readable>);

/** One registry API call for {@link RegistrySession.send}. */
export interface SessionRequest {
  method: Dispatcher.HttpMethod;
  /** A path (`/v2/...`) on the registry, or an absolute URL (an upload `Location`). */
  url: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Token scopes the call needs, e.g. `repository:app:pull`. */
  scopes: readonly string[];
  /** The repository, for error messages. */
  repository?: string;
  /** Statuses returned to the caller; any other one becomes a {@link RegistryError}. */
  expect: readonly number[];
  /** Follow redirects (GET/HEAD of blobs), never sending credentials to another origin. */
  followRedirects?: boolean;
  /** Retry transient failures (default: yes unless the body is a stream factory that cannot be reopened). */
  retry?: boolean;
  /** Names the thing in error messages, e.g. `manifest localhost:5000/app:1`. */
  what: string;
  signal?: AbortSignal;
  /**
   * Sends each attempt this way instead of on the session's own connections (auth, redirects and retries stay the
   * session's): a worker thread that streams a blob body straight into a file.
   */
  transport?: RawRequest;
}

/**
 * How the session connects, as plain data a worker thread can rebuild its own undici dispatcher from (with the same
 * TLS material and proxy settings): `new Agent(options)` or `new EnvHttpProxyAgent(options)`.
 */
export interface DispatcherProfile {
  /** Names these settings: equal settings, equal keys (a worker keeps one dispatcher per key). */
  readonly key: string;
  /** The file to `require()` undici from. */
  readonly undici: string;
  readonly kind: 'agent' | 'env-proxy';
  /** The dispatcher's options, but the secure context (not plain data): see {@link dispatcherOptions}. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Extra TLS material (CA bundle, client certificate) for one secure context shared by every connection. */
  readonly tls?: { readonly ca?: readonly string[]; readonly cert?: string; readonly key?: string | undefined };
}

/**
 * The options to make a profile's dispatcher with: its `options`, with one secure context made from its `tls` in
 * `connect` (and `requestTls` for a proxy), since given `ca` alone each new TLS socket would parse the whole bundle
 * again. The pull workers do the same in their own source (hash-write-worker.ts): keep them alike.
 */
export function dispatcherOptions(profile: DispatcherProfile): Record<string, unknown> {
  const options: Record<string, unknown> = { ...profile.options };
  if (profile.tls === undefined) return options;
  const secureContext = createSecureContext({ ...profile.tls, ca: profile.tls.ca === undefined ? undefined : [...profile.tls.ca] });
  options.connect = { ...(options.connect as object), secureContext };
  if (options.requestTls !== undefined) options.requestTls = { ...(options.requestTls as object), secureContext };
  return options;
}

/** A response the caller asked for; its body must be consumed or dumped. */
export interface SessionResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: URL;
}

interface Endpoint {
  origin: URL;
  challenge: AuthChallenge | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  409: 'Conflict', 413: 'Payload Too Large', 416: 'Range Not Satisfiable', 429: 'Too Many Requests', 500: 'Internal Server Error',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** First header value as a string. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads at most `limit` bytes of a body as text, discarding the rest. */
export async function readBodyText(body: Dispatcher.ResponseData['body'], limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (size < limit) chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // the text only decorates an error message
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}

function describeNetworkError(error: unknown): string {
  const code = errorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the registry running and the address right?)';
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return 'host not found';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    default:
      return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'network error';
  }
}

/**
 * The HTTP layer of the registry client for one registry: it finds the scheme (https, or http for loopback and
 * `tlsVerify: false`), pings `/v2/` once for the auth challenge, adds Basic or Bearer auth (tokens cached per scope,
 * refreshed on expiry or when a 401 asks for more), retries transient failures with backoff, follows redirects without
 * leaking credentials, and turns failures into {@link RegistryError}s.
 */
export class RegistrySession {
  /** The registry as named in references, e.g. `localhost:5000`. */
  readonly registry: string;
  private readonly options: SessionOptions;
  private dispatcherPromise: Promise<Dispatcher> | undefined;
  private profilePromise: Promise<DispatcherProfile> | undefined;
  private endpointPromise: Promise<Endpoint> | undefined;
  private credentialsPromise: Promise<FoundCredentials | undefined> | undefined;
  private tokens: Array<BearerToken & { atoms: Set<string> }> = [];
  private readonly tokenFetches = new Map<string, Promise<BearerToken & { atoms: Set<string> }>>();
  private sentCredentials = false;

  constructor(options: SessionOptions) {
    this.options = options;
    this.registry = options.registry;
  }

  /** The retry policy in force. */
  get retryPolicy(): RetryPolicy {
    return this.options.retry;
  }

  private dispatcher(): Promise<Dispatcher> {
    this.dispatcherPromise ??= this.profile().then((profile) => {
      const options = dispatcherOptions(profile);
      return profile.kind === 'env-proxy' ? new EnvHttpProxyAgent(options as EnvHttpProxyAgent.Options) : new Agent(options as Agent.Options);
    });
    return this.dispatcherPromise;
  }

  /** How this session connects (TLS material, proxies), for a worker thread that makes its own connections. */
  profile(): Promise<DispatcherProfile> {
    this.profilePromise ??= this.createProfile();
    return this.profilePromise;
  }

  private async createProfile(): Promise<DispatcherProfile> {
    const host = apiHost(this.registry);
    const material: TlsMaterial = { ca: [] };
    const dirs = this.options.certDir !== undefined ? [this.options.certDir] : systemCertDirs(host);
    for (const dir of dirs) {
      const found = await loadCertDir(dir);
      material.ca.push(...found.ca);
      if (found.cert !== undefined && material.cert === undefined) {
        material.cert = found.cert;
        material.key = found.key;
      }
    }
    const env = this.options.env ?? process.env;
    const ca = await caBundle(material.ca, env);
    const tls = {
      ...(ca ? { ca } : {}),
      ...(material.cert !== undefined ? { cert: material.cert, key: material.key } : {}),
    };
    const connect = { rejectUnauthorized: this.options.tlsVerify };
    const common = { connect, connections: this.options.maxConnections ?? 16, keepAliveTimeout: 10_000 };
    const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy;
    const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
    let kind: DispatcherProfile['kind'] = 'agent';
    let options: Record<string, unknown> = common;
    // like Go's ProxyFromEnvironment, never send loopback traffic through a proxy
    if ((httpsProxy || httpProxy) && !isLoopbackRegistry(host)) {
      kind = 'env-proxy';
      options = {
        ...common,
        requestTls: connect,
        // plain-http registries get ordinary absolute-URI proxy requests; https ones a CONNECT tunnel
        proxyTunnel: false,
        ...(httpProxy ? { httpProxy } : {}),
        ...(httpsProxy ? { httpsProxy } : {}),
        noProxy: env.NO_PROXY ?? env.no_proxy ?? '',
      };
    }
    const withTls = Object.keys(tls).length > 0 ? { tls } : {};
    const key = createHash('sha256').update(JSON.stringify([kind, options, tls])).digest('hex').slice(0, 32);
    return { key, undici: createRequire(import.meta.url).resolve('undici'), kind, options, ...withTls };
  }

  private readonly raw: RawRequest = async (url, init) => {
    const dispatcher = await this.dispatcher();
    return request(url, {
      dispatcher,
      method: init.method,
      headers: init.headers,
      body: init.body ?? null,
      signal: init.signal ?? null,
      highWaterMark: 1024 * 1024,
    });
  };

  /** Releases the connections. */
  async close(): Promise<void> {
    if (this.dispatcherPromise) await (await this.dispatcherPromise).close();
  }

  /** The credentials in use (looked up once), and where they came from. */
  credentials(): Promise<FoundCredentials | undefined> {
    this.credentialsPromise ??= findCredentials(this.registry, this.options);
    return this.credentialsPromise;
  }

  /** Pings the registry once: scheme and auth challenge. A failed ping is tried again on the next call. */
  endpoint(signal?: AbortSignal): Promise<Endpoint> {
    if (!this.endpointPromise) {
      this.endpointPromise = this.ping(signal);
      this.endpointPromise.catch(() => {
        this.endpointPromise = undefined;
      });
    }
    return this.endpointPromise;
  }

  private async ping(signal?: AbortSignal): Promise<Endpoint> {
    const host = apiHost(this.registry);
    const schemes = isLoopbackRegistry(host) || !this.options.tlsVerify ? ['https', 'http'] : ['https'];
    let firstError: unknown;
    for (const [index, scheme] of schemes.entries()) {
      const origin = new URL(`${scheme}://${host}/`);
      const last = index === schemes.length - 1;
      const budget = new RetryBudget(this.options.retry);
      for (;;) {
        let response: Dispatcher.ResponseData;
        try {
          response = await this.raw(new URL('/v2/', origin), { method: 'GET', headers: { 'user-agent': this.options.userAgent }, ...(signal ? { signal } : {}) });
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          if (scheme === 'https' && this.options.tlsVerify && isCertificateError(err)) {
            throw new RegistryError(
              'TLS',
              `TLS certificate of ${this.registry} is not trusted: ${describeNetworkError(err)}; pass --cert-dir with its CA (or set NODE_EXTRA_CA_CERTS), or --tls-verify=false`,
              { registry: this.registry, cause: err },
            );
          }
          firstError ??= err;
          if (!last) break;
          if (isRetryableNetworkError(err) && (await budget.next(signal))) continue;
          const reported = errorCode(firstError) === 'ECONNREFUSED' || errorCode(firstError) === 'ENOTFOUND' ? firstError : err;
          const plainHttpHint = schemes.length === 1 && /EPROTO|WRONG_VERSION/.test(errorCode(err) ?? '') ? '; if it serves plain http, pass --tls-verify=false' : '';
          throw new RegistryError('UNREACHABLE', `cannot reach registry ${this.registry}: ${describeNetworkError(reported)}${plainHttpHint}`, { registry: this.registry, cause: reported });
        }
        const status = response.statusCode;
        const challenges = parseChallenges(response.headers['www-authenticate']);
        await response.body.dump();
        if (isRetryableStatus(status)) {
          const retryAfter = headerValue(response.headers, 'retry-after');
          if (await budget.next(signal, retryAfter)) continue;
          throw new RegistryError('UNAVAILABLE', `registry ${this.registry} answered ${status} ${STATUS_TEXT[status] ?? ''} to every attempt`.trimEnd(), { registry: this.registry, status });
        }
        return { origin, challenge: status === 401 ? pickChallenge(challenges) : undefined };
      }
    }
    throw new RegistryError('UNREACHABLE', `cannot reach registry ${this.registry}`, { registry: this.registry });
  }

  /** The Authorization header for a request on the registry's origin, if any. */
  private async authorization(endpoint: Endpoint, scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    const challenge = endpoint.challenge;
    if (challenge === undefined) return undefined;
    const found = await this.credentials();
    if (challenge.scheme === 'basic') {
      if (found?.credentials.kind !== 'basic') return undefined;
      this.sentCredentials = true;
      const { username, password } = found.credentials;
      return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    }
    if (challenge.scheme !== 'bearer') return undefined;
    const token = await this.bearerToken(endpoint, challenge, scopes, signal);
    if (found) this.sentCredentials = true;
    return `Bearer ${token.token}`;
  }

  private async bearerToken(endpoint: Endpoint, challenge: AuthChallenge, scopes: readonly string[], signal?: AbortSignal): Promise<BearerToken> {
    const now = Date.now();
    this.tokens = this.tokens.filter((token) => token.expiresAt > now);
    const cached = this.tokens.find((token) => scopesCover(token.atoms, scopes));
    if (cached) return cached;
    const wanted = mergeScopes(scopes);
    const key = `${challenge.params.realm ?? ''} ${wanted.join(' ')}`;
    let pending = this.tokenFetches.get(key);
    if (!pending) {
      pending = (async () => {
        const found = await this.credentials();
        const token = await fetchBearerToken(this.raw, challenge, {
          registry: this.registry,
          registryOrigin: endpoint.origin,
          scopes: wanted,
          credentials: found?.credentials,
          ...(found ? { credentialSource: found.source } : {}),
          policy: this.options.retry,
          userAgent: this.options.userAgent,
          ...(signal ? { signal } : {}),
        });
        const entry = { ...token, atoms: scopeAtoms(wanted) };
        this.tokens.push(entry);
        return entry;
      })();
      this.tokenFetches.set(key, pending);
      const cleanup = (): void => {
        this.tokenFetches.delete(key);
      };
      pending.then(cleanup, cleanup);
    }
    return pending;
  }

  /**
   * Reacts to a 401: learns the challenge (realm may change; `scope` may ask for more), drops the tokens that were
   * refused, and returns the scopes to retry with, or undefined when a retry cannot help.
   */
  private async onUnauthorized(endpoint: Endpoint, header: string | string[] | undefined, scopes: readonly string[]): Promise<string[] | undefined> {
    const challenge = pickChallenge(parseChallenges(header));
    if (challenge === undefined) return undefined;
    const hadChallenge = endpoint.challenge;
    endpoint.challenge = challenge;
    if (challenge.scheme === 'bearer') {
      const more = challenge.params.scope ? [challenge.params.scope] : [];
      const retryScopes = mergeScopes([...scopes, ...more]);
      this.tokens = this.tokens.filter((token) => !scopesCover(token.atoms, scopes));
      return retryScopes;
    }
    if (challenge.scheme === 'basic') {
      const found = await this.credentials();
      return found?.credentials.kind === 'basic' && hadChallenge?.scheme !== 'basic' ? [...scopes] : undefined;
    }
    return undefined;
  }

  /** Sends a request with auth, retries and redirects. */
  async send(req: SessionRequest): Promise<SessionResponse> {
    const { signal } = req;
    const endpoint = await this.endpoint(signal);
    const replayable = req.retry ?? !(req.body !== undefined && typeof req.body === 'object' && !Buffer.isBuffer(req.body));
    const budget = new RetryBudget(this.options.retry);
    let url = new URL(req.url, endpoint.origin);
    let scopes: readonly string[] = req.scopes;
    let authRetried = false;
    let redirects = 0;
    for (;;) {
      const sameOrigin = url.origin === endpoint.origin.origin;
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent, ...req.headers };
      if (sameOrigin) {
        const authorization = await this.authorization(endpoint, scopes, signal);
        if (authorization) headers.authorization = authorization;
      }
      const body = typeof req.body === 'function' ? await req.body() : req.body;
      let response: Dispatcher.ResponseData;
      try {
        response = await (req.transport ?? this.raw)(url, { method: req.method, headers, ...(signal ? { signal } : {}), ...(body !== undefined ? { body } : {}) });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (err instanceof RegistryError) throw err;
        if (isRetryableNetworkError(err)) {
          if (replayable && (await budget.next(signal))) continue;
          throw new RegistryError('UNAVAILABLE', `${req.what}: ${req.method} failed: ${describeNetworkError(err)}${budget.attempts > 0 ? ` (after ${budget.attempts + 1} attempts)` : ''}`, this.context(req, undefined, err));
        }
        throw new RegistryError('UNREACHABLE', `${req.what}: cannot reach registry ${this.registry}: ${describeNetworkError(err)}`, this.context(req, undefined, err));
      }
      const status = response.statusCode;
      if (status === 401 && sameOrigin && !authRetried && !req.expect.includes(401)) {
        authRetried = true;
        await response.body.dump();
        const retryScopes = await this.onUnauthorized(endpoint, response.headers['www-authenticate'], scopes);
        if (retryScopes !== undefined && replayable) {
          scopes = retryScopes;
          continue;
        }
        throw await this.unauthorized(req, response.headers['www-authenticate']);
      }
      if (req.followRedirects && REDIRECTS.has(status) && headerValue(response.headers, 'location')) {
        await response.body.dump();
        if (++redirects > MAX_REDIRECTS) throw new RegistryError('PROTOCOL', `${req.what}: too many redirects`, this.context(req, status));
        url = new URL(headerValue(response.headers, 'location')!, url);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RegistryError('PROTOCOL', `${req.what}: redirect to unsupported URL scheme ${url.protocol}`, this.context(req, status));
        continue;
      }
      if (req.expect.includes(status)) return { status, headers: response.headers, body: response.body, url };
      if (status === 401) {
        await response.body.dump();
        throw await this.unauthorized(req, response.headers['www-authenticate']);
      }
      const text = await readBodyText(response.body);
      if (isRetryableStatus(status) && replayable && (await budget.next(signal, headerValue(response.headers, 'retry-after')))) continue;
      throw this.statusError(req, status, text, budget.attempts);
    }
  }

  private context(req: SessionRequest, status?: number, cause?: unknown): { registry: string; repository?: string; status?: number; cause?: unknown } {
    return {
      registry: this.registry,
      ...(req.repository !== undefined ? { repository: req.repository } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(cause !== undefined ? { cause } : {}),
    };
  }

  private async unauthorized(req: SessionRequest, header: string | string[] | undefined): Promise<RegistryError> {
    const target = req.repository !== undefined ? `${this.registry}/${req.repository}` : this.registry;
    const challenge = pickChallenge(parseChallenges(header));
    const found = await this.credentials();
    let message: string;
    if (challenge?.params.error === 'insufficient_scope' && found) {
      message = `401 Unauthorized for ${target}: "${userOf(found)}" may not ${scopeVerb(challenge.params.scope)} it (insufficient_scope); check the repository's permissions`;
    } else if (!found || !this.sentCredentials) {
      message = `401 Unauthorized for ${target}: run tsbuild login ${this.registry}`;
    } else {
      message = `401 Unauthorized for ${target}: the registry rejected the credentials of "${userOf(found)}" (from ${found.source}); check them and run tsbuild login ${this.registry}`;
    }
    return new RegistryError('UNAUTHORIZED', message, this.context(req, 401));
  }

  private statusError(req: SessionRequest, status: number, text: string, retries: number): RegistryError {
    const details = parseErrorBody(text);
    const detail = details.map((entry) => `${entry.code.toLowerCase().replace(/_/g, ' ')}${entry.message ? `: ${entry.message}` : ''}`).join('; ');
    const statusText = `${status}${STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : ''}`;
    const after = retries > 0 ? ` after ${retries + 1} attempts` : '';
    const message = `${req.what}: ${req.method} answered ${statusText}${after}${detail ? ` (${detail})` : ''}`;
    const code = status === 403 ? 'DENIED' : status === 404 ? (details[0]?.code === 'NAME_UNKNOWN' ? 'NAME_UNKNOWN' : details[0]?.code === 'BLOB_UNKNOWN' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN') : isRetryableStatus(status) ? 'UNAVAILABLE' : 'PROTOCOL';
    return new RegistryError(code, message, this.context(req, status));
  }
}

function userOf(found: FoundCredentials): string {
  return found.credentials.kind === 'basic' ? found.credentials.username : (found.credentials.username ?? 'identity token');
}

function scopeVerb(scope: string | undefined): string {
  return scope?.includes('push') ? 'push to' : 'pull from';
}

/** Prefers a Bearer challenge, then Basic. */
function pickChallenge(challenges: AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
