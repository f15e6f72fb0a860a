const EMPTY = Buffer.alloc(0);

/**
 * Pulls bytes from an async iterable of chunks: exact reads (copied only when they straddle chunks), zero-copy
 * slices of up to n bytes, and skips. `position` counts bytes consumed. {@link takeNow} and {@link skipNow} serve
 * what is already buffered without a promise, for callers that check {@link buffered} first.
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Buffer = EMPTY;
  private offset = 0;
  private done = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Bytes available without waiting. */
  get buffered(): number {
    return this.chunk.length - this.offset;
  }

  /** Makes at least one byte available; false at the end of the source. */
  async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      if (this.done) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        this.chunk = EMPTY;
        this.offset = 0;
        return false;
      }
      const value = next.value;
      this.chunk = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
      this.offset = 0;
    }
    return true;
  }

  /**
   * Reads exactly `n` bytes. Returns what it got if the source ends first (shorter than `n`; empty if it ended
   * right away), so the caller can tell a clean end from a truncated one.
   */
  async read(n: number): Promise<Buffer> {
    if (this.buffered >= n) return this.take(n);
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) break;
      const part = this.take(Math.min(n - got, this.buffered));
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /** Exactly `n` bytes from what is buffered (zero-copy); the caller has checked that {@link buffered} >= `n`. */
  takeNow(n: number): Buffer {
    if (this.buffered < n) throw new RangeError(`takeNow(${n}) with ${this.buffered} bytes buffered`);
    return this.take(n);
  }

  /** Skips `n` buffered bytes; the caller has checked that {@link buffered} >= `n`. */
  skipNow(n: number): void {
    if (this.buffered < n) throw new RangeError(`skipNow(${n}) with ${this.buffered} bytes buffered`);
    this.offset += n;
    this.position += n;
  }

  /** Up to `n` bytes that are available now, filling once if none are; empty at the end of the source. */
  async slice(n: number): Promise<Buffer> {
    if (this.buffered === 0 && !(await this.fill())) return EMPTY;
    return this.take(Math.min(n, this.buffered));
  }

  /** Skips `n` bytes; returns how many were skipped (fewer at the end of the source). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) break;
      const step = Math.min(left, this.buffered);
      this.offset += step;
      this.position += step;
      left -= step;
    }
    return n - left;
  }

  /** Consumes the source to its end; returns the number of bytes skipped. */
  async drain(): Promise<number> {
    let count = 0;
    while (await this.fill()) {
      count += this.buffered;
      this.position += this.buffered;
      this.offset = this.chunk.length;
    }
    return count;
  }

  /** Stops pulling from the source (lets it release its resources). */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.();
    }
  }

  private take(n: number): Buffer {
    const out = this.chunk.subarray(this.offset, this.offset + n);
    this.offset += n;
    this.position += n;
    return out;
  }
}
