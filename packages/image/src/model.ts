import type { Readable } from 'node:stream';
import type { Descriptor, Digest, ImageConfig, ImageManifest } from '@tsbuild/oci';
import type { RawManifest } from './transport/types.js';

/** One layer of an image: its descriptor, its diffID, and a way to read its (compressed) blob. */
export interface Layer {
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar, from the image config. */
  readonly diffID: Digest;
  /** Opens the blob as stored (compressed or not); the stream verifies digest and size. */
  open(signal?: AbortSignal): Promise<Readable>;
}

/** An image: its manifest (exact bytes), its config (exact bytes and parsed) and its layers, opened lazily. */
export interface Image {
  readonly manifest: RawManifest;
  readonly parsedManifest: ImageManifest;
  readonly configDescriptor: Descriptor;
  readonly configBytes: Buffer;
  readonly config: ImageConfig;
  readonly layers: readonly Layer[];
  /** The image ID: the digest of its config, as `docker images` shows it. */
  readonly id: Digest;
}
