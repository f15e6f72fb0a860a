import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseImageConfig, parseManifest, type Digest, type ImageIndex } from '@tsbuild/oci';
import type { ImageStore } from '@tsbuild/image';
import { chainIDs } from './chain.js';
import type { StepRecord } from './step-cache.js';

/** What {@link pruneBuildCache} removed. */
export interface BuildCachePruneResult {
  /** Step records whose layer blob is gone. */
  readonly records: number;
  /** Extracted snapshots no image in the store has. */
  readonly snapshots: number;
}

/**
 * Drops the build cache that refers to blobs `tsbuild prune` removed: step records whose layer is gone, and the
 * extracted snapshots of layers no remaining image has. Meant to run from `ImageStore.prune`'s `onPruned`, under
 * the exclusive garbage-collection lock (builds hold the shared one, so none is running).
 */
export async function pruneBuildCache(store: ImageStore, blobs: ReadonlySet<Digest>, index: ImageIndex): Promise<BuildCachePruneResult> {
  let records = 0;
  const stepsDir = join(store.cacheDir, 'steps');
  for (const name of await readdir(stepsDir).catch(() => [] as string[])) {
    const path = join(stepsDir, name);
    try {
      const record = JSON.parse(await readFile(path, 'utf8')) as StepRecord;
      if (!record.layer || blobs.has(record.layer.digest)) continue;
    } catch {
      // an unreadable record is useless: remove it
    }
    await rm(path, { force: true });
    records++;
  }

  const keep = new Set<string>();
  for (const descriptor of index.manifests) {
    try {
      const manifest = parseManifest(await store.layout.readBlob(descriptor), descriptor.mediaType);
      if (manifest.kind !== 'manifest') continue;
      const config = parseImageConfig(await store.layout.readBlob(manifest.manifest.config));
      for (const id of chainIDs(config.rootfs.diff_ids as Digest[])) keep.add(id.slice('sha256:'.length));
    } catch {
      // an image that cannot be read keeps nothing
    }
  }
  let snapshots = 0;
  for (const name of await readdir(store.snapshotsDir).catch(() => [] as string[])) {
    if (!/^[a-f0-9]{64}$/.test(name) || keep.has(name)) continue;
    await rm(join(store.snapshotsDir, name), { recursive: true, force: true });
    snapshots++;
  }
  return { records, snapshots };
}
