import { Readable } from 'node:stream';
import { Digester, DigestMismatchError, SizeMismatchError, type Digest } from '@tsbuild/oci';

/** One HTTP response of a blob download. */
export interface BlobResponse {
  /** The response body. */
  body: Readable;
  /** How many of its first bytes to drop (a server that ignored the `Range` header sends the blob from its start). */
  skip: number;
}

/** How a {@link BlobDownload} gets its bytes and what they must be. */
export interface BlobDownloadOptions {
  /** Requests the blob from byte `offset` on. */
  open(offset: number): Promise<BlobResponse>;
  /**
   * Called when a body fails after `offset` bytes were passed on: resolves to request the rest, or rejects with the
   * error the download fails with.
   */
  resume(error: unknown, offset: number): Promise<void>;
  /** The blob's digest and size, and its name for error messages. */
  expected: { digest: Digest; size: number; what: string };
  /**
   * Hash the content and fail at the end unless it has the expected digest (default true). The size is always
   * enforced: reading past it fails at once.
   */
  verify?: boolean;
  /** Called with the number of bytes passed on so far, after each chunk. */
  onBytes?: (offset: number) => void;
}

/**
 * A readable stream of one blob, fed straight from the HTTP response bodies (each chunk as it arrives: no
 * re-chunking or concatenation), resuming after a broken connection with a new request from where it stopped.
 * It fails with {@link SizeMismatchError} as soon as the content is longer than expected and at its end if it is
 * shorter, and, when verifying, with {@link DigestMismatchError} at its end if the digest differs: a consumer that
 * sees the stream end without an error has the expected bytes.
 */
export class BlobDownload extends Readable {
  private readonly options: BlobDownloadOptions;
  private readonly digester: Digester | undefined;
  private body: Readable | undefined;
  private started = false;
  private offset = 0;
  private skip = 0;

  constructor(options: BlobDownloadOptions) {
    super({ highWaterMark: 1 << 20 });
    this.options = options;
    this.digester = options.verify === false ? undefined : new Digester();
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      void this.connect();
    } else {
      this.body?.resume();
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach()?.destroy();
    callback(error);
  }

  private async connect(): Promise<void> {
    let response: BlobResponse;
    try {
      response = await this.options.open(this.offset);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (this.destroyed) {
      response.body.destroy();
      return;
    }
    this.body = response.body;
    this.skip = response.skip;
    response.body.on('data', this.onData);
    response.body.once('end', this.onEnd);
    response.body.once('error', this.onError);
  }

  /** Stops listening to the current body and returns it. */
  private detach(): Readable | undefined {
    const body = this.body;
    this.body = undefined;
    body?.off('data', this.onData).off('end', this.onEnd).off('error', this.onError);
    // a late error of a body we no longer listen to must not be unhandled
    body?.on('error', () => undefined);
    return body;
  }

  private readonly onData = (data: Buffer): void => {
    let chunk = data;
    if (this.skip > 0) {
      if (chunk.length <= this.skip) {
        this.skip -= chunk.length;
        return;
      }
      chunk = chunk.subarray(this.skip);
      this.skip = 0;
    }
    const { size, what } = this.options.expected;
    this.offset += chunk.length;
    if (this.offset > size) {
      this.destroy(new SizeMismatchError(what, size, this.offset));
      return;
    }
    this.digester?.update(chunk);
    this.options.onBytes?.(this.offset);
    if (!this.push(chunk)) this.body?.pause();
  };

  private readonly onEnd = (): void => {
    this.detach();
    const { digest, size, what } = this.options.expected;
    if (this.offset !== size) {
      this.destroy(new SizeMismatchError(what, size, this.offset));
      return;
    }
    if (this.digester !== undefined) {
      const actual = this.digester.digest();
      if (actual !== digest) {
        this.destroy(new DigestMismatchError(what, digest, actual));
        return;
      }
    }
    this.push(null);
  };

  private readonly onError = (error: Error): void => {
    this.detach()?.destroy();
    if (this.destroyed) return;
    this.options.resume(error, this.offset).then(
      () => {
        if (!this.destroyed) void this.connect();
      },
      (err: unknown) => this.destroy(err as Error),
    );
  };
}
