import { Readable } from 'node:stream';
import {
  DigestMismatchError,
  SizeMismatchError,
  INDEX_MEDIA_TYPES,
  InvalidReferenceError,
  MANIFEST_MEDIA_TYPES,
  familiarReference,
  parseDigest,
  withDefaultTag,
  type Descriptor,
  type Digest,
  type ImageReference,
  type Platform,
} from '@tsbuild/oci';
import type { BlobFetcher, RegistryClient, ResolvedImage, UploadResult } from '@tsbuild/registry-client';
import { storeName } from '../store/names.js';
import type { BlobOpener, DestinationImage, ImageDestination, ImageSource, SourceBlobOptions, SourceImage } from './types.js';

/** `docker://` plus the reference as Docker shows it, for messages. */
export function registryDescription(reference: ImageReference): string {
  return `docker://${familiarReference(reference)}`;
}

function checkRegistry(client: RegistryClient, reference: ImageReference): void {
  if (client.registry !== reference.domain) {
    throw new InvalidReferenceError(`${familiarReference(reference)} is not on registry ${client.registry}`);
  }
}

/** Options of a {@link RegistrySource}. */
export interface RegistrySourceOptions {
  /** The platform to pick when the reference names an index (default the host's). */
  platform?: Platform | string;
  signal?: AbortSignal;
}

/**
 * A registry image as a copy source (`docker://REF`): {@link listImages} resolves the tag or digest, and an index to
 * the manifest of the wanted platform (naming the platforms the index has when none matches); blobs are streamed
 * with their digest and size verified while they are read (a broken download resumes with a `Range` request). Child
 * manifests of an index can be opened as blobs too. The source does not own the client: close it yourself.
 */
export class RegistrySource implements ImageSource {
  readonly description: string;
  /** The reference, with `latest` when it named neither tag nor digest. */
  readonly reference: ImageReference;
  private readonly client: RegistryClient;
  private readonly options: RegistrySourceOptions;
  private resolvedImage: ResolvedImage | undefined;

  constructor(client: RegistryClient, reference: ImageReference, options: RegistrySourceOptions = {}) {
    checkRegistry(client, reference);
    this.client = client;
    this.reference = withDefaultTag(reference);
    this.options = options;
    this.description = registryDescription(this.reference);
  }

  /** The repository inside the registry. */
  get repository(): string {
    return this.reference.path;
  }

  /** What the reference resolved to, once {@link listImages} has run. */
  get resolved(): ResolvedImage | undefined {
    return this.resolvedImage;
  }

