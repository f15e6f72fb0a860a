import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import {
  DigestingStream,
  DockerArchiveManifestSchema,
  MediaType,
  TsbuildError,
  layerMediaType,
  parseDigest,
  parseImageConfig,
  parseManifest,
  sha256Digest,
  type Descriptor,
  type Digest,
  type DockerArchiveEntry,
  type ImageManifest,
} from '@tsbuild/oci';
import type { ArchiveFile } from '../archive/archive-file.js';
import type { TarEntryLocation } from '../archive/tar-index.js';
import { ArchiveError } from '../errors.js';
import { storeName } from '../store/names.js';
import { openLayoutBlob, parseJson, readArchiveIndex, readLayoutBlob } from './oci-archive-source.js';
import type { ImageSource, SourceBlobOptions, SourceImage } from './types.js';

/**
 * A `docker save` archive (`docker-archive:`): `manifest.json` with `Config`, `RepoTags` and `Layers`, the
 * config JSON and the layer tars. The newer Docker format, which is also an OCI layout, is read through its
 * OCI manifests so their digests are kept. For the older format the archive holds no manifest, so one is made
 * (OCI, deterministic); layers are kept as they are (usually uncompressed, digest = diffID).
 */
export class DockerArchiveSource implements ImageSource {
  readonly description: string;
  private readonly archive: ArchiveFile;
  /** Where each blob of a made-up manifest lies in the archive. */
  private readonly blobs = new Map<string, { entry: TarEntryLocation; size: number }>();
  private ociLayout = false;

  constructor(archive: ArchiveFile) {
    this.archive = archive;
    this.description = `docker-archive:${archive.label}`;
  }

