import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { AuthChallenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { RegistryError } from './errors.js';
import { isLoopbackRegistry } from './registry-host.js';
import { isRetryableNetworkError, isRetryableStatus, RetryBudget, type RetryPolicy } from './retry.js';

/** Sends one HTTP request without any auth or retry logic. */
export type RawRequest = (
  url: URL,
  init: { method: Dispatcher.HttpMethod; headers: Record<string, string>; body?: string | Buffer | Readable; signal?: AbortSignal },
) => Promise<Dispatcher.ResponseData>;

/** A bearer token and when to stop using it. */
export interface BearerToken {
  token: string;
  /** Epoch milliseconds after which a new token is fetched. */
  expiresAt: number;
}

/** What a token request needs besides the challenge. */
export interface TokenRequest {
  registry: string;
  /** The origin the registry is reached at; a plain-http registry may use a plain-http realm. */
  registryOrigin: URL;
  scopes: readonly string[];
  credentials: Credentials | undefined;
  /** Where the credentials came from, for messages (never the secret). */
  credentialSource?: string;
  policy: RetryPolicy;
  userAgent: string;
  signal?: AbortSignal;
}

const DEFAULT_EXPIRES_IN = 60;

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Gets a bearer token from the challenge's realm (the distribution token protocol): GET with `service`, `scope` and
 * Basic credentials, or the OAuth2 `refresh_token` grant for an identity token. Accepts `token` or `access_token`
 * and honours `expires_in` (60 s when absent).
 * @throws RegistryError UNAUTHORIZED when the token server rejects the credentials.
 */
export async function fetchBearerToken(raw: RawRequest, challenge: AuthChallenge, request: TokenRequest): Promise<BearerToken> {
  const { registry, credentials } = request;
  const realmText = challenge.params.realm;
  if (!realmText) throw new RegistryError('PROTOCOL', `${registry} asked for a bearer token but named no realm`, { registry });
  let realm: URL;
  try {
    realm = new URL(realmText);
  } catch {
    throw new RegistryError('PROTOCOL', `${registry} named an invalid token realm "${realmText}"`, { registry });
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
    throw new RegistryError('PROTOCOL', `${registry} named a token realm with unsupported scheme ${realm.protocol}`, { registry });
  }
  if (realm.protocol === 'http:' && credentials && request.registryOrigin.protocol === 'https:' && !isLoopbackRegistry(realm.host)) {
    throw new RegistryError('PROTOCOL', `${registry} named a plain-http token realm ${realm.origin}; refusing to send credentials without TLS`, { registry });
  }
  const service = challenge.params.service;
  const headers: Record<string, string> = { 'user-agent': request.userAgent, accept: 'application/json' };
  let method: Dispatcher.HttpMethod = 'GET';
  let body: string | undefined;
  if (credentials?.kind === 'identity-token') {
    method = 'POST';
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.token, client_id: 'tsbuild' });
    if (service) form.set('service', service);
    if (request.scopes.length > 0) form.set('scope', request.scopes.join(' '));
    body = form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else {
    if (service) realm.searchParams.set('service', service);
    for (const scope of request.scopes) realm.searchParams.append('scope', scope);
    if (credentials?.kind === 'basic') {
      realm.searchParams.set('account', credentials.username);
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
    }
  }
  const budget = new RetryBudget(request.policy);
  for (;;) {
    let response: Dispatcher.ResponseData;
    try {
      response = await raw(realm, { method, headers, ...(body !== undefined ? { body } : {}), ...(request.signal ? { signal: request.signal } : {}) });
    } catch (err) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (isRetryableNetworkError(err) && (await budget.next(request.signal))) continue;
      throw new RegistryError('UNREACHABLE', `cannot reach the token server of ${registry} at ${realm.origin}: ${(err as Error).message}`, { registry, cause: err });
    }
    const status = response.statusCode;
    if (isRetryableStatus(status)) {
      await response.body.dump();
      const retryAfter = response.headers['retry-after'];
      if (await budget.next(request.signal, typeof retryAfter === 'string' ? retryAfter : undefined)) continue;
    }
    if (status === 401 || status === 403) {
      await response.body.dump();
      const who = credentials === undefined ? 'anonymous access' : credentials.kind === 'basic' ? `the credentials of "${credentials.username}"${request.credentialSource ? ` (from ${request.credentialSource})` : ''}` : 'the identity token';
      const hint = credentials === undefined ? `run tsbuild login ${registry}` : `check them and run tsbuild login ${registry}`;
      throw new RegistryError('UNAUTHORIZED', `${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'} for ${registry}: the token server refused ${who}; ${hint}`, { registry, status });
    }
    if (status !== 200) {
      await response.body.dump();
      throw new RegistryError('PROTOCOL', `the token server of ${registry} answered ${status}`, { registry, status });
    }
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(await readLimited(response.body, 1024 * 1024)) as typeof json;
    } catch (err) {
      throw new RegistryError('PROTOCOL', `the token server of ${registry} sent an invalid answer: ${(err as Error).message}`, { registry });
    }
    const token = typeof json.token === 'string' && json.token !== '' ? json.token : json.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError('PROTOCOL', `the token server of ${registry} sent no token`, { registry });
    }
    const expiresIn = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_EXPIRES_IN;
    const lifetime = expiresIn * 1000;
    return { token, expiresAt: Date.now() + lifetime - Math.min(5000, lifetime / 10) };
  }
}
