import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest, digestHex, type Digest } from '@tsbuild/oci';
import { writeFileAtomic } from '@tsbuild/image';

/** The layer a cached step made. */
export interface CachedLayer {
  readonly digest: Digest;
  readonly diffID: Digest;
  readonly size: number;
  readonly mediaType: string;
}

/** What the cache remembers of a step: when it first ran, and the layer it made, if any. */
export interface StepRecord {
  /** When the step's result was first made (history `created`), so a cached rebuild is byte-identical. */
  readonly created: string;
  /** The layer, for steps that change the filesystem; absent for metadata steps and empty diffs. */
  readonly layer?: CachedLayer;
}

/**
 * Computes a step's cache key from its parent's key and everything that decides its result (the expanded
 * instruction, the environment, user, workdir, shell, network, and for COPY/ADD a checksum of the sources).
 * Values are serialised as canonical JSON, so the key does not depend on property order.
 */
export function stepKey(parent: string, step: unknown): string {
  return digestHex(sha256Digest(`${parent}\n${canonicalJson(step)}`));
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Step records under `<store>/cache/steps/<key>.json`, written atomically. */
export class StepCache {
  private readonly dir: string;

  constructor(cacheDir: string) {
    this.dir = join(cacheDir, 'steps');
  }

  /** The record for a key, if any (a damaged record counts as a miss). */
  async get(key: string): Promise<StepRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8')) as StepRecord;
      return typeof record.created === 'string' ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores a record. */
  async put(key: string, record: StepRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, `${key}.json`), JSON.stringify(record));
  }
}
