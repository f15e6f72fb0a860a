import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerResult } from '@tsbuild/layers';
import type { Compression } from '@tsbuild/oci';
import type { ImageStore } from '@tsbuild/image';

/** How new layers are written. */
export interface LayerFormat {
  compression: Compression;
  level?: number;
  mediaTypeFlavour: 'oci' | 'docker';
  sourceDateEpoch?: number;
}

/** The first lower dir's entry for a path (top first), stopping at a whiteout. */
async function lowerEntry(lowerDirs: readonly string[], path: string): Promise<import('node:fs').BigIntStats | undefined> {
  for (const lower of lowerDirs) {
    try {
      const info = await lstat(join(lower, path), { bigint: true });
      if (info.isCharacterDevice() && info.rdev === 0n) return undefined;
      return info;
    } catch {
      // not in this layer
    }
  }
  return undefined;
}

/**
 * Which paths must be left out of the layer because only the sandbox's set-up touched them: the mount points it
 * created (files, and directories that hold nothing but other left-out paths — a created directory the command
 * put files in stays), and directories overlayfs copied up only to hold such mount points (same mode, owner and
 * mtime as in the lower layer, and nothing else in them).
 */
export async function mountPointsToExclude(upper: string, created: readonly string[], lowerDirs: readonly string[] = []): Promise<string[]> {
  const excluded = new Set<string>();
  const parents = new Set<string>();
  for (const path of created) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join('/'));
  }
  const candidates = [...new Set([...created, ...[...parents].filter((p) => !created.includes(p))])].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const path of candidates) {
    if (!created.includes(path)) {
      const here = await lstat(join(upper, path), { bigint: true }).catch(() => undefined);
      const below = await lowerEntry(lowerDirs, path);
      if (!here || !below || !here.isDirectory() || !below.isDirectory()) continue;
      if (here.mode !== below.mode || here.uid !== below.uid || here.gid !== below.gid || here.mtimeNs !== below.mtimeNs) continue;
      const children = await readdir(join(upper, path));
      if (children.every((child) => excluded.has(`${path}/${child}`))) excluded.add(path);
      continue;
    }
    let info;
    try {
      info = await lstat(join(upper, path));
    } catch {
      continue;
    }
    if (!info.isDirectory()) {
      excluded.add(path);
      continue;
    }
    const children = await readdir(join(upper, path));
    if (children.every((child) => excluded.has(`${path}/${child}`))) excluded.add(path);
  }
  return candidates.filter((path) => excluded.has(path)).sort((a, b) => a.split('/').length - b.split('/').length);
}

/** Whether an upper dir holds anything besides the excluded paths. */
export async function upperHasChanges(upper: string, excluded: readonly string[]): Promise<boolean> {
  const top = await readdir(upper);
  const excludedSet = new Set(excluded);
  return top.some((name) => !excludedSet.has(name));
}

/** Removes excluded paths from an upper dir, so the snapshot kept matches the layer. */
export async function removeExcluded(upper: string, excluded: readonly string[]): Promise<void> {
  for (const path of [...excluded].reverse()) await rm(join(upper, path), { recursive: true, force: true });
}

/** Writes a layer made from an overlay upper dir (or a plain dir) straight into the store's blobs. */
export async function writeLayerToStore(
  store: ImageStore,
  dir: string,
  kind: 'upper' | 'directory',
  format: LayerFormat,
  exclude: readonly string[],
  signal?: AbortSignal,
): Promise<LayerResult> {
  // the layer engine is loaded when a step makes a layer, not at start-up (a cached build never needs it)
  const { createLayerFromDirectory, createLayerFromUpperDir } = await import('@tsbuild/layers');
  let result: LayerResult | undefined;
  await store.layout.ingestBlob(async (sink) => {
    const options = {
      compression: format.compression,
      mediaTypeFlavour: format.mediaTypeFlavour,
      exclude: [...exclude],
      ...(format.level !== undefined ? { level: format.level } : {}),
      ...(format.sourceDateEpoch !== undefined ? { sourceDateEpoch: format.sourceDateEpoch } : {}),
      ...(signal ? { signal } : {}),
    };
    result = kind === 'upper' ? await createLayerFromUpperDir(dir, sink, options) : await createLayerFromDirectory(dir, sink, options);
    return { digest: result.digest, size: result.size };
  });
  return result!;
}
