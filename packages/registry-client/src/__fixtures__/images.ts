import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { MediaType, sha256Digest, type Digest } from '@tsbuild/oci';
import type { RegistryClient, UploadResult } from '../client.js';

/** A blob kept in memory (small test content). */
export interface MemoryBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  bytes: Buffer;
}

/** A blob kept in a file (large test content). */
export interface FileBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  path: string;
}

/** A test image: config and layers plus its manifest bytes. */
export interface TestImage {
  config: MemoryBlob;
  layers: Array<MemoryBlob | FileBlob>;
  manifest: Buffer;
  manifestDigest: Digest;
  mediaType: string;
}

/** Random bytes as a layer blob. */
export function memoryBlob(size: number, mediaType: string = MediaType.ociLayerGzip): MemoryBlob {
  const bytes = randomBytes(size);
  return { digest: sha256Digest(bytes), size, mediaType, bytes };
}

/** A real gzip stream of `size` random bytes as a layer blob (tools that sniff compression leave it as it is). */
export function gzipBlob(size: number): MemoryBlob {
  const bytes = gzipSync(randomBytes(size), { level: 1 });
  return { digest: sha256Digest(bytes), size: bytes.length, mediaType: MediaType.ociLayerGzip, bytes };
}

/** Writes `size` random bytes to `path` (1 MiB at a time) and returns the blob. */
export async function fileBlob(path: string, size: number, mediaType: string = MediaType.ociLayerGzip): Promise<FileBlob> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const chunk = 1024 * 1024;
  for (let written = 0; written < size; written += chunk) {
    const data = randomBytes(Math.min(chunk, size - written));
    hash.update(data);
    if (!out.write(data)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { digest: `sha256:${hash.digest('hex')}`, size, mediaType, path };
}

/** Builds an image (OCI by default) around layers. */
export function makeImage(layers: Array<MemoryBlob | FileBlob>, options: { docker?: boolean; architecture?: string; variant?: string; label?: string } = {}): TestImage {
  const docker = options.docker ?? false;
  const configJson = {
    architecture: options.architecture ?? 'amd64',
    ...(options.variant ? { variant: options.variant } : {}),
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/bin'], Labels: { test: options.label ?? randomBytes(4).toString('hex') } },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
    history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'test' })),
  };
  const configBytes = Buffer.from(JSON.stringify(configJson));
  const config: MemoryBlob = { digest: sha256Digest(configBytes), size: configBytes.length, mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, bytes: configBytes };
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((layer) => ({ mediaType: docker ? MediaType.dockerLayerGzip : layer.mediaType, digest: layer.digest, size: layer.size })),
    }),
  );
  return { config, layers, manifest, manifestDigest: sha256Digest(manifest), mediaType };
}

/** Opens a blob's content as a stream. */
export function openBlob(blob: MemoryBlob | FileBlob): Readable {
  if ('path' in blob) return createReadStream(blob.path, { highWaterMark: 1024 * 1024 });
  return Readable.from([blob.bytes]);
}

/** Pushes an image's blobs (config and layers) and then its manifest under `tag`; returns what each upload did. */
export async function pushImage(client: RegistryClient, repository: string, tag: string, image: TestImage, options: { mountFrom?: string[] } = {}): Promise<UploadResult[]> {
  const results = await Promise.all(
    [image.config, ...image.layers].map((blob) =>
      client.uploadBlob(repository, blob, () => openBlob(blob), options.mountFrom ? { mountFrom: options.mountFrom } : {}),
    ),
  );
  await client.putManifest(repository, tag, image.manifest, image.mediaType);
  return results;
}

/** Reads a whole stream (test sizes only). */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Drains a stream, returning its sha256 and size without keeping it. */
export async function digestOf(stream: NodeJS.ReadableStream): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
