import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseDigest, type Descriptor, type Digest } from '@tsbuild/oci';
import type { HeldLock } from '../fs/lock.js';
import type { ImageStore } from '../store/store.js';
import type { FetchDriver } from '../fs/worker-fetch.js';
import type { BlobOpener, DestinationImage, ImageDestination, ImageSource, PutFetchedBlobOptions, SourceBlobOptions, SourceImage } from './types.js';

/**
 * The local store as a copy source: the images that `queries` name (all images when none are given).
 */
export class StoreSource implements ImageSource {
  readonly description: string;
  private readonly store: ImageStore;
  private readonly queries: readonly string[];

  constructor(store: ImageStore, queries: readonly string[] = []) {
    this.store = store;
    this.queries = queries;
    this.description = `the store at ${store.root}`;
  }

  async listImages(): Promise<SourceImage[]> {
    const stored = this.queries.length > 0 ? await Promise.all(this.queries.map((q) => this.store.findImage(q))) : await this.store.listImages();
    const images: SourceImage[] = [];
    for (const image of stored) {
      images.push({ names: image.names, manifest: await this.store.readManifest(image.manifest) });
    }
    return images;
  }

  async openBlob(descriptor: Descriptor, options: SourceBlobOptions = {}): Promise<Readable> {
    return this.store.layout.openBlob(descriptor, { verify: options.verify ?? true });
  }

  async close(): Promise<void> {}
}

/**
 * The local store as a copy destination. It holds the store's shared garbage-collection lock until it is
 * committed or aborted; blobs are verified as they are written; an image becomes visible only in `putImage`.
 * `abort` removes the blobs this destination added that no image refers to, so a failed load leaves the store
 * as it was.
 */
export class StoreDestination implements ImageDestination {
  readonly description: string;
  readonly layerFormat = 'preserve' as const;
  readonly verifiesBlobs: boolean;
  private readonly store: ImageStore;
  private readonly added = new Set<Digest>();
  private lock: HeldLock | undefined;

  private constructor(store: ImageStore, lock: HeldLock, verify: boolean) {
    this.store = store;
    this.lock = lock;
    this.verifiesBlobs = verify;
    this.description = `the store at ${store.root}`;
  }

  /**
   * Opens a destination on the store (taking the shared write lock). With `verify: false` blobs are not hashed as
   * they are written: `copyImage` then has its sources verify them, so a blob from a registry is hashed once.
   */
  static async open(store: ImageStore, options: { verify?: boolean } = {}): Promise<StoreDestination> {
    return new StoreDestination(store, await store.lockForWriting(), options.verify ?? true);
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.store.layout.hasBlob(parseDigest(descriptor.digest), descriptor.size);
  }

  async putBlob(descriptor: Descriptor, open: BlobOpener, signal?: AbortSignal): Promise<void> {
    const digest = parseDigest(descriptor.digest);
    const existed = await this.store.layout.hasBlob(digest);
    await this.store.layout.putBlob(descriptor, await open(), signal, { verify: this.verifiesBlobs });
    if (!existed) this.added.add(digest);
  }

  /** Stores a blob that a worker thread downloads, hashes and writes (always verified, whatever `verify` said). */
  async putFetchedBlob(descriptor: Descriptor, drive: FetchDriver, options: PutFetchedBlobOptions): Promise<void> {
    const digest = parseDigest(descriptor.digest);
    const existed = await this.store.layout.hasBlob(digest);
    await this.store.layout.fetchBlob(descriptor, drive, options);
    if (!existed) this.added.add(digest);
  }

  async putImage(image: DestinationImage): Promise<void> {
    const existed = await this.store.layout.hasBlob(image.manifest.digest);
    if (!existed) this.added.add(image.manifest.digest);
    await this.store.addImage(image.manifest, image.names);
  }

  async commit(): Promise<void> {
    this.added.clear();
    await this.release();
  }

  async abort(): Promise<void> {
    try {
      if (this.added.size > 0) {
        await this.store.withIndexLock(async () => {
          const reachable = await this.store.reachableBlobs();
          for (const digest of this.added) {
            if (!reachable.has(digest)) await rm(this.store.layout.blobPath(digest), { force: true });
          }
        });
      }
    } finally {
      this.added.clear();
      await this.release();
    }
  }

  private async release(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }
}
