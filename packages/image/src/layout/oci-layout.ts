import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DigestingStream,
  SizeMismatchError,
  verifyBytes,
  type ExpectedContent,
  ImageIndexSchema,
  InvalidManifestError,
  MediaType,
  OciLayoutSchema,
  digestHex,
  parseDigest,
  type Descriptor,
  type Digest,
  type ImageIndex,
} from '@tsbuild/oci';
import { MissingBlobError, StoreError } from '../errors.js';
import { fsyncDirectory, tempName, writeFileAtomic } from '../fs/atomic.js';
import { HashingFileSink } from '../fs/hashing-file-sink.js';
import { fetchIntoFile, type FetchDriver } from '../fs/worker-fetch.js';

/** The `oci-layout` file content this project writes. */
export const OCI_LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}';

/** The annotation that names an image in an OCI layout's `index.json`. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** The annotation containerd and Docker put the full image name in. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** Options for reading a blob. */
export interface OpenBlobOptions {
  /** Verify digest and size while reading (default true). Turn off only when the consumer verifies. */
  verify?: boolean;
}

/**
 * An OCI image layout directory (image-spec `image-layout.md`): `oci-layout`, `index.json` and
 * `blobs/sha256/<hex>`. Blobs are written through a staging directory on the same filesystem and become visible
 * only once their digest and size are verified.
 */
export class OciLayout {
  /** The layout directory. */
  readonly dir: string;
  /** Where temporary files are written before being renamed into place. */
  readonly stagingDir: string;

  constructor(dir: string, stagingDir = join(dir, '.staging')) {
    this.dir = dir;
    this.stagingDir = stagingDir;
  }

  /** Creates the layout's files if they are missing. */
  async init(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await mkdir(this.stagingDir, { recursive: true });
    const layoutFile = join(this.dir, 'oci-layout');
    if (!(await exists(layoutFile))) await writeFileAtomic(layoutFile, OCI_LAYOUT_CONTENT, this.stagingDir);
    const indexFile = join(this.dir, 'index.json');
    if (!(await exists(indexFile))) await this.writeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
  }

  /** Checks that the directory is an OCI layout this project can read. */
  async validate(): Promise<void> {
    const layoutFile = join(this.dir, 'oci-layout');
    let text: string;
    try {
      text = await readFile(layoutFile, 'utf8');
    } catch {
      throw new StoreError(`${this.dir} is not an OCI image layout: oci-layout is missing`);
    }
    const parsed = OciLayoutSchema.safeParse(safeJson(text));
    if (!parsed.success || !parsed.data.imageLayoutVersion.startsWith('1.')) {
      throw new StoreError(`${this.dir}: unsupported oci-layout ${text.trim()}`);
    }
  }

  /** The path of a blob (whether or not it exists). */
  blobPath(digest: Digest): string {
    return join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  /** Whether the blob is present (and, if `size` is given, has that size). */
  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    try {
      const info = await stat(this.blobPath(digest));
      return info.isFile() && (size === undefined || info.size === size);
    } catch {
      return false;
    }
  }

