import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { Digester, parseManifest, type Descriptor, type Digest } from '@tsbuild/oci';
import type { ImageStore } from './store.js';

/** What `tsbuild check` found. */
export interface CheckReport {
  /** Blobs re-hashed. */
  readonly checked: number;
  /** Blobs whose content does not match their name. */
  readonly corrupt: ReadonlyArray<{ digest: Digest; actual: Digest }>;
  /** Blobs an image needs that are not in the store. */
  readonly missing: ReadonlyArray<{ digest: Digest; neededBy: string }>;
  /** Blobs no image reaches (`tsbuild prune` removes them). */
  readonly orphaned: ReadonlyArray<{ digest: Digest; size: number }>;
  /** Files in the blob directory that are not named by a digest. */
  readonly strayFiles: readonly string[];
  /** True when nothing is corrupt or missing. */
  readonly ok: boolean;
}

async function hashFile(path: string): Promise<{ digest: Digest; size: number }> {
  const digester = new Digester();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) digester.update(chunk as Buffer);
  return { digest: digester.digest(), size: digester.size };
}

/**
 * Re-hashes every blob of the store and walks every image: reports corrupt, missing and orphaned blobs.
 * @param onBlob called after each blob is hashed (for progress).
 */
export async function checkStore(store: ImageStore, onBlob?: (digest: Digest, done: number, total: number) => void): Promise<CheckReport> {
  const blobDir = join(store.layout.dir, 'blobs', 'sha256');
  const files = await readdir(blobDir);
  const strayFiles = files.filter((name) => !/^[a-f0-9]{64}$/.test(name));
  const digests = files.filter((name) => /^[a-f0-9]{64}$/.test(name)).map((hex) => `sha256:${hex}` as Digest);
  const corrupt: Array<{ digest: Digest; actual: Digest }> = [];
  const sizes = new Map<Digest, number>();
  const bad = new Set<Digest>();
  const limit = pLimit(2);
  let done = 0;
  await Promise.all(
    digests.map((digest) =>
      limit(async () => {
        const { digest: actual, size } = await hashFile(join(blobDir, digest.slice(7)));
        sizes.set(digest, size);
        if (actual !== digest) {
          corrupt.push({ digest, actual });
          bad.add(digest);
        }
        onBlob?.(digest, ++done, digests.length);
      }),
    ),
  );

  const missing: Array<{ digest: Digest; neededBy: string }> = [];
  const reachable = new Set<string>();
  const index = await store.readIndex();
  const visit = async (descriptor: Descriptor, neededBy: string, depth: number): Promise<void> => {
    reachable.add(descriptor.digest);
    const digest = descriptor.digest as Digest;
    if (!sizes.has(digest)) {
      missing.push({ digest, neededBy });
      return;
    }
    if (bad.has(digest) || depth > 4 || !/manifest|index/.test(descriptor.mediaType)) return;
    const raw = await store.layout.readBlob(descriptor);
    const parsed = parseManifest(raw, descriptor.mediaType);
    const children = parsed.kind === 'index' ? parsed.index.manifests : [parsed.manifest.config, ...parsed.manifest.layers];
    for (const child of children) await visit(child, neededBy, depth + 1);
  };
  for (const descriptor of index.manifests) {
    const name = descriptor.annotations?.['org.opencontainers.image.ref.name'] ?? descriptor.digest;
    await visit(descriptor, name, 0);
  }
  const orphaned = digests.filter((digest) => !reachable.has(digest)).map((digest) => ({ digest, size: sizes.get(digest) ?? 0 }));
  return { checked: digests.length, corrupt, missing, orphaned, strayFiles, ok: corrupt.length === 0 && missing.length === 0 };
}
