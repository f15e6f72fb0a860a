import { homedir } from 'node:os';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MediaType,
  parseDigest,
  parseImageConfig,
  parseManifest,
  parseReference,
  type Descriptor,
  type Digest,
  type ImageIndex,
} from '@tsbuild/oci';
import { AmbiguousImageError, ImageNotFoundError, MissingBlobError, StoreError } from '../errors.js';
import { acquireLock, withLock, type HeldLock } from '../fs/lock.js';
import { groupIndexEntries, type IndexImage } from '../layout/index-entries.js';
import { CONTAINERD_NAME_ANNOTATION, OciLayout, REF_NAME_ANNOTATION } from '../layout/oci-layout.js';
import type { Image, Layer } from '../model.js';
import type { RawManifest } from '../transport/types.js';
import { BlobSources } from './blob-sources.js';
import { fullReferenceName, storeName } from './names.js';
import { removeStaleTemporaries } from './temporaries.js';

/** Options of {@link ImageStore.prune}. */
export interface PruneOptions {
  /**
   * Runs while the exclusive garbage-collection lock is still held, after the blobs are removed: for caches kept
   * beside the store (the builder's step records and snapshots) to drop what refers to removed blobs.
   */
  onPruned?: (state: { readonly blobs: ReadonlySet<Digest>; readonly index: ImageIndex }) => Promise<void>;
}

/** An image in the store as `tsbuild images` lists it. */
export interface StoredImage {
  /** Names (`app:1`), empty for a dangling image. */
  readonly names: readonly string[];
  /** The manifest descriptor from `index.json`. */
  readonly manifest: Descriptor;
  /** The image ID (config digest). */
  readonly id: Digest;
  /** The config's `created` time, if any. */
  readonly created: string | undefined;
  /** Bytes of the manifest, config and layer blobs as stored. */
  readonly size: number;
}

/**
 * The default store root: `$TSBUILD_ROOT`, else `/var/lib/tsbuild` for root, else
 * `${XDG_DATA_HOME:-~/.local/share}/tsbuild`.
 */
export function defaultStoreRoot(): string {
  const fromEnv = process.env.TSBUILD_ROOT;
  if (fromEnv) return fromEnv;
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  const dataHome = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(dataHome, 'tsbuild');
}

const SHORT_ID_RE = /^(?:sha256:)?([a-f0-9]{4,64})$/;

/**
 * The local image store: an OCI image layout under `<root>/oci` (readable by skopeo and umoci as is) plus
 * `tmp/` for staging, `locks/`, `snapshots/` and `cache/`. Every write is atomic, blobs are verified before they
 * become visible, and `index.json` changes under a lock so several processes can share one store.
 */
export class ImageStore {
  /** The store's root directory. */
  readonly root: string;
  /** The OCI layout holding blobs and names. */
  readonly layout: OciLayout;

  private constructor(root: string) {
    this.root = root;
    this.layout = new OciLayout(join(root, 'oci'), join(root, 'tmp'));
  }

