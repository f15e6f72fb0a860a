import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Duplex } from 'node:stream';
import type * as ZstdNapi from 'zstd-napi';
import { ChildProcessStream } from './child-process-stream.js';

/** Default zstd level. */
export const DEFAULT_ZSTD_LEVEL = 3;

/** Which zstd implementation to use: the `zstd-napi` addon, the `zstd` program, or whichever works (`auto`). */
export type ZstdImplementation = 'auto' | 'addon' | 'program';

let addon: typeof ZstdNapi | null | undefined;

/** The zstd-napi addon, or null when it cannot be loaded (not built for this platform). */
export function loadZstdAddon(): typeof ZstdNapi | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('zstd-napi') as typeof ZstdNapi;
    } catch {
      addon = null;
    }
  }
  return addon;
}

function pick(implementation: ZstdImplementation): 'addon' | 'program' {
  if (implementation === 'program') return 'program';
  if (implementation === 'addon' || loadZstdAddon() !== null) return 'addon';
  return 'program';
}

/**
 * A zstd compressor. Multi-threaded (zstd's own threads); its output is the same for any number of threads, but it
 * may differ between the addon and the program when they bundle different zstd versions.
 */
export function createZstdCompressor(level = DEFAULT_ZSTD_LEVEL, implementation: ZstdImplementation = 'auto'): Duplex {
  const workers = Math.max(1, Math.min(4, availableParallelism()));
  if (pick(implementation) === 'addon') {
    const zstd = loadZstdAddon();
    if (zstd === null) throw new Error('zstd-napi is not available');
    return new zstd.CompressStream({ compressionLevel: level, nbWorkers: workers });
  }
  return new ChildProcessStream('zstd', ['-c', '-q', ...(level > 19 ? ['--ultra'] : []), `-${level}`, `-T${workers}`]);
}

/** A zstd decompressor (reads concatenated frames and skips skippable frames). */
export function createZstdDecompressor(implementation: ZstdImplementation = 'auto'): Duplex {
  if (pick(implementation) === 'addon') {
    const zstd = loadZstdAddon();
    if (zstd === null) throw new Error('zstd-napi is not available');
    return new zstd.DecompressStream();
  }
  return new ChildProcessStream('zstd', ['-d', '-c', '-q']);
}
