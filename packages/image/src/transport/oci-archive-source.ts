import type { Readable } from 'node:stream';
import { DigestingStream, ImageIndexSchema, OciLayoutSchema, digestHex, parseDigest, verifyBytes, type Descriptor, type Digest, type ImageIndex } from '@tsbuild/oci';
import type { ArchiveFile } from '../archive/archive-file.js';
import { ArchiveError } from '../errors.js';
import { groupIndexEntries } from '../layout/index-entries.js';
import { nameFromAnnotations } from './archive-names.js';
import type { ImageSource, SourceBlobOptions, SourceImage } from './types.js';

/** The path of a blob inside an OCI layout. */
export function layoutBlobPath(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/** Reads and validates the `index.json` of an OCI layout inside an archive. */
export async function readArchiveIndex(archive: ArchiveFile): Promise<ImageIndex> {
  if (archive.has('oci-layout')) {
    const layout = OciLayoutSchema.safeParse(parseJson(archive, await archive.readSmall('oci-layout'), 'oci-layout'));
    if (!layout.success) throw new ArchiveError(archive.label, 'invalid oci-layout file', 'oci-layout');
  }
  const parsed = ImageIndexSchema.safeParse(parseJson(archive, await archive.readSmall('index.json'), 'index.json'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArchiveError(archive.label, `invalid image index${issue ? ` at ${issue.path.join('.')}: ${issue.message}` : ''}`, 'index.json');
  }
  return parsed.data;
}

/** Parses a JSON entry of an archive, with an error naming the entry. */
export function parseJson(archive: ArchiveFile, bytes: Buffer, entry: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ArchiveError(archive.label, `invalid JSON: ${(err as Error).message}`, entry);
  }
}

/** Opens a blob of an OCI layout inside an archive, verifying it unless told not to. */
export function openLayoutBlob(archive: ArchiveFile, descriptor: Descriptor, options: SourceBlobOptions = {}): Readable {
  const digest = parseDigest(descriptor.digest);
  const path = layoutBlobPath(digest);
  const entry = archive.resolve(path);
  if (entry.size !== descriptor.size) {
    throw new ArchiveError(archive.label, `size mismatch: the descriptor says ${descriptor.size} bytes, the archive holds ${entry.size}`, path);
  }
  const stream = archive.openEntry(entry);
  if (options.verify === false) return stream;
  const verifier = new DigestingStream({ digest, size: descriptor.size, what: `${archive.label}: ${path}` });
  stream.on('error', (err) => verifier.destroy(err));
  return stream.pipe(verifier);
}

/** Reads a whole (small) blob of an OCI layout inside an archive, verified. */
export async function readLayoutBlob(archive: ArchiveFile, descriptor: Descriptor): Promise<Buffer> {
  const path = layoutBlobPath(parseDigest(descriptor.digest));
  const bytes = await archive.readSmall(path);
  try {
    verifyBytes(bytes, { digest: parseDigest(descriptor.digest), size: descriptor.size, what: path });
  } catch (err) {
    throw new ArchiveError(archive.label, (err as Error).message.replace(`${path}: `, ''), path);
  }
  return bytes;
}

/** An OCI image layout packed in a tar (`oci-archive:`), e.g. from `skopeo copy ... oci-archive:` or `tsbuild save`. */
export class OciArchiveSource implements ImageSource {
  readonly description: string;
  private readonly archive: ArchiveFile;

  constructor(archive: ArchiveFile) {
    this.archive = archive;
    this.description = `oci-archive:${archive.label}`;
  }

  async listImages(): Promise<SourceImage[]> {
    const index = await readArchiveIndex(this.archive);
    const images: SourceImage[] = [];
    for (const { descriptor, names } of groupIndexEntries(index.manifests, (d) => nameFromAnnotations(d.annotations))) {
      const bytes = await readLayoutBlob(this.archive, descriptor);
      images.push({ names, manifest: { bytes, digest: parseDigest(descriptor.digest), mediaType: descriptor.mediaType } });
    }
    return images;
  }

  async openBlob(descriptor: Descriptor, options: SourceBlobOptions = {}): Promise<Readable> {
    return openLayoutBlob(this.archive, descriptor, options);
  }

  async close(): Promise<void> {
    await this.archive.close();
  }
}