  /** Opens (creating if needed) the store at `root` (default {@link defaultStoreRoot}). */
  static async open(root: string = defaultStoreRoot()): Promise<ImageStore> {
    const store = new ImageStore(root);
    try {
      await mkdir(root, { recursive: true });
      for (const dir of ['tmp', 'locks', 'snapshots', 'cache']) await mkdir(join(root, dir), { recursive: true });
      await store.layout.init();
      await store.layout.validate();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot open the store at ${root}: ${(err as Error).message}`, { cause: err });
    }
    await removeStaleTemporaries(join(root, 'tmp'));
    return store;
  }

  /** The staging directory (same filesystem as the blobs). */
  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  /** Where extracted layer snapshots live. */
  get snapshotsDir(): string {
    return join(this.root, 'snapshots');
  }

  /** Where the build cache lives. */
  get cacheDir(): string {
    return join(this.root, 'cache');
  }

  private lockPath(name: string): string {
    return join(this.root, 'locks', `${name}.lock`);
  }

  /** Runs `fn` with `index.json` locked against other writers. */
  async withIndexLock<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.lockPath('index'), fn);
  }

  /**
   * Takes the garbage-collection lock: shared by writers (so `prune` cannot delete a blob between its write and
   * the tag that makes it reachable), exclusive for `prune`.
   */
  async lockForWriting(): Promise<HeldLock> {
    return acquireLock(this.lockPath('gc'), { shared: true });
  }

  /** Reads `index.json`. */
  async readIndex(): Promise<ImageIndex> {
    return this.layout.readIndex();
  }

  /** Reads and verifies a manifest blob named by a descriptor. */
  async readManifest(descriptor: Descriptor): Promise<RawManifest> {
    const bytes = await this.layout.readBlob(descriptor);
    return { bytes, digest: parseDigest(descriptor.digest), mediaType: descriptor.mediaType };
  }

  /** Lists the images in the store, one entry per manifest, with all its names. */
  async listImages(): Promise<StoredImage[]> {
    const index = await this.readIndex();
    const images: StoredImage[] = [];
    for (const { descriptor, names } of groupIndexEntries(index.manifests, (d) => d.annotations?.[REF_NAME_ANNOTATION])) {
      images.push(await this.describe(descriptor, names));
    }
    return images;
  }

  private async describe(descriptor: Descriptor, names: string[]): Promise<StoredImage> {
    const raw = await this.readManifest(descriptor);
    const parsed = parseManifest(raw.bytes, descriptor.mediaType, `manifest ${descriptor.digest}`);
    if (parsed.kind !== 'manifest') {
      return { names, manifest: descriptor, id: raw.digest, created: undefined, size: descriptor.size };
    }
    const manifest = parsed.manifest;
    let created: string | undefined;
    try {
      created = parseImageConfig(await this.layout.readBlob(manifest.config)).created;
    } catch {
      created = undefined;
    }
    const size = descriptor.size + manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
    return { names, manifest: descriptor, id: parseDigest(manifest.config.digest), created, size };
  }

  /**
   * Finds an image by name (`app`, `app:1`, `localhost:5000/a/b:tag`), by `name@digest`, by image ID or a prefix
   * of it (`sha256:ab12`, `ab12`), or by manifest digest.
   * @throws ImageNotFoundError, AmbiguousImageError, InvalidReferenceError.
   */
  async findImage(query: string): Promise<StoredImage> {
    const idMatch = SHORT_ID_RE.exec(query);
    if (idMatch && query.startsWith('sha256:')) return this.byIdPrefix(await this.listImages(), idMatch[1]!, query);
    // A name or a manifest digest is found in index.json alone: only that image's manifest and config are read
    // (describing every image in the store would cost a read and a parse per image, dangling ones included).
    const images = groupIndexEntries((await this.readIndex()).manifests, (d) => d.annotations?.[REF_NAME_ANNOTATION]);
    let byName: IndexImage | undefined;
    let referenceError: unknown;
    try {
      const ref = parseReference(query);
      if (ref.digest !== undefined) {
        byName = images.find((image) => image.descriptor.digest === ref.digest);
      } else {
        const name = storeName(ref);
        byName = images.find((image) => image.names.includes(name));
      }
    } catch (err) {
      referenceError = err;
    }
    if (byName) return this.describe(byName.descriptor, byName.names);
    if (idMatch) return this.byIdPrefix(await this.listImages(), idMatch[1]!, query);
    if (referenceError !== undefined) throw referenceError;
    throw new ImageNotFoundError(query);
  }

  private byIdPrefix(images: StoredImage[], hexPrefix: string, query: string): StoredImage {
    const matches = images.filter((image) => image.id.slice(7).startsWith(hexPrefix) || image.manifest.digest.slice(7).startsWith(hexPrefix));
    const unique = new Map(matches.map((image) => [image.manifest.digest, image]));
    if (unique.size === 0) throw new ImageNotFoundError(query);
    if (unique.size > 1) throw new AmbiguousImageError(query, unique.size);
    return [...unique.values()][0]!;
  }

  /** Opens an image: manifest and config read and verified, layers opened lazily. */
  async getImage(query: string): Promise<Image> {
    const stored = await this.findImage(query);
    return this.imageFromDescriptor(stored.manifest);
  }

  /** Opens the image whose manifest a descriptor names. */
  async imageFromDescriptor(descriptor: Descriptor): Promise<Image> {
    const manifest = await this.readManifest(descriptor);
    const parsed = parseManifest(manifest.bytes, manifest.mediaType, `manifest ${manifest.digest}`);
    if (parsed.kind !== 'manifest') throw new StoreError(`${manifest.digest} is an image index, not an image`);
    const configDescriptor = parsed.manifest.config;
    const configBytes = await this.layout.readBlob(configDescriptor);
    const config = parseImageConfig(configBytes, `config ${configDescriptor.digest}`);
    const layers: Layer[] = parsed.manifest.layers.map((descriptor, i) => ({
      descriptor,
      diffID: parseDigest(config.rootfs.diff_ids[i] ?? '', `diff_id ${i} of ${configDescriptor.digest}`),
      open: async () => this.layout.openBlob(descriptor),
    }));
    return { manifest, parsedManifest: parsed.manifest, configDescriptor, configBytes, config, layers, id: parseDigest(configDescriptor.digest) };
  }

  /**
   * Publishes an image whose blobs are all stored: writes the manifest blob, then, under the index lock, checks
   * that every blob it refers to is present and points each name at it. A name that pointed at another image
   * moves (the other image keeps its other names, or stays as a dangling image). With no names the image is kept
   * as a dangling image.
   */
  async addImage(manifest: RawManifest, names: readonly string[]): Promise<void> {
    const parsed = parseManifest(manifest.bytes, manifest.mediaType, `manifest ${manifest.digest}`);
    const required: Descriptor[] = parsed.kind === 'manifest' ? [parsed.manifest.config, ...parsed.manifest.layers] : parsed.index.manifests;
    const normalized = names.map((name) => storeName(name));
    // Already so (a rebuild that made the same image): nothing to write, so no lock, no fsync. index.json is only
    // ever replaced whole, so reading it unlocked sees a consistent state, and the image was complete in it.
    if (await this.alreadyIndexed(manifest, normalized, required)) return;
    await this.layout.putBlobBytes(manifest.bytes, manifest.digest);
    await this.layout.syncBlobs();
    await this.withIndexLock(async () => {
      for (const blob of required) {
        if (!(await this.layout.hasBlob(parseDigest(blob.digest), blob.size))) throw new MissingBlobError(`${this.layout.dir}`, blob.digest);
      }
      const index = await this.readIndex();
      let manifests = index.manifests.filter((d) => {
        const name = d.annotations?.[REF_NAME_ANNOTATION];
        if (name !== undefined) return !normalized.includes(name);
        return d.digest !== manifest.digest; // a dangling entry of this image is replaced below
      });
      const descriptorFor = (name?: string): Descriptor => ({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.bytes.length,
        ...(name !== undefined ? { annotations: { [CONTAINERD_NAME_ANNOTATION]: fullReferenceName(name), [REF_NAME_ANNOTATION]: name } } : {}),
      });
      if (normalized.length === 0) {
        if (!manifests.some((d) => d.digest === manifest.digest)) manifests.push(descriptorFor());
      } else {
        manifests.push(...normalized.map((name) => descriptorFor(name)));
      }
      manifests = keepDisplacedAsDangling(index.manifests, manifests);
      await this.layout.writeIndex({ ...index, manifests });
    });
  }

  /** Whether the index already names this manifest exactly as {@link addImage} would (and its blob is there). */
  private async alreadyIndexed(manifest: RawManifest, names: readonly string[], required: readonly Descriptor[]): Promise<boolean> {
    for (const blob of [{ digest: manifest.digest, size: manifest.bytes.length }, ...required]) {
      if (!(await this.layout.hasBlob(parseDigest(blob.digest), blob.size))) return false;
    }
    let index: ImageIndex;
    try {
      index = await this.readIndex();
    } catch {
      return false;
    }
    const same = (d: Descriptor): boolean => d.digest === manifest.digest && d.mediaType === manifest.mediaType && d.size === manifest.bytes.length;
    if (names.length === 0) return index.manifests.some(same);
    return names.every((name) => {
      const entries = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === name);
      const annotations = entries[0]?.annotations;
      return (
        entries.length === 1 &&
        same(entries[0]!) &&
        annotations !== undefined &&
        Object.keys(annotations).length === 2 &&
        annotations[CONTAINERD_NAME_ANNOTATION] === fullReferenceName(name)
      );
    });
  }

  /** Gives an image another name (`tsbuild tag`). */
  async tag(query: string, newName: string): Promise<void> {
    const image = await this.findImage(query);
    const manifest = await this.readManifest(image.manifest);
    await this.addImage(manifest, [newName]);
  }

  /**
   * Removes names (`tsbuild rmi`). An image that loses its last name this way is removed from the index; its
   * blobs stay until `prune`. A query by ID removes every name of that image.
   * @returns the names removed.
   */
  async removeImage(query: string): Promise<string[]> {
    const image = await this.findImage(query);
    let byName: string | undefined;
    try {
      const ref = parseReference(query);
      if (ref.digest === undefined) byName = storeName(ref);
    } catch {
      byName = undefined;
    }
    const removeNames = byName !== undefined && image.names.includes(byName) ? [byName] : [...image.names];
    await this.withIndexLock(async () => {
      const index = await this.readIndex();
      const manifests = index.manifests.filter((d) => {
        if (d.digest !== image.manifest.digest) return true;
        const name = d.annotations?.[REF_NAME_ANNOTATION];
        return name !== undefined && !removeNames.includes(name);
      });
      await this.layout.writeIndex({ ...index, manifests });
    });
    return removeNames;
  }

  /** The names of temporary files, locks and the like that are not part of the OCI layout. */
  async listBlobDigests(): Promise<Digest[]> {
    const dir = join(this.layout.dir, 'blobs', 'sha256');
    const entries = await readdir(dir);
    return entries.filter((name) => /^[a-f0-9]{64}$/.test(name)).map((hex) => `sha256:${hex}` as Digest);
  }

  /** The digests of every blob that a name (or a dangling entry) in `index.json` reaches. */
  async reachableBlobs(index?: ImageIndex): Promise<Map<Digest, { size: number; kind: 'manifest' | 'config' | 'layer'; images: Set<string> }>> {
    const reachable = new Map<Digest, { size: number; kind: 'manifest' | 'config' | 'layer'; images: Set<string> }>();
    const add = (descriptor: Descriptor, kind: 'manifest' | 'config' | 'layer', image: string): void => {
      const digest = parseDigest(descriptor.digest);
      const entry = reachable.get(digest) ?? { size: descriptor.size, kind, images: new Set<string>() };
      entry.images.add(image);
      reachable.set(digest, entry);
    };
    const visit = async (descriptor: Descriptor, image: string, depth: number): Promise<void> => {
      add(descriptor, 'manifest', image);
      if (depth > 4 || !(await this.layout.hasBlob(parseDigest(descriptor.digest)))) return;
      const raw = await this.readManifest(descriptor);
      const parsed = parseManifest(raw.bytes, descriptor.mediaType);
      if (parsed.kind === 'index') {
        for (const child of parsed.index.manifests) await visit(child, image, depth + 1);
        return;
      }
      add(parsed.manifest.config, 'config', image);
      for (const layer of parsed.manifest.layers) add(layer, 'layer', image);
    };
    for (const descriptor of (index ?? (await this.readIndex())).manifests) await visit(descriptor, descriptor.digest, 0);
    return reachable;
  }

  /** Size in bytes of one blob, or undefined when it is missing. */
  async blobSize(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.layout.blobPath(digest))).size;
    } catch {
      return undefined;
    }
  }

  /**
   * Removes dangling images and every blob no image reaches (`tsbuild prune`), under the exclusive
   * garbage-collection lock so no concurrent write loses a blob.
   */
  async prune(options: PruneOptions = {}): Promise<{ removedImages: number; removedBlobs: number; freedBytes: number }> {
    const gc = await acquireLock(this.lockPath('gc'), { shared: false });
    try {
      let removedImages = 0;
      const index = await this.withIndexLock(async () => {
        const current = await this.readIndex();
        const named = new Set(current.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== undefined).map((d) => d.digest));
        const manifests = current.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== undefined || named.has(d.digest));
        removedImages = new Set(current.manifests.filter((d) => !manifests.includes(d)).map((d) => d.digest)).size;
        if (manifests.length !== current.manifests.length) await this.layout.writeIndex({ ...current, manifests });
        return { ...current, manifests };
      });
      const reachable = await this.reachableBlobs(index);
      let removedBlobs = 0;
      let freedBytes = 0;
      for (const digest of await this.listBlobDigests()) {
        if (reachable.has(digest)) continue;
        const size = (await this.blobSize(digest)) ?? 0;
        await rm(this.layout.blobPath(digest), { force: true });
        removedBlobs++;
        freedBytes += size;
      }
      const remaining = new Set(reachable.keys());
      await BlobSources.forStore(this).retainOnly(remaining);
      await options.onPruned?.({ blobs: remaining, index });
      return { removedImages, removedBlobs, freedBytes };
    } finally {
      await gc.release();
    }
  }
}

/** Images that lost their last name because it moved to another image stay in the index as dangling entries. */
function keepDisplacedAsDangling(before: readonly Descriptor[], after: Descriptor[]): Descriptor[] {
  const present = new Set(after.map((d) => d.digest));
  for (const descriptor of before) {
    if (present.has(descriptor.digest)) continue;
    present.add(descriptor.digest);
    after.push({ mediaType: descriptor.mediaType || MediaType.ociManifest, digest: descriptor.digest, size: descriptor.size });
  }
  return after;
}
