/**
 * Hands out consecutive byte ranges of one async iterator as separate async iterables (one per upload request),
 * without copying or buffering more than the chunk in hand.
 */
export class ChunkedSource {
  private pending: Buffer | undefined;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(
    private readonly iterator: AsyncIterator<Buffer>,
    private readonly onBytes?: (consumed: number) => void,
  ) {}

  /** The next `length` bytes as an async iterable; fails if the source ends first. */
  async *take(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      let chunk = this.pending;
      this.pending = undefined;
      if (chunk === undefined) {
        const next = await this.iterator.next();
        if (next.done) throw new Error(`source ended ${left} bytes early`);
        chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
      }
      if (chunk.length > left) {
        this.pending = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      this.consumed += chunk.length;
      this.onBytes?.(this.consumed);
      yield chunk;
    }
  }

  /** Whether the source is exhausted (it is read to its end, so a verifying stream gets to check it). */
  async ended(): Promise<boolean> {
    if (this.pending !== undefined && this.pending.length > 0) return false;
    const next = await this.iterator.next();
    return next.done === true || (next.value as Buffer).length === 0;
  }
}