  /**
   * Resolves the reference to one image manifest. The image is named like the reference (`localhost:5000/app:1`)
   * when the reference has a tag, and has no name when it is by digest only.
   */
  async listImages(): Promise<SourceImage[]> {
    const { resolveImage } = await import('@tsbuild/registry-client');
    const resolved = (this.resolvedImage ??= await resolveImage(this.client, this.reference, {
      ...(this.options.platform !== undefined ? { platform: this.options.platform } : {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    }));
    const { bytes, digest, mediaType } = resolved.manifest;
    const names = this.reference.tag !== undefined ? [storeName({ domain: this.reference.domain, path: this.reference.path, tag: this.reference.tag })] : [];
    return [{ names, manifest: { bytes, digest, mediaType } }];
  }

  /**
   * Opens a blob of the repository, or a manifest when the descriptor's media type is a manifest or index type (the
   * copier reads an index's child manifests this way). Content is verified (the registry is not trusted) unless
   * `verify` is false, for a consumer that verifies what it reads (a store that hashes what it writes); the size is
   * enforced either way, and manifests are always verified.
   */
  async openBlob(descriptor: Descriptor, options: SourceBlobOptions = {}): Promise<Readable> {
    const signal = options.signal ?? this.options.signal;
    if (MANIFEST_MEDIA_TYPES.includes(descriptor.mediaType) || INDEX_MEDIA_TYPES.includes(descriptor.mediaType)) {
      const manifest = await this.client.getManifest(this.repository, parseDigest(descriptor.digest), signal ? { signal } : {});
      if (manifest.bytes.length !== descriptor.size) {
        throw new SizeMismatchError(`manifest ${descriptor.digest} of ${this.description}`, descriptor.size, manifest.bytes.length);
      }
      return Readable.from([manifest.bytes], { objectMode: false });
    }
    return this.client.getBlob(this.repository, descriptor, { verify: options.verify ?? true, ...(signal ? { signal } : {}) });
  }

  /**
   * Downloads a layer or config blob through `fetcher` (a worker thread that makes each request and hashes and
   * writes the body), with the client's auth, redirects, retries and resuming. The fetcher's owner verifies it.
   */
  async fetchBlob(descriptor: Descriptor, fetcher: BlobFetcher, signal?: AbortSignal): Promise<void> {
    const aborted = signal ?? this.options.signal;
    await this.client.fetchBlob(this.repository, descriptor, fetcher, aborted ? { signal: aborted } : {});
  }

  async close(): Promise<void> {}
}

/** Options of a {@link RegistryDestination}. */
export interface RegistryDestinationOptions {
  /**
   * Repositories of the same registry that may already hold a blob (most likely first): a push tries to mount it
   * from them before uploading it.
   */
  mountCandidates?: (digest: Digest) => Promise<readonly string[]> | readonly string[];
  /** Called once a blob is in the repository, with how it got there. */
  onBlob?: (digest: Digest, result: UploadResult, mountCandidates: readonly string[]) => void;
}

/**
 * A registry repository as a copy destination (`docker://REF`). Blobs are checked with `HEAD`, mounted from another
 * repository of the registry when a candidate is known, else uploaded (monolithic or chunked, verified while sent,
 * started over with a fresh stream from the opener when an upload fails). {@link putImage} puts the manifest under the
 * reference's tag, or under its digest when the reference has no tag; it refuses to run once any blob failed, so a
 * failed push never moves a tag. The destination does not own the client: close it yourself.
 */
export class RegistryDestination implements ImageDestination {
  readonly description: string;
  readonly layerFormat = 'preserve' as const;
  readonly verifiesBlobs = true;
  /** The reference pushed to (`latest` when it named neither tag nor digest). */
  readonly reference: ImageReference;
  private readonly client: RegistryClient;
  private readonly options: RegistryDestinationOptions;
  private readonly controller = new AbortController();
  private readonly known = new Set<Digest>();
  private failure: unknown;
  private pushedDigest: Digest | undefined;

  constructor(client: RegistryClient, reference: ImageReference, options: RegistryDestinationOptions = {}) {
    checkRegistry(client, reference);
    this.client = client;
    this.reference = reference.digest === undefined ? withDefaultTag(reference) : reference;
    this.options = options;
    this.description = registryDescription(this.reference);
  }

  /** The repository inside the registry. */
  get repository(): string {
    return this.reference.path;
  }

  /** The digest of the manifest {@link putImage} pushed, once it has. */
  get digest(): Digest | undefined {
    return this.pushedDigest;
  }

  private signal(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, this.controller.signal]) : this.controller.signal;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const digest = parseDigest(descriptor.digest);
    if (this.known.has(digest)) return true;
    const present = await this.client.hasBlob(this.repository, digest, { push: true, signal: this.signal() });
    if (present) {
      this.known.add(digest);
      this.options.onBlob?.(digest, 'exists', []);
    }
    return present;
  }

  async putBlob(descriptor: Descriptor, open: BlobOpener, signal?: AbortSignal): Promise<void> {
    const digest = parseDigest(descriptor.digest);
    try {
      this.controller.signal.throwIfAborted();
      const candidates = (await this.options.mountCandidates?.(digest)) ?? [];
      const mountFrom = candidates.filter((repository) => repository !== this.repository);
      const result = await this.client.uploadBlob(this.repository, descriptor, open, { mountFrom, signal: this.signal(signal) });
      this.known.add(digest);
      this.options.onBlob?.(digest, result, mountFrom);
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }

  /** Puts the manifest (exact bytes) by tag, or by digest when the reference has no tag. `names` are not used. */
  async putImage(image: DestinationImage): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.controller.signal.throwIfAborted();
    const { bytes, digest, mediaType } = image.manifest;
    if (this.reference.digest !== undefined && this.reference.digest !== digest) {
      throw new DigestMismatchError(`push to ${this.description}`, this.reference.digest, digest);
    }
    const reference = this.reference.tag ?? digest;
    this.pushedDigest = await this.client.putManifest(this.repository, reference, bytes, mediaType, { signal: this.controller.signal });
  }

  async commit(): Promise<void> {}

  /** Stops uploads still running. Blobs already uploaded stay (registries clean up unreferenced blobs). */
  async abort(): Promise<void> {
    this.failure ??= new DOMException(`push to ${this.description} was aborted`, 'AbortError');
    this.controller.abort(this.failure);
  }
}
