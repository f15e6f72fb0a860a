import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { digestHex, type Digest } from '@tsbuild/oci';
import { removeStaleTemporaries, tempName, type Layer } from '@tsbuild/image';
import { chainIDs } from './chain.js';

/** A fresh upper and work dir pair on the snapshots filesystem, for one RUN or COPY. */
export interface WorkArea {
  /** Where the step's changes go (the future layer and snapshot). */
  readonly upper: string;
  /** overlayfs's own work dir. */
  readonly work: string;
  /** Removes the area (whatever is left of it). */
  cleanup(): Promise<void>;
}

/**
 * Extracted layers, one directory per chain ID under `<store>/snapshots`, in overlay form (whiteouts as char 0/0
 * devices, opaque dirs marked), ready to be overlay lower dirs. A snapshot appears atomically (extracted into a
 * staging dir, then renamed) and is never changed afterwards, so concurrent builds can share them.
 */
export class Snapshots {
  /** The directory holding the snapshots. */
  readonly dir: string;
  private readonly staging: string;

  constructor(dir: string) {
    this.dir = dir;
    this.staging = join(dir, '.staging');
  }

  /** Prepares the directories and removes staging leftovers of dead processes. */
  async init(): Promise<void> {
    await mkdir(this.staging, { recursive: true });
    await removeStaleTemporaries(this.staging);
  }

  /** The directory of the snapshot for a chain ID. */
  pathFor(chainID: Digest): string {
    return join(this.dir, digestHex(chainID));
  }

  /** Whether the snapshot for a chain ID exists. */
  async has(chainID: Digest): Promise<boolean> {
    try {
      return (await stat(this.pathFor(chainID))).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Makes sure every layer of an image is extracted and returns the snapshot dirs, **top first** (the order
   * overlayfs wants for `lowerdir`). Missing ones are extracted (two at a time), verified against their diffID.
   */
  async ensure(layers: readonly Layer[], signal?: AbortSignal): Promise<string[]> {
    const ids = chainIDs(layers.map((layer) => layer.diffID));
    const missing = (await Promise.all(ids.map((id) => this.has(id)))).some((present) => !present);
    if (!missing) return ids.map((id) => this.pathFor(id)).reverse();
    const { applyLayer } = await import('@tsbuild/layers'); // loaded only when something must be extracted
    const limit = pLimit(2);
    await Promise.all(
      layers.map((layer, i) =>
        limit(async () => {
          const chainID = ids[i]!;
          if (await this.has(chainID)) return;
          const area = await this.newWorkArea();
          try {
            await applyLayer(await layer.open(signal), area.upper, { mode: 'snapshot', expectedDiffID: layer.diffID, ...(signal ? { signal } : {}) });
            await this.adopt(chainID, area.upper);
          } finally {
            await area.cleanup();
          }
        }),
      ),
    );
    return ids.map((id) => this.pathFor(id)).reverse();
  }

  /** A fresh work area (upper + work dir) on the same filesystem as the snapshots. */
  async newWorkArea(): Promise<WorkArea> {
    const base = join(this.staging, tempName('step'));
    const upper = join(base, 'upper');
    const work = join(base, 'work');
    await mkdir(upper, { recursive: true });
    await mkdir(work, { recursive: true });
    return { upper, work, cleanup: () => rm(base, { recursive: true, force: true }) };
  }

  /**
   * Turns a finished upper dir into the snapshot for `chainID` (a rename). If another build made the same snapshot
   * meanwhile, theirs is kept and ours discarded.
   */
  async adopt(chainID: Digest, upper: string): Promise<string> {
    const target = this.pathFor(chainID);
    try {
      await rename(upper, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    return target;
  }
}
