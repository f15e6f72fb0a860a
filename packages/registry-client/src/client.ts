import { Readable, pipeline } from 'node:stream';
import {
  DigestingStream,
  DigestMismatchError,
  InvalidReferenceError,
  isDigest,
  MAX_MANIFEST_BYTES,
  parseDigest,
  MediaType,
  sha256Digest,
  SizeMismatchError,
  type Digest,
} from '@tsbuild/oci';
import { BlobDownload, type BlobResponse } from './blob-download.js';
import { fetchBlob, type BlobFetcher } from './blob-fetch.js';
import { ChunkedSource } from './blob-reader.js';
import { parseCredsFlag, type CredentialOptions, type Credentials, type Environment } from './credentials.js';
import { RegistryError } from './errors.js';
import { DEFAULT_RETRY_POLICY, isRetryableNetworkError, RetryBudget, type RetryPolicy } from './retry.js';
import { repositoryScope } from './scope.js';
import { headerValue, readBodyText, RegistrySession, type DispatcherProfile, type SessionResponse } from './session.js';

/** Options of a {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** The registry, `host[:port]` as in image references (e.g. `localhost:5000`, `docker.io`). */
  registry: string;
  /** Credentials, or `user:password` as `--creds` takes it; otherwise looked up in the auth files. */
  creds?: string | Credentials;
  /** An auth file to read instead of the default ones (`--authfile`). */
  authfile?: string;
  /** Environment for auth-file paths, credential helpers and proxies; default `process.env`. */
  env?: Environment;
  /** Verify TLS certificates and refuse plain http for non-loopback registries (default true). */
  tlsVerify?: boolean;
  /** A certs.d-style directory: `*.crt` CAs, `client.cert` + `client.key` (default `/etc/{containers,docker}/certs.d/HOST`). */
  certDir?: string;
  /** Retry bounds for transient failures. */
  retry?: Partial<RetryPolicy>;
  /** Blobs up to this size are uploaded with one PUT; larger ones with PATCH chunks (default 16 MiB). */
  monolithicThreshold?: number;
  /** Size of one PATCH of a chunked upload (default 64 MiB). */
  chunkSize?: number;
  /** HTTP connections per origin (default 16). */
  maxConnections?: number;
  /** The `User-Agent` header. */
  userAgent?: string;
}

/** Progress of one blob transfer. */
export interface BlobProgress {
  digest: Digest;
  /** Bytes transferred so far (starts again from 0 when an upload is restarted). */
  done: number;
  /** The blob's size. */
  total: number;
}

/** Options common to every call. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Options of a blob transfer. */
export interface BlobTransferOptions extends CallOptions {
  onProgress?: (progress: BlobProgress) => void;
}

/** Options of {@link RegistryClient.uploadBlob}. */
export interface UploadBlobOptions extends BlobTransferOptions {
  /** Repositories of the same registry that may hold the blob; tried in order with a cross-repository mount. */
  mountFrom?: readonly string[];
}

/** What {@link RegistryClient.uploadBlob} did: nothing, a cross-repository mount, or an upload. */
export type UploadResult = 'exists' | 'mounted' | 'uploaded';

/** The digest and size a blob must have (an OCI descriptor fits; only sha256 digests are accepted). */
export interface BlobDescriptor {
  digest: string;
  size: number;
  mediaType?: string;
}

/** A descriptor whose digest has been checked to be sha256. */
interface CheckedDescriptor {
  digest: Digest;
  size: number;
}

const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** `/v2/<repository>/<kind>/<reference>`, with the repository and reference checked against their grammar. */
function apiPath(repository: string, kind: 'manifests' | 'blobs' | 'tags', reference?: string): string {
  if (!REPOSITORY_RE.test(repository)) throw new InvalidReferenceError(`invalid repository name "${repository}"`);
  if (reference === undefined) return `/v2/${repository}/${kind}`;
  if (kind === 'blobs') return `/v2/${repository}/blobs/${parseDigest(reference, 'blob digest')}`;
  if (!isDigest(reference) && !TAG_RE.test(reference)) {
    if (reference.includes(':')) parseDigest(reference, 'manifest digest');
    throw new InvalidReferenceError(`invalid tag "${reference}"`);
  }
  return `/v2/${repository}/manifests/${reference}`;
}

