import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { REF_NAME_ANNOTATION } from '../layout/oci-layout.js';
import type { ImageStore } from './store.js';

/** One row of `tsbuild df`. */
export interface UsageRow {
  /** How many (images, layers, cache entries, snapshots). */
  readonly count: number;
  /** How many are in use (named images; layers of named images). */
  readonly active: number;
  /** Bytes on disk. */
  readonly size: number;
  /** Bytes `tsbuild prune` would free. */
  readonly reclaimable: number;
}

/** What `tsbuild df` shows. */
export interface DiskUsage {
  readonly images: UsageRow;
  /** Layers used by exactly one image. */
  readonly uniqueLayers: UsageRow;
  /** Layers used by more than one image (counted once). */
  readonly sharedLayers: UsageRow;
  readonly buildCache: UsageRow;
  readonly snapshots: UsageRow;
}

/** Disk use of a directory tree (apparent sizes of files) and the number of its top-level entries. */
async function treeUsage(dir: string): Promise<{ entries: number; size: number }> {
  let top: string[];
  try {
    top = await readdir(dir);
  } catch {
    return { entries: 0, size: 0 };
  }
  let size = 0;
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    if (info.isDirectory()) {
      for (const name of await readdir(path)) await walk(join(path, name));
    } else {
      size += info.size;
    }
  };
  for (const name of top) await walk(join(dir, name));
  return { entries: top.length, size };
}

/** Measures what the store uses on disk, by kind (`tsbuild df`). */
export async function diskUsage(store: ImageStore): Promise<DiskUsage> {
  const index = await store.readIndex();
  const named = new Set(index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== undefined).map((d) => d.digest));
  const reachable = await store.reachableBlobs(index);
  const allBlobs = await store.listBlobDigests();
  let imageBytes = 0;
  let reclaimable = 0;
  const unique = { count: 0, active: 0, size: 0, reclaimable: 0 };
  const shared = { count: 0, active: 0, size: 0, reclaimable: 0 };
  for (const digest of allBlobs) {
    const size = (await store.blobSize(digest)) ?? 0;
    imageBytes += size;
    const entry = reachable.get(digest);
    const active = entry !== undefined && [...entry.images].some((image) => named.has(image));
    if (!active) reclaimable += size;
    if (entry?.kind !== 'layer') continue;
    const row = entry.images.size > 1 ? shared : unique;
    row.count++;
    row.size += size;
    if (active) row.active++;
    else row.reclaimable += size;
  }
  const images = new Set(index.manifests.map((d) => d.digest));
  const cache = await treeUsage(store.cacheDir);
  const snapshots = await treeUsage(store.snapshotsDir);
  return {
    images: { count: images.size, active: named.size, size: imageBytes, reclaimable },
    uniqueLayers: unique,
    sharedLayers: shared,
    buildCache: { count: cache.entries, active: 0, size: cache.size, reclaimable: 0 },
    snapshots: { count: snapshots.entries, active: 0, size: snapshots.size, reclaimable: 0 },
  };
}
