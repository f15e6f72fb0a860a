import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '@tsbuild/oci';
import type { BlobFetcher } from '@tsbuild/registry-client';
import type { FetchDriver } from '../fs/worker-fetch.js';

/** A manifest exactly as it was received or written: its digest is the sha256 of `bytes`. */
export interface RawManifest {
  readonly bytes: Buffer;
  readonly digest: Digest;
  readonly mediaType: string;
}

/** One image a source holds, with the names it is known by there (familiar references such as `app:1`). */
export interface SourceImage {
  readonly names: readonly string[];
  readonly manifest: RawManifest;
}

/** Options for {@link ImageSource.openBlob}. */
export interface SourceBlobOptions {
  /** Verify digest and size while reading (default true). The copier turns it off when the destination verifies. */
  verify?: boolean;
  signal?: AbortSignal;
}

/**
 * The reading side of a transport (the store, an OCI layout, an archive, a registry). Blobs are streamed, never
 * held whole in memory.
 */
export interface ImageSource {
  /** A short description for messages, e.g. `oci-archive:app.tar`. */
  readonly description: string;
  /** The images this source holds. */
  listImages(): Promise<SourceImage[]>;
  /** Opens a blob (config or layer) named by a descriptor. */
  openBlob(descriptor: Descriptor, options?: SourceBlobOptions): Promise<Readable>;
  /**
   * Downloads a blob through `fetcher` (which makes each request elsewhere: a worker thread that hashes and writes
   * the body as it arrives), deciding the requests (auth, redirects, retries, resuming). Only sources that download
   * over HTTP have it; it resolves once the fetcher has stored exactly the blob's size, unverified.
   */
  fetchBlob?(descriptor: Descriptor, fetcher: BlobFetcher, signal?: AbortSignal): Promise<void>;
  /** Releases what the source holds open (files, temporary spools). */
  close(): Promise<void>;
}

/** Options of {@link ImageDestination.putFetchedBlob}. */
export interface PutFetchedBlobOptions {
  signal?: AbortSignal;
  /** Called now and then with the bytes stored so far. */
  onBytes?: (bytes: number) => void;
}

/** Opens a blob's content for a destination (again, for a retry). */
export type BlobOpener = () => Promise<Readable>;

/** A layer as the copier hands it to a destination that wants uncompressed layers. */
export interface UncompressedLayer {
  /** The layer's diffID (sha256 of the uncompressed tar), also its digest once uncompressed. */
  readonly diffID: Digest;
  /** The uncompressed size if known in advance. */
  readonly size?: number;
}

/** The writing side of a transport. */
export interface ImageDestination {
  /** A short description for messages. */
  readonly description: string;
  /**
   * `preserve`: blobs are stored as they are and the manifest bytes are kept. `uncompressed`: the destination
   * stores uncompressed layers under their diffIDs and writes its own manifest (the `docker save` format).
   */
  readonly layerFormat: 'preserve' | 'uncompressed';
  /** Whether {@link putBlob} verifies digest and size itself (then sources need not). */
  readonly verifiesBlobs: boolean;
  /** Whether the destination already has the blob, so it need not be copied. */
  hasBlob(descriptor: Descriptor): Promise<boolean>;
  /**
   * Stores a blob. `open` gives the blob's content; a destination that retries (a registry) may call it again,
   * every other destination calls it once and consumes the stream whole.
   */
  putBlob(descriptor: Descriptor, open: BlobOpener, signal?: AbortSignal): Promise<void>;
  /**
   * Stores a blob that a worker thread downloads itself, verifying it: `drive` (a source's {@link
   * ImageSource.fetchBlob}) makes the requests through the fetcher it is given. Only destinations that write files
   * have it.
   */
  putFetchedBlob?(descriptor: Descriptor, drive: FetchDriver, options: PutFetchedBlobOptions): Promise<void>;
  /** Stores an uncompressed layer (only for `layerFormat: 'uncompressed'`). */
  putUncompressedLayer?(layer: UncompressedLayer, stream: Readable, signal?: AbortSignal): Promise<void>;
  /**
   * Records an image once all its blobs are stored: the manifest (exact bytes), its config and the names to
   * give it. Nothing is visible under those names before this call.
   */
  putImage(image: DestinationImage): Promise<void>;
  /** Finishes the destination (e.g. writes an archive's index and closes it). */
  commit(): Promise<void>;
  /** Gives up: removes anything half-written. */
  abort(): Promise<void>;
}

/** What a destination receives for each image. */
export interface DestinationImage {
  readonly manifest: RawManifest;
  readonly config: { readonly descriptor: Descriptor; readonly bytes: Buffer };
  readonly layers: readonly Descriptor[];
  readonly diffIDs: readonly Digest[];
  readonly names: readonly string[];
}

/** Progress of one blob during a copy. */
export interface BlobProgress {
  readonly digest: Digest;
  readonly mediaType: string;
  /** Total bytes, if known. */
  readonly size: number | undefined;
  /** `exists`: the destination had it; `start`, `progress` and `done` while copying. */
  readonly state: 'exists' | 'start' | 'progress' | 'done';
  /** Bytes copied so far. */
  readonly bytes: number;
}
