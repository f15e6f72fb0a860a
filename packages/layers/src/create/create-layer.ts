import { statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestingStream, layerMediaType, type Compression, type Digest } from '@tsbuild/oci';
import { compressStream } from '../compression/streams.js';
import { asLayerError, LayerError, type WarningHandler } from '../errors.js';
import { TarWriter } from '../tar/writer.js';
import { writeTreeEntries, type TreeEntriesOptions } from './tree-entries.js';

/** What a layer creation produced. */
export interface LayerResult {
  /** sha256 of the blob as written to the sink (compressed): the descriptor digest. */
  digest: Digest;
  /** sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry. */
  diffID: Digest;
  /** Bytes written to the sink. */
  size: number;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
  /** The layer media type for the compression (OCI unless `mediaTypeFlavour` is `docker`). */
  mediaType: string;
  /** How the blob is compressed. */
  compression: Compression;
}

/** Progress of a layer being written. */
export interface LayerProgress {
  /** Entries written so far. */
  entries: number;
  /** Uncompressed bytes produced so far. */
  bytes: number;
}

/** Options shared by every way of creating a layer. */
export interface CreateLayerOptions {
  /** Blob compression (default `gzip`). */
  compression?: Compression;
  /** Compression level (gzip default 6, zstd default 3). Same tree + level + compression → same digest. */
  level?: number;
  /** Clamp file mtimes to at most this many seconds since the epoch (`SOURCE_DATE_EPOCH`). */
  sourceDateEpoch?: number;
  /** Abort the creation; the sink is destroyed. */
  signal?: AbortSignal;
  /** Told about things left out (sockets). */
  onWarning?: WarningHandler;
  /** Called as the tar grows (about once per MiB). */
  onProgress?: (progress: LayerProgress) => void;
  /** Media type family of {@link LayerResult.mediaType} (default `oci`). */
  mediaTypeFlavour?: 'oci' | 'docker';
  /** gzip: members compressed at once (see `GzipOptions.concurrency`); does not change the output. */
  concurrency?: number;
}

function closedError(stream: Writable): Error {
  return stream.errored ?? new LayerError('the layer stream was closed early');
}

function waitForDrain(stream: Writable): Promise<void> {
  if (stream.destroyed) return Promise.reject(closedError(stream));
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onError);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(closedError(stream));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onError);
  });
}

/**
 * Creates a layer from entries a callback writes into a {@link TarWriter}: the tar is hashed (diffID), compressed
 * and hashed again (digest) in one streaming pass into `sink`, which is ended when the layer is complete (and
 * destroyed if anything fails; the caller removes what it wrote). The building block of
 * {@link createLayerFromDirectory} and {@link createLayerFromUpperDir}; a builder can use it to write entries that
 * do not exist on disk.
 */
export async function createLayer(
  produce: (writer: TarWriter) => Promise<void>,
  sink: Writable,
  options: CreateLayerOptions = {},
): Promise<LayerResult> {
  const compression = options.compression ?? 'gzip';
  const diff = new DigestingStream();
  const compressor = compressStream(compression, {
    ...(options.level !== undefined ? { level: options.level } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
  });
  const blob = new DigestingStream();
  const writer = new TarWriter(async (chunk) => {
    if (diff.destroyed) throw closedError(diff);
    if (!diff.write(chunk)) await waitForDrain(diff);
    options.onProgress?.({ entries: writer.entries, bytes: writer.bytesWritten });
  });
  const piping = pipeline(diff, compressor, blob, sink, ...(options.signal !== undefined ? [{ signal: options.signal }] : []));
  const producing = (async () => {
    await produce(writer);
    await writer.finish();
    diff.end();
  })();
  producing.catch((error: unknown) => diff.destroy(error instanceof Error ? error : new Error(String(error))));
  try {
    await Promise.all([producing, piping]);
  } catch (error) {
    // The producer's own error is the one that explains what happened; a pipeline error follows from it.
    const first = await producing.then(
      () => error,
      (producerError: unknown) => producerError,
    );
    throw asLayerError(first);
  }
  return {
    digest: blob.digest!,
    diffID: diff.digest!,
    size: blob.size,
    uncompressedSize: diff.size,
    mediaType: layerMediaType(compression, options.mediaTypeFlavour ?? 'oci'),
    compression,
  };
}

function checkDirectory(dir: string, what: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (error) {
    throw new LayerError(`${what} ${dir} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (!isDirectory) throw new LayerError(`${what} ${dir} is not a directory`);
}

/** Options of {@link createLayerFromDirectory}. */
export interface DirectoryLayerOptions extends CreateLayerOptions {
  /** Relative paths left out together with everything below them. */
  exclude?: string[];
  /** Rewrites or drops headers: a destination prefix, owners, modes (see {@link TreeEntriesOptions.map}). */
  map?: TreeEntriesOptions['map'];
}

/**
 * Creates a layer holding everything under `dir` (not `dir` itself): sorted entries, numeric owners with empty
 * names, modes, mtimes (clamped to `sourceDateEpoch` if given), xattrs including `security.capability`,
 * hardlinks, symlinks, devices and fifos; sockets are left out with a warning. The same tree gives the same
 * diffID whatever the inode order, umask, atime or host user names; with a fixed `sourceDateEpoch` at or below
 * every mtime, compression and level, the same digest.
 */
export async function createLayerFromDirectory(dir: string, sink: Writable, options: DirectoryLayerOptions = {}): Promise<LayerResult> {
  checkDirectory(dir, 'directory');
  return createLayer((writer) => writeTreeEntries(writer, dir, { ...options, overlay: false }), sink, options);
}

/** Options of {@link createLayerFromUpperDir}. */
export interface UpperDirLayerOptions extends CreateLayerOptions {
  /** Paths relative to the upper dir that the executor created as mount points (`dev`, `etc/hosts`, ...): left out. */
  exclude?: string[];
}

/**
 * Creates a layer from an overlayfs upper directory: what changed in the merged view. A char 0/0 device (the
 * kernel's whiteout) becomes `.wh.<name>`, a directory marked `trusted.overlay.opaque=y` (or `user.overlay.opaque`)
 * becomes that directory plus `.wh..wh..opq`, overlay's own xattrs are left out, and `exclude` paths are skipped.
 * Only the upper directory is read, so the cost follows what changed, not the size of the image below. Fails with
 * a {@link LayerError} for uppers written with `redirect_dir` or `metacopy` (mount with both off).
 */
export async function createLayerFromUpperDir(upperDir: string, sink: Writable, options: UpperDirLayerOptions = {}): Promise<LayerResult> {
  checkDirectory(upperDir, 'upper directory');
  return createLayer((writer) => writeTreeEntries(writer, upperDir, { ...options, overlay: true }), sink, options);
}
