import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex, parseDigest, type Digest } from '@tsbuild/oci';
import { writeFileAtomic } from '../fs/atomic.js';
import type { ImageStore } from './store.js';

/** A registry repository a blob is known to exist in. */
export interface BlobLocation {
  /** The registry host, as in image references (`localhost:5000`, `docker.io`). */
  readonly registry: string;
  /** The repository inside the registry (`library/busybox`, `team/app`). */
  readonly repository: string;
}

/** How many locations are kept per blob (most recently seen first). */
export const MAX_LOCATIONS_PER_BLOB = 16;

interface RecordFile {
  readonly locations: BlobLocation[];
}

const HOST_RE = /^[A-Za-z0-9.\-[\]:]+$/;
const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

function isLocation(value: unknown): value is BlobLocation {
  if (typeof value !== 'object' || value === null) return false;
  const { registry, repository } = value as Record<string, unknown>;
  return typeof registry === 'string' && HOST_RE.test(registry) && typeof repository === 'string' && REPOSITORY_RE.test(repository);
}

function sameLocation(a: BlobLocation, b: BlobLocation): boolean {
  return a.registry === b.registry && a.repository === b.repository;
}

/**
 * The store's record of where blobs are known to exist in registries, so that a push to another repository of the
 * same registry can mount a blob (`POST ...?mount=&from=`) instead of uploading it. One small JSON file per blob,
 * `$ROOT/meta/blob-sources/<hex>.json`, written atomically when a blob is pulled from or pushed to a repository.
 *
 * It is a hint, never trusted for content: a mount the registry refuses falls back to an upload, and the registry
 * verifies the digest either way. Two processes recording the same blob at the same moment may lose one entry.
 */
export class BlobSources {
  /** The directory holding the records. */
  readonly dir: string;
  private readonly stagingDir: string;

  /**
   * @param dir where the records live.
   * @param stagingDir a directory on the same filesystem for atomic writes (default `dir`).
   */
  constructor(dir: string, stagingDir: string = dir) {
    this.dir = dir;
    this.stagingDir = stagingDir;
  }

  /** The blob-source records of a store (`$ROOT/meta/blob-sources`). */
  static forStore(store: ImageStore): BlobSources {
    return new BlobSources(join(store.root, 'meta', 'blob-sources'), store.tmpDir);
  }

  private path(digest: Digest): string {
    return join(this.dir, `${digestHex(digest)}.json`);
  }

  /** Every location recorded for a blob, most recently seen first (empty when none, or the record is unreadable). */
  async locations(digest: string): Promise<BlobLocation[]> {
    let text: string;
    try {
      text = await readFile(this.path(parseDigest(digest)), 'utf8');
    } catch {
      return [];
    }
    try {
      const json = JSON.parse(text) as Partial<RecordFile> | null;
      return Array.isArray(json?.locations) ? json.locations.filter(isLocation).map(({ registry, repository }) => ({ registry, repository })) : [];
    } catch {
      return [];
    }
  }

  /**
   * The repositories of `registry` a blob is known to be in, most recently seen first, leaving out `exclude` (the
   * repository being pushed to).
   */
  async repositories(digest: string, registry: string, exclude?: string): Promise<string[]> {
    return (await this.locations(digest)).filter((l) => l.registry === registry && l.repository !== exclude).map((l) => l.repository);
  }

  /**
   * Records that blobs exist in a repository. A location already first in a blob's record is not written again;
   * otherwise it moves to the front, and the record keeps at most {@link MAX_LOCATIONS_PER_BLOB} locations.
   */
  async record(digests: Iterable<string>, location: BlobLocation): Promise<void> {
    if (!isLocation(location)) return;
    const entry: BlobLocation = { registry: location.registry, repository: location.repository };
    await mkdir(this.dir, { recursive: true });
    await Promise.all(
      [...new Set(digests)].map(async (digest) => {
        const checked = parseDigest(digest);
        const known = await this.locations(checked);
        if (known[0] !== undefined && sameLocation(known[0], entry)) return;
        const locations = [entry, ...known.filter((l) => !sameLocation(l, entry))].slice(0, MAX_LOCATIONS_PER_BLOB);
        const file: RecordFile = { locations };
        await writeFileAtomic(this.path(checked), `${JSON.stringify(file)}\n`, this.stagingDir);
      }),
    );
  }

  /**
   * Removes the records of blobs not in `keep` (for a store clean-up after `prune`).
   * @returns how many records were removed.
   */
  async retainOnly(keep: ReadonlySet<string>): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const match = /^([a-f0-9]{64})\.json$/.exec(name);
      if (!match || keep.has(`sha256:${match[1]!}`)) continue;
      await rm(join(this.dir, name), { force: true });
      removed++;
    }
    return removed;
  }
}
