import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Progress of a copy. */
export interface CopyProgress {
  /** Entries written so far. */
  readonly entries: number;
  /** Bytes of file data written so far. */
  readonly bytes: number;
}

const REPORT_ENTRIES = 256;
const REPORT_BYTES = 8 * 1024 * 1024;
const YIELD_ENTRIES = 1024;
const YIELD_BYTES = 64 * 1024 * 1024;

/**
 * Counts what a copy wrote, reports it about every 256 entries or 8 MiB, and every 1024 entries or 64 MiB hands the
 * event loop back (the file operations are synchronous, for speed) and checks the abort signal.
 */
export class ProgressCounter {
  private entries = 0;
  private bytes = 0;
  private reported = { entries: 0, bytes: 0 };
  private yielded = { entries: 0, bytes: 0 };
  private readonly onProgress: ((progress: CopyProgress) => void) | undefined;
  private readonly signal: AbortSignal | undefined;

  constructor(onProgress?: (progress: CopyProgress) => void, signal?: AbortSignal) {
    this.onProgress = onProgress;
    this.signal = signal;
  }

  /** Counts one entry with `bytes` of file data. */
  async add(bytes: number): Promise<void> {
    this.entries++;
    this.bytes += bytes;
    if (this.entries - this.reported.entries >= REPORT_ENTRIES || this.bytes - this.reported.bytes >= REPORT_BYTES) {
      this.reported = { entries: this.entries, bytes: this.bytes };
      this.onProgress?.(this.totals);
    }
    if (this.entries - this.yielded.entries >= YIELD_ENTRIES || this.bytes - this.yielded.bytes >= YIELD_BYTES) {
      this.yielded = { entries: this.entries, bytes: this.bytes };
      await yieldToLoop();
      this.signal?.throwIfAborted();
    }
  }

  /** The totals so far. */
  get totals(): CopyProgress {
    return { entries: this.entries, bytes: this.bytes };
  }

  /** Reports the final totals and returns them. */
  finish(): CopyProgress {
    this.onProgress?.(this.totals);
    return this.totals;
  }
}