  /** Opens a blob for reading; by default the stream fails at its end if digest or size are not the descriptor's. */
  async openBlob(descriptor: Pick<Descriptor, 'digest' | 'size'>, options: OpenBlobOptions = {}): Promise<Readable> {
    const digest = parseDigest(descriptor.digest);
    const path = this.blobPath(digest);
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new MissingBlobError(this.dir, digest);
      throw err;
    });
    const file = createReadStream('', { fd: handle, highWaterMark: 1 << 20 });
    if (options.verify === false) return file;
    const verifier = new DigestingStream({ digest, size: descriptor.size, what: `${this.dir}: blob ${digest}` });
    file.on('error', (err) => verifier.destroy(err));
    return file.pipe(verifier);
  }

  /** Reads a whole (small) blob into memory, verified. */
  async readBlob(descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
    const stream = await this.openBlob(descriptor);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * Writes a blob from a stream. The content goes to a staging file, is verified against the descriptor's digest
   * and size, fsynced, and only then renamed into `blobs/`. Idempotent: an existing blob is left as it is.
   * Call {@link syncBlobs} before publishing anything that refers to the blob.
   * A blob over 1 MiB is hashed and written by a worker thread (the main thread only copies its bytes); a smaller one
   * is gathered in memory, checked and written at once.
   * With `verify: false` the content is not hashed here (its size is still enforced): only for a source that fails
   * at its end unless its content has the descriptor's digest, so a blob is hashed once.
   */
  async putBlob(descriptor: Pick<Descriptor, 'digest' | 'size'>, source: Readable, signal?: AbortSignal, options: { verify?: boolean } = {}): Promise<void> {
    const digest = parseDigest(descriptor.digest);
    const expected: ExpectedContent = { ...(options.verify === false ? {} : { digest }), size: descriptor.size, what: `blob ${digest}` };
    try {
      await this.stageBlob(digest, async (handle) => {
        if (descriptor.size <= SMALL_BLOB_BYTES) await handle.writeFile(await readChecked(source, expected, signal));
        else await writeInWorker(handle.fd, source, expected, signal);
      });
    } catch (err) {
      source.destroy();
      throw err;
    }
  }

  /**
   * Writes a blob that a worker thread downloads itself (see {@link fetchIntoFile}): `drive` makes the requests
   * through the fetcher it is given. Staged, verified (digest and size), fsynced and renamed into place like
   * {@link putBlob}: nothing half-written or unverified is ever visible.
   */
  async fetchBlob(descriptor: Pick<Descriptor, 'digest' | 'size'>, drive: FetchDriver, options: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {}): Promise<void> {
    const digest = parseDigest(descriptor.digest);
    await this.stageBlob(digest, (handle) => fetchIntoFile(handle.fd, drive, { digest, size: descriptor.size, what: `blob ${digest}` }, options));
  }

  /** Writes a blob into a staging file with `write`, fsyncs it and renames it into place; removes it on failure. */
  private async stageBlob(digest: Digest, write: (handle: FileHandle) => Promise<void>): Promise<void> {
    await mkdir(this.stagingDir, { recursive: true });
    const temp = join(this.stagingDir, tempName(`blob-${digestHex(digest).slice(0, 12)}`));
    try {
      const handle = await open(temp, 'wx', 0o644);
      try {
        await write(handle);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.blobPath(digest));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Writes a small blob from memory (verified like {@link putBlob}) and returns its descriptor fields. */
  async putBlobBytes(data: Uint8Array, digest: Digest): Promise<void> {
    if (await this.hasBlob(digest, data.length)) return;
    await this.putBlob({ digest, size: data.length }, Readable.from([Buffer.from(data)]));
  }

  /**
   * Writes a blob whose digest is known only once it is written (a layer being created): `write` gets a staging
   * file's stream and returns the digest and size it measured; the file is fsynced and renamed into place. The
   * writer is trusted to measure what it wrote (the layer engine hashes the bytes as it writes them).
   */
  async ingestBlob(write: (sink: Writable) => Promise<{ digest: Digest; size: number }>): Promise<{ digest: Digest; size: number }> {
    await mkdir(this.stagingDir, { recursive: true });
    const temp = join(this.stagingDir, tempName('ingest'));
    const handle = await open(temp, 'wx', 0o644);
    try {
      const sink = createWriteStream('', { fd: handle, highWaterMark: 1 << 20 });
      const closed = new Promise<void>((resolve, reject) => {
        sink.once('close', () => resolve());
        sink.once('error', reject);
      });
      const result = await write(sink);
      if (!sink.writableEnded) sink.end();
      await closed;
      const size = (await stat(temp)).size;
      if (size !== result.size) throw new StoreError(`blob ${result.digest}: ${size} bytes written but ${result.size} reported`);
      const sync = await open(temp, 'r');
      await sync.sync();
      await sync.close();
      await rename(temp, this.blobPath(result.digest));
      return result;
    } catch (err) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Makes blob renames durable (fsync of `blobs/sha256`). */
  async syncBlobs(): Promise<void> {
    await fsyncDirectory(join(this.dir, 'blobs', 'sha256'));
  }

  /** Reads and validates `index.json`. */
  async readIndex(): Promise<ImageIndex> {
    const path = join(this.dir, 'index.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreError(`${this.dir} is not an OCI image layout: index.json is missing`);
      throw err;
    }
    const parsed = ImageIndexSchema.safeParse(safeJson(text));
    if (!parsed.success) throw new InvalidManifestError(`${path} is not a valid image index`);
    return parsed.data;
  }

  /** Replaces `index.json` atomically. */
  async writeIndex(index: ImageIndex): Promise<void> {
    await writeFileAtomic(join(this.dir, 'index.json'), `${JSON.stringify(index)}\n`, this.stagingDir);
  }
}

/** Blobs up to this size are gathered in memory and written at once; larger ones stream through a worker thread. */
const SMALL_BLOB_BYTES = 1 << 20;

/** Reads a small stream whole, failing as soon as it is longer than expected, and checks size and digest. */
async function readChecked(source: Readable, expected: ExpectedContent, signal?: AbortSignal): Promise<Buffer> {
  const { size, what = 'content' } = expected;
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    length += chunk.length;
    if (size !== undefined && length > size) throw new SizeMismatchError(what, size, length);
    chunks.push(chunk);
  }
  signal?.throwIfAborted();
  const data = Buffer.concat(chunks, length);
  if (expected.digest !== undefined) verifyBytes(data, expected);
  else if (size !== undefined && length !== size) throw new SizeMismatchError(what, size, length);
  return data;
}

/** Streams `source` into the open file `fd` through a {@link HashingFileSink}; returns once the worker is done with it. */
async function writeInWorker(fd: number, source: Readable, expected: ExpectedContent, signal?: AbortSignal): Promise<void> {
  const sink = new HashingFileSink(fd, { expected });
  try {
    await pipeline(source, sink, ...(signal ? [{ signal }] : []));
  } finally {
    if (!sink.writableFinished) sink.destroy();
    await sink.settled();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