  async listImages(): Promise<SourceImage[]> {
    const json = parseJson(this.archive, await this.archive.readSmall('manifest.json'), 'manifest.json');
    const parsed = DockerArchiveManifestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ArchiveError(this.archive.label, `invalid docker-archive manifest${issue ? ` at ${issue.path.join('.')}: ${issue.message}` : ''}`, 'manifest.json');
    }
    if (parsed.data.length === 0) throw new ArchiveError(this.archive.label, 'no images listed', 'manifest.json');
    if (this.archive.has('index.json') && this.archive.has('oci-layout')) {
      this.ociLayout = true;
      return this.listFromOciLayout(parsed.data);
    }
    const images: SourceImage[] = [];
    for (const entry of parsed.data) images.push(await this.imageFromEntry(entry));
    return images;
  }

  /** Docker 25+: the archive is an OCI layout; manifest.json gives the names. */
  private async listFromOciLayout(entries: DockerArchiveEntry[]): Promise<SourceImage[]> {
    const index = await readArchiveIndex(this.archive);
    const byConfig = new Map<string, SourceImage>();
    for (const descriptor of index.manifests) {
      const bytes = await readLayoutBlob(this.archive, descriptor);
      const manifest = parseManifest(bytes, descriptor.mediaType, `${this.archive.label}: manifest ${descriptor.digest}`);
      if (manifest.kind !== 'manifest') continue;
      byConfig.set(manifest.manifest.config.digest, { names: [], manifest: { bytes, digest: parseDigest(descriptor.digest), mediaType: descriptor.mediaType } });
    }
    const images: SourceImage[] = [];
    for (const entry of entries) {
      const configDigest = digestFromPath(entry.Config);
      const image = configDigest ? byConfig.get(configDigest) : undefined;
      if (!image) throw new ArchiveError(this.archive.label, `no manifest in index.json for config ${entry.Config}`, 'manifest.json');
      images.push({ names: this.names(entry), manifest: image.manifest });
    }
    return images;
  }

  private names(entry: DockerArchiveEntry): string[] {
    return (entry.RepoTags ?? []).map((tag) => {
      try {
        return storeName(tag);
      } catch (err) {
        throw new ArchiveError(this.archive.label, `invalid RepoTags entry: ${(err as Error).message}`, 'manifest.json');
      }
    });
  }

  /** Older format: make an OCI manifest for the config and layer files. */
  private async imageFromEntry(entry: DockerArchiveEntry): Promise<SourceImage> {
    const configEntry = this.archive.resolve(entry.Config);
    const configBytes = await this.archive.readSmall(entry.Config);
    const configDigest = sha256Digest(configBytes);
    const named = digestFromPath(entry.Config);
    if (named !== undefined && named !== configDigest) {
      throw new ArchiveError(this.archive.label, `digest mismatch: the file is named for ${named} but its content is ${configDigest}`, entry.Config);
    }
    let config;
    try {
      config = parseImageConfig(configBytes, 'image config');
    } catch (err) {
      throw new ArchiveError(this.archive.label, (err as Error).message, entry.Config);
    }
    const diffIDs = config.rootfs.diff_ids;
    if (diffIDs.length !== entry.Layers.length) {
      throw new ArchiveError(this.archive.label, `${entry.Layers.length} layers listed but the config has ${diffIDs.length} diff_ids`, 'manifest.json');
    }
    this.blobs.set(configDigest, { entry: configEntry, size: configBytes.length });
    const layers: Descriptor[] = [];
    for (const [i, layerPath] of entry.Layers.entries()) {
      const location = this.archive.resolve(layerPath);
      const diffID = parseDigest(diffIDs[i]!, `diff_id ${i}`);
      layers.push(await this.describeLayer(layerPath, location, diffID));
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    return { names: this.names(entry), manifest: { bytes, digest: sha256Digest(bytes), mediaType: MediaType.ociManifest } };
  }

  /**
   * An uncompressed layer's digest is its diffID (checked while it is copied). A compressed one is hashed here,
   * and its diffID checked against the config, before anything is copied.
   */
  private async describeLayer(path: string, location: TarEntryLocation, diffID: Digest): Promise<Descriptor> {
    const { detectCompression, openUncompressed } = await import('@tsbuild/layers');
    const head = await this.archive.readEntryHead(location, 4);
    if (detectCompression(head) === 'none') {
      this.blobs.set(diffID, { entry: location, size: location.size });
      return { mediaType: MediaType.ociLayer, digest: diffID, size: location.size };
    }
    const compressedHash = new DigestingStream();
    const source = this.archive.openEntry(location);
    const tee = source.pipe(compressedHash);
    const { compression, stream } = await openUncompressed(tee);
    const uncompressedHash = new DigestingStream({ digest: diffID, what: `${this.archive.label}: ${path}` });
    try {
      await pipeline(stream, uncompressedHash, new Writable({ write: (_chunk, _enc, done) => done() }));
    } catch (err) {
      if (err instanceof TsbuildError) throw new ArchiveError(this.archive.label, err.message.replace(`${this.archive.label}: ${path}: `, ''), path);
      throw new ArchiveError(this.archive.label, `corrupt ${compression} data: ${(err as Error).message}`, path);
    }
    const digest = compressedHash.digest!;
    this.blobs.set(digest, { entry: location, size: location.size });
    return { mediaType: layerMediaType(compression), digest, size: location.size };
  }

  async openBlob(descriptor: Descriptor, options: SourceBlobOptions = {}): Promise<Readable> {
    if (this.ociLayout) return openLayoutBlob(this.archive, descriptor, options);
    const digest = parseDigest(descriptor.digest);
    const blob = this.blobs.get(digest);
    if (!blob) throw new ArchiveError(this.archive.label, `blob ${digest} is not in the archive`);
    const stream = this.archive.openEntry(blob.entry);
    if (options.verify === false) return stream;
    const verifier = new DigestingStream({ digest, size: descriptor.size, what: `${this.archive.label}: ${blob.entry.name}` });
    stream.on('error', (err) => verifier.destroy(err));
    return stream.pipe(verifier);
  }

  async close(): Promise<void> {
    await this.archive.close();
  }
}

/** `sha256:<hex>` for paths named by a digest (`<hex>.json`, `blobs/sha256/<hex>`), else undefined. */
function digestFromPath(path: string): Digest | undefined {
  const name = basename(path).replace(/\.json$/, '');
  if (/^[a-f0-9]{64}$/.test(name)) return `sha256:${name}`;
  return undefined;
}
