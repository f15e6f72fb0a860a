import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { LayerResult } from '@tsbuild/layers';
import { MediaType, hostPlatform, sha256Digest, type Compression, type Digest, type ImageManifest } from '@tsbuild/oci';
import { storeName, type ImageStore } from '@tsbuild/image';
import { expandInstruction, parseInstruction } from '../dockerfile/index.js';
import { BuildError } from '../executor/errors.js';
import { configBytes, envMap, scratchConfig } from '../executor/image-config.js';
import { applyMetadata, type MetadataInstruction } from '../executor/metadata.js';

/** The instructions `--change` accepts (docker import's list). */
const CHANGE_KEYWORDS = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL']);

/** Options of {@link importImage}. */
export interface ImportOptions {
  /** Dockerfile instructions applied to the new image's config (`--change 'CMD ["sh"]'`). */
  readonly changes?: readonly string[];
  /** The history comment (default `Imported from <source>`). */
  readonly message?: string;
  /** Layer compression (default gzip). */
  readonly compression?: Compression;
  /** Standard input, for `source` `-`. */
  readonly stdin?: Readable;
  readonly signal?: AbortSignal;
}

/** What {@link importImage} made. */
export interface ImportResult {
  readonly id: Digest;
  readonly manifestDigest: Digest;
  readonly name: string;
}

/** Re-encodes a root filesystem tarball (any compression) as a layer, normalising entry names. */
async function layerFromTarball(source: Readable, sink: import('node:stream').Writable, options: ImportOptions): Promise<LayerResult> {
  const { cleanLayerPath, createLayer, openUncompressed, readTar } = await import('@tsbuild/layers');
  const { stream } = await openUncompressed(source);
  return createLayer(
    async (writer) => {
      for await (const entry of readTar(stream)) {
        const parts = cleanLayerPath(entry.path);
        if (parts.length === 0) continue; // the root entry ("./")
        const path = parts.join('/') + (entry.type === 'directory' ? '/' : '');
        const linkname = entry.type === 'hardlink' && entry.linkname !== undefined ? cleanLayerPath(entry.linkname, 'hardlink target', entry.path).join('/') : entry.linkname;
        const header = { ...entry, path, ...(linkname !== undefined ? { linkname } : {}), uname: '', gname: '' };
        if (entry.type === 'file') await writer.addStream(header, entry.body);
        else await writer.add(header);
      }
    },
    sink,
    { compression: options.compression ?? 'gzip', ...(options.signal ? { signal: options.signal } : {}) },
  );
}

/**
 * Makes a one-layer image from a root filesystem — a directory, or a tarball (plain, gzip or zstd; `-` for
 * standard input) — like `docker import`: the config is a new one for this host's platform, with the `--change`
 * instructions applied.
 */
export async function importImage(store: ImageStore, source: string, name: string, options: ImportOptions = {}): Promise<ImportResult> {
  const target = storeName(name);
  const config = scratchConfig(hostPlatform());
  const metadataState = { cmdSet: false };
  for (const change of options.changes ?? []) {
    const instruction = parseInstruction(change, { filename: '--change' });
    if (!CHANGE_KEYWORDS.has(instruction.keyword)) {
      throw new BuildError(undefined, `--change ${instruction.keyword} is not allowed (use one of ${[...CHANGE_KEYWORDS].join(', ')})`);
    }
    const { instruction: expanded } = expandInstruction(instruction, envMap(config.config.Env));
    applyMetadata(config, expanded as MetadataInstruction, metadataState);
  }
  let kind: 'directory' | 'tarball';
  if (source === '-') {
    kind = 'tarball';
  } else {
    const info = await stat(source).catch(() => undefined);
    if (!info) throw new BuildError(undefined, `import source ${source} does not exist`);
    kind = info.isDirectory() ? 'directory' : 'tarball';
  }
  let layer: LayerResult | undefined;
  await store.layout.ingestBlob(async (sink) => {
    if (kind === 'directory') {
      const { createLayerFromDirectory } = await import('@tsbuild/layers');
      layer = await createLayerFromDirectory(source, sink, { compression: options.compression ?? 'gzip', ...(options.signal ? { signal: options.signal } : {}) });
    } else {
      const input = source === '-' ? options.stdin : createReadStream(source, { highWaterMark: 1 << 20 });
      if (!input) throw new BuildError(undefined, 'no standard input to import from');
      layer = await layerFromTarball(input, sink, options);
    }
    return { digest: layer.digest, size: layer.size };
  });
  const created = new Date().toISOString();
  config.created = created;
  config.rootfs.diff_ids.push(layer!.diffID);
  config.history.push({ created, created_by: `tsbuild import ${source}`, comment: options.message ?? `Imported from ${source}` });
  const bytes = configBytes(config);
  const configDigest = sha256Digest(bytes);
  await store.layout.putBlobBytes(bytes, configDigest);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: bytes.length },
    layers: [{ mediaType: layer!.mediaType, digest: layer!.digest, size: layer!.size }],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = sha256Digest(manifestBytes);
  await store.addImage({ bytes: manifestBytes, digest: manifestDigest, mediaType: MediaType.ociManifest }, [target]);
  return { id: configDigest, manifestDigest, name: target };
}