function checked(descriptor: BlobDescriptor): CheckedDescriptor {
  if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) throw new SizeMismatchError(`blob ${descriptor.digest}`, 0, descriptor.size);
  return { digest: parseDigest(descriptor.digest, 'blob digest'), size: descriptor.size };
}

/** A manifest or index exactly as the registry served it. */
export interface FetchedManifest {
  /** The exact bytes (their sha256 is {@link digest}). */
  bytes: Buffer;
  /** Its media type (the document's own `mediaType`, else the `Content-Type`). */
  mediaType: string;
  digest: Digest;
}

/** What a HEAD of a manifest tells. */
export interface ManifestHead {
  digest: Digest;
  mediaType: string;
  size: number;
}

/** The manifest media types accepted by default: OCI and Docker, single-image and index. */
export const MANIFEST_ACCEPT: readonly string[] = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList];

const DEFAULT_USER_AGENT = 'tsbuild/0.1 (registry-client)';

function mediaTypeOf(bytes: Buffer, contentType: string | undefined): string {
  const header = contentType?.split(';')[0]?.trim();
  try {
    const json: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof json === 'object' && json !== null) {
      const record = json as Record<string, unknown>;
      if (typeof record.mediaType === 'string' && record.mediaType !== '') return record.mediaType;
      if (header && header !== 'application/json' && header !== 'text/plain') return header;
      if (Array.isArray(record.manifests)) return MediaType.ociIndex;
      if (record.config !== undefined && Array.isArray(record.layers)) return MediaType.ociManifest;
    }
  } catch {
    // not JSON: report the header's type
  }
  return header ?? 'application/octet-stream';
}

function isRestartable(error: unknown): boolean {
  if (error instanceof DigestMismatchError || error instanceof SizeMismatchError) return false;
  if (error instanceof RegistryError) return error.code !== 'DENIED' && error.code !== 'TOO_LARGE' && error.code !== 'UNREACHABLE' && error.code !== 'TLS';
  return isRetryableNetworkError(error);
}

/**
 * An OCI distribution-spec client for one registry: manifests and blobs by repository, streaming, verified, with
 * auth, retries and cross-repository mounts. Create one per registry and reuse it (it keeps connections and tokens);
 * {@link close} it when done. Every method honours an `AbortSignal`.
 */
export class RegistryClient {
  /** The registry, e.g. `localhost:5000`. */
  readonly registry: string;
  private readonly session: RegistrySession;
  private readonly monolithicThreshold: number;
  private readonly chunkSize: number;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    const credentialOptions: CredentialOptions = {
      ...(options.creds !== undefined ? { creds: typeof options.creds === 'string' ? parseCredsFlag(options.creds) : options.creds } : {}),
      ...(options.authfile !== undefined ? { authfile: options.authfile } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
    };
    this.session = new RegistrySession({
      ...credentialOptions,
      registry: options.registry,
      tlsVerify: options.tlsVerify ?? true,
      ...(options.certDir !== undefined ? { certDir: options.certDir } : {}),
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
    });
    this.monolithicThreshold = options.monolithicThreshold ?? 16 * 1024 * 1024;
    this.chunkSize = Math.max(options.chunkSize ?? 64 * 1024 * 1024, 1);
  }

  /** How the client connects (TLS material, proxies), for a worker thread that makes its own connections. */
  connectionProfile(): Promise<DispatcherProfile> {
    return this.session.profile();
  }

  /** Closes the client's connections. */
  close(): Promise<void> {
    return this.session.close();
  }

