import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import pLimit from 'p-limit';
import {
  DigestingStream,
  DigestMismatchError,
  InvalidManifestError,
  SizeMismatchError,
  UnsupportedMediaTypeError,
  hostPlatform,
  isLayerMediaType,
  parseDigest,
  parseImageConfig,
  parseManifest,
  platformMatches,
  formatPlatform,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from '@tsbuild/oci';
import type { BlobFetcher } from '@tsbuild/registry-client';
import type { BlobProgress, ImageDestination, ImageSource, RawManifest, SourceImage } from './transport/types.js';

/** Options for {@link copyImage}. */
export interface CopyOptions {
  /** Names to give the image at the destination (default: the names it has at the source). */
  names?: readonly string[];
  /** For an index or manifest list: the platform to copy (default: the host's). */
  platform?: Platform;
  /** How many blobs to copy at once (default 3). */
  concurrency?: number;
  /** Called as each blob is skipped or copied. */
  onProgress?: (progress: BlobProgress) => void;
  signal?: AbortSignal;
}

/** What {@link copyImage} copied. */
export interface CopiedImage {
  readonly manifest: RawManifest;
  readonly configDigest: Digest;
  readonly names: readonly string[];
  /** Blobs the destination already had. */
  readonly blobsSkipped: number;
  /** Blobs copied. */
  readonly blobsCopied: number;
}

/**
 * Copies one image from a source to a destination: only the blobs the destination lacks, each verified (by the
 * destination when it verifies, else while reading), then the manifest and names, which make the image visible.
 * The destination is not committed: callers copy one or more images and then call `destination.commit()`.
 */
export async function copyImage(
  source: ImageSource,
  image: SourceImage,
  destination: ImageDestination,
  options: CopyOptions = {},
): Promise<CopiedImage> {
  const { signal, onProgress } = options;
  const manifestRaw = await resolveManifest(source, image.manifest, options.platform ?? hostPlatform(), signal);
  const parsed = parseManifest(manifestRaw.bytes, manifestRaw.mediaType, `manifest ${manifestRaw.digest} in ${source.description}`);
  if (parsed.kind !== 'manifest') throw new InvalidManifestError(`${source.description}: nested image indexes are not supported`);
  const manifest = parsed.manifest;
  checkLayers(manifest, source.description);

  const configDescriptor = manifest.config;
  const configBytes = await readAll(await source.openBlob(configDescriptor, { verify: true, signal }));
  const config = parseImageConfig(configBytes, `config ${configDescriptor.digest} in ${source.description}`);
  const diffIDs = checkDiffIDs(manifest, config, source.description);

  const limit = pLimit(options.concurrency ?? 3);
  let skipped = 0;
  let copied = 0;
  const copyOne = async (descriptor: Descriptor, diffID: Digest): Promise<void> => {
    signal?.throwIfAborted();
    const digest = parseDigest(descriptor.digest);
    const report = (state: BlobProgress['state'], bytes: number, size = descriptor.size): void =>
      onProgress?.({ digest, mediaType: descriptor.mediaType, size, state, bytes });
    if (destination.layerFormat === 'uncompressed') {
      if (await destination.hasBlob({ ...descriptor, digest: diffID })) {
        skipped++;
        report('exists', 0);
        return;
      }
      const blob = await source.openBlob(descriptor, { verify: true, signal });
      const { openUncompressed } = await import('@tsbuild/layers'); // not loaded by commands that never convert a layer
      const { compression, stream } = await openUncompressed(blob);
      const verified = stream.pipe(new DigestingStream({ digest: diffID, what: `layer ${digest} (diffID ${diffID}) in ${source.description}` }));
      stream.on('error', (err) => verified.destroy(err));
      report('start', 0, undefined);
      const put = destination.putUncompressedLayer;
      if (!put) throw new Error(`${destination.description} wants uncompressed layers but cannot take them`);
      const size = compression === 'none' ? descriptor.size : undefined;
      await put.call(destination, { diffID, ...(size !== undefined ? { size } : {}) }, counting(verified, (bytes) => report('progress', bytes, undefined)), signal);
      copied++;
      report('done', verified.size, verified.size);
      return;
    }
    if (await destination.hasBlob(descriptor)) {
      skipped++;
      report('exists', 0);
      return;
    }
    report('start', 0);
    let done = 0;
    const open = async (): Promise<Readable> => {
      const blob = await source.openBlob(descriptor, { verify: !destination.verifiesBlobs, signal });
      return counting(blob, (bytes) => report('progress', (done = bytes)));
    };
    try {
      if (source.fetchBlob !== undefined && destination.putFetchedBlob !== undefined && destination.verifiesBlobs) {
        // a worker thread downloads, hashes and writes the blob: its bytes never reach this thread
        const drive = (fetcher: BlobFetcher): Promise<void> => source.fetchBlob!(descriptor, fetcher, signal);
        await destination.putFetchedBlob(descriptor, drive, { ...(signal ? { signal } : {}), onBytes: (bytes) => report('progress', (done = bytes)) });
      } else {
        await destination.putBlob(descriptor, open, signal);
      }
    } catch (err) {
      // a destination that verifies names the blob alone: say where the bad content came from
      if (destination.verifiesBlobs) throw namingSource(err, `blob ${digest} of ${source.description}`);
      throw err;
    }
    copied++;
    report('done', Math.max(done, descriptor.size));
  };
  await Promise.all(manifest.layers.map((layer, i) => limit(() => copyOne(layer, diffIDs[i]!))));

  if (!(await destination.hasBlob(configDescriptor))) {
    await destination.putBlob(configDescriptor, async () => bufferStream(configBytes), signal);
    copied++;
  } else {
    skipped++;
  }
  const names = options.names ?? image.names;
  await destination.putImage({
    manifest: manifestRaw,
    config: { descriptor: configDescriptor, bytes: configBytes },
    layers: manifest.layers,
    diffIDs,
    names,
  });
  return { manifest: manifestRaw, configDigest: parseDigest(configDescriptor.digest), names, blobsSkipped: skipped, blobsCopied: copied };
}

/** For an index, reads the manifest for `platform`; for a manifest, returns it as is. */
async function resolveManifest(source: ImageSource, raw: RawManifest, platform: Platform, signal?: AbortSignal): Promise<RawManifest> {
  const parsed = parseManifest(raw.bytes, raw.mediaType, `manifest ${raw.digest} in ${source.description}`);
  if (parsed.kind === 'manifest') return raw;
  const candidates = parsed.index.manifests.filter((d) => d.platform !== undefined);
  const chosen = candidates.find((d) => platformMatches(platform, { os: d.platform!.os, architecture: d.platform!.architecture, ...(d.platform!.variant ? { variant: d.platform!.variant } : {}) }));
  if (!chosen) {
    const available = candidates.map((d) => formatPlatform({ os: d.platform!.os, architecture: d.platform!.architecture, ...(d.platform!.variant ? { variant: d.platform!.variant } : {}) }));
    throw new UnsupportedMediaTypeError(`${source.description}: no image for platform ${formatPlatform(platform)} (available: ${available.join(', ') || 'none'})`);
  }
  const bytes = await readAll(await source.openBlob(chosen, { verify: true, ...(signal ? { signal } : {}) }));
  return { bytes, digest: parseDigest(chosen.digest), mediaType: chosen.mediaType };
}

function checkLayers(manifest: ImageManifest, where: string): void {
  for (const layer of manifest.layers) {
    if (!isLayerMediaType(layer.mediaType)) {
      throw new UnsupportedMediaTypeError(`${where}: layer ${layer.digest} has unknown media type ${layer.mediaType}`);
    }
    parseDigest(layer.digest, `layer digest in ${where}`);
  }
  parseDigest(manifest.config.digest, `config digest in ${where}`);
}

function checkDiffIDs(manifest: ImageManifest, config: ImageConfig, where: string): Digest[] {
  const diffIDs = config.rootfs.diff_ids.map((d) => parseDigest(d, `diff_id in ${where}`));
  if (diffIDs.length !== manifest.layers.length) {
    throw new InvalidManifestError(`${where}: the manifest has ${manifest.layers.length} layers but the config lists ${diffIDs.length} diff_ids`);
  }
  return diffIDs;
}

/** A digest or size mismatch reported again as one of `what`; any other error as it is. */
function namingSource(error: unknown, what: string): unknown {
  if (error instanceof DigestMismatchError) return new DigestMismatchError(what, error.expected, error.actual);
  if (error instanceof SizeMismatchError) return new SizeMismatchError(what, error.expected, error.actual);
  return error;
}

/** Reads a whole (small) stream. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function bufferStream(data: Buffer): Readable {
  const stream = new PassThrough();
  stream.end(data);
  return stream;
}

const PROGRESS_STEP = 1 << 20;

/** Passes data through, calling `onBytes` about every MiB. */
function counting(source: Readable, onBytes: (bytes: number) => void): Readable {
  let bytes = 0;
  let reported = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      bytes += chunk.length;
      if (bytes - reported >= PROGRESS_STEP) {
        reported = bytes;
        onBytes(bytes);
      }
      callback(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  return source.pipe(counter);
}
