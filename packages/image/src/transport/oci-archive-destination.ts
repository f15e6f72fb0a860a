import { MediaType, parseDigest, type Descriptor, type Digest, type ImageIndex } from '@tsbuild/oci';
import type { ArchiveTarWriter } from '../archive/tar-writer.js';
import { CONTAINERD_NAME_ANNOTATION, OCI_LAYOUT_CONTENT, REF_NAME_ANNOTATION } from '../layout/oci-layout.js';
import { fullReferenceName } from '../store/names.js';
import { layoutBlobPath } from './oci-archive-source.js';
import type { BlobOpener, DestinationImage, ImageDestination } from './types.js';

/**
 * Writes an OCI image layout into a tar (`oci-archive:`): `oci-layout`, `blobs/sha256/*` (each once, however many
 * images share it) and, at commit, `index.json` with one entry per name (`org.opencontainers.image.ref.name` and
 * containerd's `io.containerd.image.name`).
 */
export class OciArchiveDestination implements ImageDestination {
  readonly description: string;
  readonly layerFormat = 'preserve' as const;
  readonly verifiesBlobs = false;
  private readonly writer: ArchiveTarWriter;
  private readonly written = new Set<Digest>();
  private readonly manifests: Descriptor[] = [];
  private started = false;

  constructor(writer: ArchiveTarWriter, label: string) {
    this.writer = writer;
    this.description = `oci-archive:${label}`;
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.writer.addBuffer('oci-layout', Buffer.from(OCI_LAYOUT_CONTENT));
    await this.writer.addDirectory('blobs');
    await this.writer.addDirectory('blobs/sha256');
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.written.has(parseDigest(descriptor.digest));
  }

  async putBlob(descriptor: Descriptor, open: BlobOpener): Promise<void> {
    await this.start();
    const digest = parseDigest(descriptor.digest);
    await this.writer.addStream(layoutBlobPath(digest), descriptor.size, await open());
    this.written.add(digest);
  }

  async putImage(image: DestinationImage): Promise<void> {
    await this.start();
    const { manifest } = image;
    if (!this.written.has(manifest.digest)) {
      await this.writer.addBuffer(layoutBlobPath(manifest.digest), manifest.bytes);
      this.written.add(manifest.digest);
    }
    const base = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    if (image.names.length === 0) this.manifests.push(base);
    for (const name of image.names) {
      this.manifests.push({ ...base, annotations: { [CONTAINERD_NAME_ANNOTATION]: fullReferenceName(name), [REF_NAME_ANNOTATION]: name } });
    }
  }

  async commit(): Promise<void> {
    await this.start();
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: this.manifests };
    await this.writer.addBuffer('index.json', Buffer.from(JSON.stringify(index)));
    await this.writer.finish();
  }

  async abort(): Promise<void> {
    await this.writer.abort();
  }
}