  private name(repository: string, reference?: string): string {
    if (reference === undefined) return `${this.registry}/${repository}`;
    return `${this.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
  }

  /**
   * Checks that the configured credentials are accepted (for `login`): pings the registry and authenticates to its
   * base endpoint. Succeeds without credentials when the registry needs none.
   * @throws RegistryError UNAUTHORIZED for rejected credentials.
   */
  async verifyCredentials(options: CallOptions = {}): Promise<void> {
    const response = await this.session.send({ method: 'GET', url: '/v2/', scopes: [], expect: [200], what: `registry ${this.registry}`, ...options });
    await response.body.dump();
  }

  /**
   * Fetches a manifest or index by tag or digest, verifies its digest (against the reference when it is a digest,
   * and against `Docker-Content-Digest`), and refuses documents over 4 MiB.
   * @throws RegistryError MANIFEST_UNKNOWN (`manifest unknown: localhost:5000/app:2 does not exist`), TOO_LARGE, ...
   */
  async getManifest(repository: string, reference: string, options: CallOptions & { accept?: readonly string[] } = {}): Promise<FetchedManifest> {
    const what = `manifest ${this.name(repository, reference)}`;
    const response = await this.session.send({
      method: 'GET',
      url: apiPath(repository, 'manifests', reference),
      headers: { accept: (options.accept ?? MANIFEST_ACCEPT).join(', ') },
      scopes: [repositoryScope(repository, ['pull'])],
      repository,
      expect: [200, 404],
      followRedirects: true,
      what,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.status === 404) throw await this.notFound(response, repository, reference);
    const declared = Number(headerValue(response.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > MAX_MANIFEST_BYTES) {
      response.body.destroy();
      throw new RegistryError('TOO_LARGE', `${what} is ${declared} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit for manifests`, { registry: this.registry, repository });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_MANIFEST_BYTES) {
        response.body.destroy();
        throw new RegistryError('TOO_LARGE', `${what} is more than the ${MAX_MANIFEST_BYTES}-byte limit for manifests`, { registry: this.registry, repository });
      }
      chunks.push(chunk);
    }
    const bytes = Buffer.concat(chunks);
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(what, reference, digest);
    const announced = headerValue(response.headers, 'docker-content-digest');
    if (announced !== undefined && announced.startsWith('sha256:') && announced !== digest) {
      throw new DigestMismatchError(`${what} (Docker-Content-Digest)`, announced, digest);
    }
    return { bytes, mediaType: mediaTypeOf(bytes, headerValue(response.headers, 'content-type')), digest };
  }

  /**
   * Asks for a manifest's digest, media type and size without downloading it.
   * @returns undefined when the registry does not have it.
   */
  async headManifest(repository: string, reference: string, options: CallOptions & { accept?: readonly string[] } = {}): Promise<ManifestHead | undefined> {
    const response = await this.session.send({
      method: 'HEAD',
      url: apiPath(repository, 'manifests', reference),
      headers: { accept: (options.accept ?? MANIFEST_ACCEPT).join(', ') },
      scopes: [repositoryScope(repository, ['pull'])],
      repository,
      expect: [200, 404],
      followRedirects: true,
      what: `manifest ${this.name(repository, reference)}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await response.body.dump();
    if (response.status === 404) return undefined;
    const digest = headerValue(response.headers, 'docker-content-digest');
    const size = Number(headerValue(response.headers, 'content-length'));
    const contentType = headerValue(response.headers, 'content-type')?.split(';')[0]?.trim();
    if (digest === undefined || !isDigest(digest) || !Number.isFinite(size) || !contentType || contentType === 'application/json') {
      const fetched = await this.getManifest(repository, reference, options);
      return { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.length };
    }
    if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(`manifest ${this.name(repository, reference)}`, reference, digest);
    return { digest, mediaType: contentType, size };
  }

