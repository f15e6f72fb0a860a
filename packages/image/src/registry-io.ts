import {
  InvalidReferenceError,
  formatReference,
  formatPlatform,
  parseDigest,
  parseManifest,
  parseReference,
  withDefaultTag,
  type Digest,
  type ImageReference,
  type Platform,
} from '@tsbuild/oci';
import type { RegistryClient, RegistryClientOptions, UploadResult } from '@tsbuild/registry-client';
import { copyImage, type CopiedImage, type CopyOptions } from './copy.js';
import { sharedHashWritePool } from './fs/hash-write-pool.js';
import { BlobSources } from './store/blob-sources.js';
import { storeName } from './store/names.js';
import type { ImageStore } from './store/store.js';
import { RegistryDestination, RegistrySource } from './transport/registry.js';
import { StoreDestination, StoreSource } from './transport/store.js';
import type { BlobProgress, RawManifest } from './transport/types.js';

/** How to reach and authenticate to the registry: everything a {@link RegistryClient} takes but the registry name. */
export type RegistryConnectionOptions = Omit<RegistryClientOptions, 'registry'>;

/** Progress of one blob of a pull or push. */
export interface RegistryBlobProgress extends BlobProgress {
  /** For a push, once the blob is `done` or `exists`: how it got into the repository. */
  readonly upload?: UploadResult;
  /** For a mounted blob, when it was mounted from a single candidate: that repository. */
  readonly mountedFrom?: string;
}

/** Options common to {@link pullImage} and {@link pushImage}. */
export interface RegistryTransferOptions extends RegistryConnectionOptions, Pick<CopyOptions, 'concurrency' | 'signal'> {
  /** Called as each blob is skipped, copied, uploaded or mounted. */
  onProgress?: (progress: RegistryBlobProgress) => void;
  /** A client to use instead of making one (it must be for the reference's registry; it is not closed). */
  client?: RegistryClient;
}

/** Options of {@link pullImage}. */
export interface PullOptions extends RegistryTransferOptions {
  /** For an index or manifest list: the platform to pull (`linux/arm64` or a {@link Platform}); default the host's. */
  platform?: Platform | string;
}

/** What {@link pullImage} stored. */
export interface PullResult {
  /** The reference pulled, fully qualified with its tag (`localhost:5000/app:1`, `docker.io/library/busybox:latest`). */
  readonly reference: string;
  /** The name the image got in the store (`localhost:5000/app:1`, `busybox:latest`); undefined for a pull by digest. */
  readonly name: string | undefined;
  /** What the reference resolves to at the registry: the index digest when it names an index, as `docker pull` shows. */
  readonly digest: Digest;
  /** The digest of the image manifest stored (the platform's manifest for an index). */
  readonly manifestDigest: Digest;
  /** The image ID (config digest). */
  readonly id: Digest;
  /** The platform picked from an index (`linux/amd64`), if the reference named one. */
  readonly platform: string | undefined;
  /** Blobs that were already in the store. */
  readonly blobsSkipped: number;
  /** Blobs downloaded. */
  readonly blobsCopied: number;
}

/** What {@link pushImage} did. */
export interface PushResult {
  /** The reference pushed to, fully qualified (`localhost:5000/app:1`). */
  readonly reference: string;
  /** The digest of the pushed manifest. */
  readonly digest: Digest;
  /** The size of the pushed manifest in bytes. */
  readonly size: number;
  /** How many blobs (config and layers) the registry already had, got by a cross-repository mount, or received. */
  readonly blobs: Readonly<Record<UploadResult, number>>;
}

/** The client options among `options` (and nothing else: a pull's `platform` is not the client's business). */
function connectionOptions(options: RegistryTransferOptions): RegistryConnectionOptions {
  const keys = ['creds', 'authfile', 'env', 'tlsVerify', 'certDir', 'retry', 'monolithicThreshold', 'chunkSize', 'maxConnections', 'userAgent'] as const;
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (options[key] !== undefined) picked[key] = options[key];
  return picked as RegistryConnectionOptions;
}

