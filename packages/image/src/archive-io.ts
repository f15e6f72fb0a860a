import type { Readable, Writable } from 'node:stream';
import { parseReference } from '@tsbuild/oci';
import { ArchiveFile } from './archive/archive-file.js';
import { ArchiveTarWriter } from './archive/tar-writer.js';
import { copyImage, type CopyOptions } from './copy.js';
import { ArchiveError } from './errors.js';
import { storeName } from './store/names.js';
import type { ImageStore } from './store/store.js';
import { DockerArchiveDestination } from './transport/docker-archive-destination.js';
import { DockerArchiveSource } from './transport/docker-archive-source.js';
import { OciArchiveDestination } from './transport/oci-archive-destination.js';
import { OciArchiveSource } from './transport/oci-archive-source.js';
import { StoreDestination, StoreSource } from './transport/store.js';
import type { ImageSource } from './transport/types.js';

/** The archive formats `save` writes and `load` reads. */
export type ArchiveFormat = 'docker-archive' | 'oci-archive';

/**
 * Opens an image archive, detecting its format: `manifest.json` means a `docker save` archive (old or new
 * Docker format), `index.json` alone an OCI archive.
 */
export async function openArchiveSource(input: string, options: { spoolDir: string; stdin?: Readable; signal?: AbortSignal }): Promise<ImageSource> {
  const archive = await ArchiveFile.open(input, options);
  if (archive.has('manifest.json')) return new DockerArchiveSource(archive);
  if (archive.has('index.json')) return new OciArchiveSource(archive);
  await archive.close();
  throw new ArchiveError(input, 'not an image archive: it has neither manifest.json (docker save) nor index.json (OCI)');
}

/** Options for {@link loadArchive}. */
export interface LoadOptions extends Pick<CopyOptions, 'onProgress' | 'signal' | 'platform'> {
  /** Standard input, for `input` `-`. */
  stdin?: Readable;
}

/** What one loaded image is known as. */
export interface LoadedImage {
  readonly names: readonly string[];
  readonly id: string;
}

/**
 * Loads every image of an archive into the store (`tsbuild load`). All or nothing: if any image fails, nothing
 * new is tagged and the blobs written for the load are removed.
 */
export async function loadArchive(store: ImageStore, input: string, options: LoadOptions = {}): Promise<LoadedImage[]> {
  const source = await openArchiveSource(input, { spoolDir: store.tmpDir, ...(options.stdin ? { stdin: options.stdin } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  try {
    const images = await source.listImages();
    const destination = await StoreDestination.open(store);
    try {
      const loaded: LoadedImage[] = [];
      for (const image of images) {
        const copied = await copyImage(source, image, destination, options);
        loaded.push({ names: copied.names, id: copied.configDigest });
      }
      await destination.commit();
      return loaded;
    } catch (err) {
      await destination.abort();
      throw err;
    }
  } finally {
    await source.close();
  }
}

/** Options for {@link saveImages}. */
export interface SaveOptions extends Pick<CopyOptions, 'onProgress' | 'signal'> {
  /** Archive format (default `docker-archive`). */
  format?: ArchiveFormat;
}

/**
 * Saves images from the store into one archive (`tsbuild save`): to a file (which appears atomically when
 * complete) or to a stream such as standard output. Layers shared by several images are written once.
 */
export async function saveImages(store: ImageStore, queries: readonly string[], output: string | Writable, options: SaveOptions = {}): Promise<void> {
  const source = new StoreSource(store, queries);
  const images = await source.listImages();
  const label = typeof output === 'string' ? output : '-';
  const writer = typeof output === 'string' ? await ArchiveTarWriter.toFile(output) : ArchiveTarWriter.toStream(output, store.tmpDir);
  const destination = options.format === 'oci-archive' ? new OciArchiveDestination(writer, label) : new DockerArchiveDestination(writer, label);
  try {
    for (const [i, image] of images.entries()) {
      const query = queries[i];
      const names = query !== undefined ? namesFor(query, image.names) : image.names;
      await copyImage(source, image, destination, { ...options, names });
    }
    await destination.commit();
  } catch (err) {
    await destination.abort();
    throw err;
  }
}

/** Saved by name, an image carries that name; saved by ID, no name (as `docker save` does). */
function namesFor(query: string, names: readonly string[]): readonly string[] {
  try {
    const ref = parseReference(query);
    if (ref.digest === undefined) {
      const name = storeName(ref);
      if (names.includes(name)) return [name];
    }
  } catch {
    // an image ID
  }
  return [];
}