  /**
   * Uploads a manifest or index (its exact bytes) under a tag or its digest.
   * @returns its digest.
   */
  async putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string, options: CallOptions = {}): Promise<Digest> {
    const what = `manifest ${this.name(repository, reference)}`;
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw new RegistryError('TOO_LARGE', `${what} is ${bytes.length} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit for manifests`, { registry: this.registry, repository });
    }
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && reference !== digest) throw new DigestMismatchError(what, reference, digest);
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const response = await this.session.send({
      method: 'PUT',
      url: apiPath(repository, 'manifests', reference),
      headers: { 'content-type': mediaType, 'content-length': String(body.length) },
      body,
      scopes: [repositoryScope(repository, ['pull', 'push'])],
      repository,
      expect: [200, 201, 202],
      what,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await response.body.dump();
    const announced = headerValue(response.headers, 'docker-content-digest');
    if (announced !== undefined && announced.startsWith('sha256:') && announced !== digest) {
      throw new DigestMismatchError(`${what} (stored by the registry)`, digest, announced);
    }
    return digest;
  }

  /** Whether the repository has a blob (HEAD). */
  async hasBlob(repository: string, digest: string, options: CallOptions & { push?: boolean } = {}): Promise<boolean> {
    const response = await this.session.send({
      method: 'HEAD',
      url: apiPath(repository, 'blobs', digest),
      scopes: [repositoryScope(repository, options.push ? ['pull', 'push'] : ['pull'])],
      repository,
      expect: [200, 404],
      followRedirects: true,
      what: `blob ${digest} of ${this.name(repository)}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await response.body.dump();
    return response.status === 200;
  }

  /** Lists the tags of a repository (following pagination). */
  async listTags(repository: string, options: CallOptions = {}): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = `${apiPath(repository, 'tags')}/list?n=1000`;
    for (let page = 0; url !== undefined && page < 1000; page++) {
      const response: SessionResponse = await this.session.send({
        method: 'GET',
        url,
        scopes: [repositoryScope(repository, ['pull'])],
        repository,
        expect: [200, 404],
        what: `tags of ${this.name(repository)}`,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (response.status === 404) throw await this.notFound(response, repository);
      const text = await readBodyText(response.body, MAX_MANIFEST_BYTES);
      const json = JSON.parse(text) as { tags?: unknown };
      if (Array.isArray(json.tags)) tags.push(...json.tags.filter((tag): tag is string => typeof tag === 'string'));
      const link = headerValue(response.headers, 'link');
      const next = link !== undefined ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
      url = next !== undefined ? new URL(next, response.url).toString() : undefined;
    }
    return tags;
  }

  private async notFound(response: SessionResponse, repository: string, reference?: string): Promise<RegistryError> {
    const text = await readBodyText(response.body);
    const context = { registry: this.registry, repository, status: 404 };
    if (text.includes('NAME_UNKNOWN') && reference === undefined) {
      return new RegistryError('NAME_UNKNOWN', `repository unknown: ${this.name(repository)} does not exist`, context);
    }
    return new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${this.name(repository, reference)} does not exist`, context);
  }

  /**
   * Streams a blob. The returned stream fails with `SizeMismatchError` as soon as the content is longer than the
   * descriptor says and at its end if it is shorter, and (unless `verify` is false) with `DigestMismatchError` at its
   * end if the digest differs, so a consumer that sees it end without an error has verified bytes. With `verify: false`
   * the content is not hashed: only for a consumer that hashes it itself (a store that verifies what it writes). A
   * connection that breaks mid-blob is resumed with a `Range` request (bounded retries). Redirects to storage are
   * followed without credentials.
   */
  getBlob(repository: string, blob: BlobDescriptor, options: BlobTransferOptions & { verify?: boolean } = {}): Readable {
    const descriptor = checked(blob);
    const { digest, size } = descriptor;
    const { signal, onProgress } = options;
    const what = `blob ${digest} of ${this.name(repository)}`;
    const budget = new RetryBudget(this.session.retryPolicy);
    onProgress?.({ digest, done: 0, total: size });
    return new BlobDownload({
      open: (offset) => this.openBlob(repository, descriptor, offset, what, signal),
      resume: async (err, offset) => {
        if (signal?.aborted) throw signal.reason;
        if (!isRetryableNetworkError(err)) throw err;
        if (offset >= size || !(await budget.next(signal))) {
          throw new RegistryError('UNAVAILABLE', `${what}: download failed at byte ${offset} of ${size}: ${(err as Error).message}`, { registry: this.registry, repository, cause: err });
        }
      },
      expected: { digest, size, what },
      verify: options.verify ?? true,
      ...(onProgress ? { onBytes: (done: number) => onProgress({ digest, done, total: size }) } : {}),
    });
  }

  /**
   * Downloads a blob through `fetcher` (which makes each request elsewhere, e.g. a worker thread that hashes and
   * writes the body into a file as it arrives) with this client's auth, redirects and retries; a broken body is
   * resumed from the bytes stored. Resolves once the fetcher has stored exactly the blob's size; checking the digest
   * of what it stored is the fetcher's owner's job.
   * @throws RegistryError (BLOB_UNKNOWN, UNAVAILABLE, ...), SizeMismatchError.
   */
  async fetchBlob(repository: string, blob: BlobDescriptor, fetcher: BlobFetcher, options: CallOptions = {}): Promise<void> {
    const { digest, size } = checked(blob);
    const what = `blob ${digest} of ${this.name(repository)}`;
    const path = apiPath(repository, 'blobs', digest);
    await fetchBlob(this.session, { repository, path, digest, size, what, scopes: [repositoryScope(repository, ['pull'])] }, fetcher, options.signal);
  }

  /** Requests a blob from byte `offset` on; says how many bytes to drop when the registry ignored the range. */
  private async openBlob(repository: string, descriptor: CheckedDescriptor, offset: number, what: string, signal: AbortSignal | undefined): Promise<BlobResponse> {
    const response = await this.session.send({
      method: 'GET',
      url: apiPath(repository, 'blobs', descriptor.digest),
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: [repositoryScope(repository, ['pull'])],
      repository,
      expect: [200, 206, 404],
      followRedirects: true,
      what,
      ...(signal ? { signal } : {}),
    });
    if (response.status === 404) {
      await response.body.dump();
      throw new RegistryError('BLOB_UNKNOWN', `blob unknown: ${what} does not exist`, { registry: this.registry, repository, status: 404 });
    }
    if (offset > 0 && response.status === 206) {
      const start = Number(/bytes\s+(\d+)-/.exec(headerValue(response.headers, 'content-range') ?? '')?.[1]);
      if (start !== offset) {
        response.body.destroy();
        throw new RegistryError('PROTOCOL', `${what}: asked to resume at byte ${offset}, the registry answered from byte ${start}`, { registry: this.registry, repository, status: 206 });
      }
      return { body: response.body, skip: 0 };
    }
    return { body: response.body, skip: offset };
  }

  /**
   * Uploads a blob unless the repository has it: HEAD first (`exists`); then a cross-repository mount from each of
   * `mountFrom` (`mounted`); else an upload (`uploaded`): one PUT with Content-Length up to `monolithicThreshold`,
   * PATCH chunks and a final PUT above it. The content is verified against the descriptor while it is sent. A failed
   * upload is started over (bounded) with a fresh stream from `open`.
   */
  async uploadBlob(repository: string, blob: BlobDescriptor, open: () => Readable | Promise<Readable>, options: UploadBlobOptions = {}): Promise<UploadResult> {
    const descriptor = checked(blob);
    const { digest, size } = descriptor;
    const { signal, onProgress } = options;
    const scopes = [repositoryScope(repository, ['pull', 'push'])];
    if (await this.hasBlob(repository, digest, { push: true, ...(signal ? { signal } : {}) })) {
      onProgress?.({ digest, done: size, total: size });
      return 'exists';
    }
    let location: string | undefined;
    for (const from of options.mountFrom ?? []) {
      if (from === repository) continue;
      try {
        const response = await this.session.send({
          method: 'POST',
          url: `${apiPath(repository, 'blobs')}/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
          headers: { 'content-length': '0' },
          scopes: [...scopes, repositoryScope(from, ['pull'])],
          repository,
          expect: [201, 202],
          what: `mount of blob ${digest} from ${from} into ${this.name(repository)}`,
          ...(signal ? { signal } : {}),
        });
        await response.body.dump();
        if (response.status === 201) {
          onProgress?.({ digest, done: size, total: size });
          return 'mounted';
        }
        const next = headerValue(response.headers, 'location');
        location = next !== undefined ? new URL(next, response.url).toString() : undefined;
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (!(err instanceof RegistryError) || !['UNAUTHORIZED', 'DENIED', 'NAME_UNKNOWN', 'BLOB_UNKNOWN', 'PROTOCOL', 'MANIFEST_UNKNOWN'].includes(err.code)) throw err;
      }
    }
    const budget = new RetryBudget(this.session.retryPolicy);
    for (;;) {
      try {
        await this.uploadOnce(repository, descriptor, open, location, scopes, options);
        return 'uploaded';
      } catch (err) {
        location = undefined;
        if (signal?.aborted) throw signal.reason;
        if (!isRestartable(err) || !(await budget.next(signal))) throw err;
        // the registry may have committed the blob before the connection broke
        if (await this.hasBlob(repository, digest, { push: true, ...(signal ? { signal } : {}) }).catch(() => false)) {
          onProgress?.({ digest, done: size, total: size });
          return 'uploaded';
        }
      }
    }
  }

  private async startUpload(repository: string, scopes: string[], what: string, signal?: AbortSignal): Promise<string> {
    const response = await this.session.send({
      method: 'POST',
      url: `${apiPath(repository, 'blobs')}/uploads/`,
      headers: { 'content-length': '0' },
      scopes,
      repository,
      expect: [202],
      what,
      ...(signal ? { signal } : {}),
    });
    await response.body.dump();
    const location = headerValue(response.headers, 'location');
    if (location === undefined) throw new RegistryError('PROTOCOL', `${what}: the registry started an upload without a Location`, { registry: this.registry, repository, status: 202 });
    return new URL(location, response.url).toString();
  }

  private async uploadOnce(
    repository: string,
    descriptor: CheckedDescriptor,
    open: () => Readable | Promise<Readable>,
    startLocation: string | undefined,
    scopes: string[],
    options: BlobTransferOptions,
  ): Promise<void> {
    const { digest, size } = descriptor;
    const { signal, onProgress } = options;
    const what = `upload of blob ${digest} to ${this.name(repository)}`;
    let location = startLocation ?? (await this.startUpload(repository, scopes, what, signal));
    const input = await open();
    const verifier = new DigestingStream({ digest, size, what: `blob ${digest} (local content for ${this.name(repository)})` });
    let sourceError: unknown;
    verifier.on('error', (err) => (sourceError ??= err));
    pipeline(input, verifier, () => undefined);
    const source = new ChunkedSource(verifier[Symbol.asyncIterator]() as AsyncIterator<Buffer>, (done) => onProgress?.({ digest, done, total: size }));
    onProgress?.({ digest, done: 0, total: size });
    const send = async (method: 'PUT' | 'PATCH', url: string, length: number, headers: Record<string, string>, expect: number[]): Promise<SessionResponse> => {
      const body = length > 0 ? Readable.from(source.take(length), { objectMode: false }) : Buffer.alloc(0);
      return this.session.send({
        method,
        url,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(length), ...headers },
        body,
        retry: false,
        scopes,
        repository,
        expect,
        what,
        ...(signal ? { signal } : {}),
      });
    };
    try {
      let final: SessionResponse;
      if (size <= this.monolithicThreshold) {
        const url = new URL(location);
        url.searchParams.set('digest', digest);
        final = await send('PUT', url.toString(), size, {}, [201, 204]);
      } else {
        for (let offset = 0; offset < size; ) {
          const length = Math.min(this.chunkSize, size - offset);
          const response = await send('PATCH', location, length, { 'content-range': `${offset}-${offset + length - 1}` }, [202, 204]);
          await response.body.dump();
          const next = headerValue(response.headers, 'location');
          if (next !== undefined) location = new URL(next, response.url).toString();
          offset += length;
        }
        if (!(await source.ended())) throw new SizeMismatchError(`blob ${digest}`, size, size + 1);
        const url = new URL(location);
        url.searchParams.set('digest', digest);
        final = await send('PUT', url.toString(), 0, {}, [201, 204]);
      }
      await final.body.dump();
      const announced = headerValue(final.headers, 'docker-content-digest');
      if (announced !== undefined && announced.startsWith('sha256:') && announced !== digest) {
        throw new DigestMismatchError(`blob ${digest} (stored by ${this.registry})`, digest, announced);
      }
    } catch (err) {
      if (sourceError !== undefined) throw sourceError;
      throw err;
    } finally {
      input.destroy();
      verifier.destroy();
    }
  }
}