async function withClient<T>(registry: string, options: RegistryTransferOptions, fn: (client: RegistryClient) => Promise<T>): Promise<T> {
  if (options.client) {
    if (options.client.registry !== registry) throw new InvalidReferenceError(`the client is for registry ${options.client.registry}, not ${registry}`);
    return fn(options.client);
  }
  // loaded here, not at start-up: the HTTP stack costs ~0.1 s of module loading that store-only commands and cached
  // builds do not need
  const { RegistryClient } = await import('@tsbuild/registry-client');
  const client = new RegistryClient({ ...connectionOptions(options), registry });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Remembers where blobs are. Only a hint for later mounts: failing to write it does not fail the pull or push. */
async function recordBlobSources(store: ImageStore, manifest: RawManifest, reference: ImageReference): Promise<void> {
  await BlobSources.forStore(store)
    .record(blobDigests(manifest), { registry: reference.domain, repository: reference.path })
    .catch(() => undefined);
}

function blobDigests(manifest: RawManifest): Digest[] {
  const parsed = parseManifest(manifest.bytes, manifest.mediaType, `manifest ${manifest.digest}`);
  if (parsed.kind !== 'manifest') return [];
  return [parsed.manifest.config, ...parsed.manifest.layers].map((d) => parseDigest(d.digest));
}

/**
 * Pulls an image from a registry into the store (`tsbuild pull`): resolves the tag or digest (an index to the
 * platform's manifest), downloads the config and layers the store lacks (concurrently, each verified while it is
 * streamed; blobs the store has are reported as `exists`), and only when every blob is stored gives the image the
 * reference's name (`localhost:5000/app:1`). A pull by digest stores the image without a name. If anything fails,
 * the name is untouched and the blobs written for the pull are removed. The store remembers which repository each
 * blob came from, so a later push to the same registry can mount it.
 * @throws RegistryError (MANIFEST_UNKNOWN, UNAUTHORIZED, PLATFORM_NOT_FOUND, UNREACHABLE, ...), DigestMismatchError.
 */
export async function pullImage(store: ImageStore, ref: string, options: PullOptions = {}): Promise<PullResult> {
  const reference = withDefaultTag(parseReference(ref));
  return withClient(reference.domain, options, async (client) => {
    const source = new RegistrySource(client, reference, {
      ...(options.platform !== undefined ? { platform: options.platform } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // the workers that download the layers start (and load their HTTP client) while the manifest is resolved
    client.connectionProfile().then(
      (profile) => sharedHashWritePool().warm(profile),
      () => undefined,
    );
    const [image] = await source.listImages();
    if (image === undefined) throw new InvalidReferenceError(`${ref} resolved to no image`);
    // the store verifies every blob as it writes it: worker threads download, hash and write the layers (the bytes
    // never reach this thread), and copyImage has the registry source skip hashing the rest: each blob is hashed once
    const destination = await StoreDestination.open(store);
    let copied: CopiedImage;
    try {
      copied = await copyImage(source, image, destination, {
        names: image.names,
        concurrency: options.concurrency ?? 4,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      await destination.commit();
    } catch (err) {
      await destination.abort();
      throw err;
    }
    await recordBlobSources(store, copied.manifest, reference);
    const resolved = source.resolved;
    return {
      reference: formatReference(reference),
      name: image.names[0],
      digest: resolved?.index?.digest ?? copied.manifest.digest,
      manifestDigest: copied.manifest.digest,
      id: copied.configDigest,
      platform: resolved?.platform !== undefined ? formatPlatform(resolved.platform) : undefined,
      blobsSkipped: copied.blobsSkipped,
      blobsCopied: copied.blobsCopied,
    };
  });
}

/** How many repositories a push tries to mount one blob from before it uploads it. */
const MAX_MOUNT_ATTEMPTS = 3;

/** Options of {@link pushImage}. */
export type PushOptions = RegistryTransferOptions;

/** The reference to push to: `destination`, else the image's own name (which must be how the image was found). */
function pushTarget(query: string, names: readonly string[], destination: string | undefined): ImageReference {
  if (destination !== undefined) {
    const ref = parseReference(destination);
    return ref.digest === undefined ? withDefaultTag(ref) : ref;
  }
  const hint = `give a destination, e.g. tsbuild push ${query} localhost:5000/app:1`;
  let ref: ImageReference;
  try {
    ref = parseReference(query);
  } catch {
    throw new InvalidReferenceError(`${query} is not an image name: ${hint}`);
  }
  if (ref.digest === undefined && !names.includes(storeName(ref))) throw new InvalidReferenceError(`${query} names the image by ID: ${hint}`);
  return ref.digest === undefined ? withDefaultTag(ref) : ref;
}

/**
 * Pushes an image of the store to a registry (`tsbuild push`): to `destination`, or to the image's own name. Each
 * blob is checked with `HEAD` and skipped when the repository has it; mounted from another repository of the same
 * registry when the store knows one that holds it (from an earlier pull or push); uploaded otherwise, streamed from
 * the store and verified while sent. The manifest is put last (by tag, or by digest for a `name@digest`
 * destination), so a failed push never moves a tag.
 * @returns the pushed manifest's digest and what happened to the blobs.
 * @throws ImageNotFoundError, RegistryError (UNAUTHORIZED, DENIED, UNREACHABLE, ...), InvalidReferenceError.
 */
export async function pushImage(store: ImageStore, image: string, destination?: string, options: PushOptions = {}): Promise<PushResult> {
  const source = new StoreSource(store, [image]);
  const [found] = await source.listImages();
  if (found === undefined) throw new InvalidReferenceError(`${image} resolved to no image`);
  const target = pushTarget(image, found.names, destination);
  return withClient(target.domain, options, async (client) => {
    const sources = BlobSources.forStore(store);
    const outcomes = new Map<Digest, { result: UploadResult; from?: string }>();
    const registryDestination = new RegistryDestination(client, target, {
      // a refused mount costs a request (and leaves an upload session open): try the most recently seen few only
      mountCandidates: async (digest) => (await sources.repositories(digest, target.domain, target.path)).slice(0, MAX_MOUNT_ATTEMPTS),
      onBlob: (digest, result, candidates) => {
        const from = result === 'mounted' && candidates.length === 1 ? candidates[0] : undefined;
        outcomes.set(digest, { result, ...(from !== undefined ? { from } : {}) });
      },
    });
    const { onProgress } = options;
    const report = onProgress
      ? (progress: BlobProgress): void => {
          const outcome = progress.state === 'done' || progress.state === 'exists' ? outcomes.get(progress.digest) : undefined;
          onProgress(outcome ? { ...progress, upload: outcome.result, ...(outcome.from !== undefined ? { mountedFrom: outcome.from } : {}) } : progress);
        }
      : undefined;
    let copied: CopiedImage;
    try {
      copied = await copyImage(source, found, registryDestination, {
        names: [],
        concurrency: options.concurrency ?? 4,
        ...(report ? { onProgress: report } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      await registryDestination.commit();
    } catch (err) {
      await registryDestination.abort();
      throw err;
    }
    const digest = registryDestination.digest ?? copied.manifest.digest;
    await recordBlobSources(store, copied.manifest, target);
    const blobs: Record<UploadResult, number> = { exists: 0, mounted: 0, uploaded: 0 };
    for (const { result } of outcomes.values()) blobs[result]++;
    return { reference: formatReference(target), digest, size: copied.manifest.bytes.length, blobs };
  });
}
