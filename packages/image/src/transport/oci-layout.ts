import type { Readable } from 'node:stream';
import { parseDigest, type Descriptor, type Digest } from '@tsbuild/oci';
import { groupIndexEntries } from '../layout/index-entries.js';
import { CONTAINERD_NAME_ANNOTATION, OciLayout, REF_NAME_ANNOTATION } from '../layout/oci-layout.js';
import { fullReferenceName } from '../store/names.js';
import { nameFromAnnotations } from './archive-names.js';
import type { BlobOpener, DestinationImage, ImageDestination, ImageSource, SourceBlobOptions, SourceImage } from './types.js';

/**
 * An OCI image layout directory as a copy source (`oci:DIR`), e.g. one written by skopeo, umoci or
 * {@link OciLayoutDestination}. Names come from `org.opencontainers.image.ref.name` (and containerd's name).
 */
export class OciLayoutSource implements ImageSource {
  readonly description: string;
  private readonly layout: OciLayout;

  constructor(dir: string) {
    this.layout = new OciLayout(dir);
    this.description = `oci:${dir}`;
  }

  async listImages(): Promise<SourceImage[]> {
    await this.layout.validate();
    const index = await this.layout.readIndex();
    const images: SourceImage[] = [];
    for (const { descriptor, names } of groupIndexEntries(index.manifests, (d) => nameFromAnnotations(d.annotations))) {
      const bytes = await this.layout.readBlob(descriptor);
      images.push({ names, manifest: { bytes, digest: parseDigest(descriptor.digest), mediaType: descriptor.mediaType } });
    }
    return images;
  }

  async openBlob(descriptor: Descriptor, options: SourceBlobOptions = {}): Promise<Readable> {
    return this.layout.openBlob(descriptor, { verify: options.verify ?? true });
  }

  async close(): Promise<void> {}
}

/**
 * An OCI image layout directory as a copy destination: blobs verified and renamed into place as they arrive,
 * `index.json` rewritten (atomically) at commit with one entry per name. Existing entries for other names stay.
 */
export class OciLayoutDestination implements ImageDestination {
  readonly description: string;
  readonly layerFormat = 'preserve' as const;
  readonly verifiesBlobs = true;
  private readonly layout: OciLayout;
  private readonly entries: Descriptor[] = [];
  private initialized = false;

  constructor(dir: string) {
    this.layout = new OciLayout(dir);
    this.description = `oci:${dir}`;
  }

  private async init(): Promise<void> {
    if (this.initialized) return;
    await this.layout.init();
    this.initialized = true;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.layout.hasBlob(parseDigest(descriptor.digest), descriptor.size);
  }

  async putBlob(descriptor: Descriptor, open: BlobOpener, signal?: AbortSignal): Promise<void> {
    await this.init();
    await this.layout.putBlob(descriptor, await open(), signal);
  }

  async putImage(image: DestinationImage): Promise<void> {
    await this.init();
    const { manifest } = image;
    await this.layout.putBlobBytes(manifest.bytes, manifest.digest);
    const base = { mediaType: manifest.mediaType, digest: manifest.digest as Digest, size: manifest.bytes.length };
    if (image.names.length === 0) this.entries.push(base);
    for (const name of image.names) {
      this.entries.push({ ...base, annotations: { [REF_NAME_ANNOTATION]: name, [CONTAINERD_NAME_ANNOTATION]: fullReferenceName(name) } });
    }
  }

  async commit(): Promise<void> {
    await this.init();
    await this.layout.syncBlobs();
    const index = await this.layout.readIndex();
    const names = new Set(this.entries.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((n) => n !== undefined));
    const kept = index.manifests.filter((d) => {
      const name = d.annotations?.[REF_NAME_ANNOTATION];
      return name === undefined ? !this.entries.some((e) => e.digest === d.digest) : !names.has(name);
    });
    await this.layout.writeIndex({ ...index, manifests: [...kept, ...this.entries] });
  }

  async abort(): Promise<void> {}
}
