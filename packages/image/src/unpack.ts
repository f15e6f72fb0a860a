import { mkdir, readdir } from 'node:fs/promises';
import { StoreError } from './errors.js';
import type { ImageStore } from './store/store.js';

/** Options of {@link unpackImage}. */
export interface UnpackOptions {
  /** Called before each layer is applied. */
  readonly onLayer?: (index: number, total: number, digest: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * Writes an image's flattened root filesystem into `dir` (`tsbuild unpack`, like `umoci unpack` or `crane
 * export`): its layers applied in order, whiteouts deleting what lower layers had, every layer checked against its
 * diffID. `dir` must not exist or be empty; nothing is ever written outside it.
 */
export async function unpackImage(store: ImageStore, query: string, dir: string, options: UnpackOptions = {}): Promise<void> {
  const image = await store.getImage(query);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new StoreError(`${dir} is not empty: unpack writes into a new or empty directory`);
  for (const [index, layer] of image.layers.entries()) {
    options.signal?.throwIfAborted();
    options.onLayer?.(index, image.layers.length, layer.descriptor.digest);
    const { applyLayer } = await import('@tsbuild/layers');
    await applyLayer(await layer.open(options.signal), dir, { mode: 'rootfs', expectedDiffID: layer.diffID, ...(options.signal ? { signal: options.signal } : {}) });
  }
}
