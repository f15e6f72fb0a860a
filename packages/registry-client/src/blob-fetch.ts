import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { SizeMismatchError, type Digest } from '@tsbuild/oci';
import { RegistryError } from './errors.js';
import { isRetryableNetworkError, RetryBudget } from './retry.js';
import type { DispatcherProfile, RegistrySession } from './session.js';
import type { RawRequest } from './token.js';

/** One attempt of a blob GET, for a {@link BlobFetcher}. */
export interface BlobFetchRequest {
  /** The URL to GET: the registry's blob URL, or where it redirected to. */
  readonly url: string;
  /** The headers to send (credentials only for the registry's own origin; `range` when resuming). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * How many bytes of the blob are stored already: a 206 answer must start there; a 200 answer is the blob from its
   * start, whose first `offset` bytes are dropped.
   */
  readonly offset: number;
  /** The blob's size: a body that runs past it is cut off (`too-long`). */
  readonly size: number;
  /** How to connect. */
  readonly profile: DispatcherProfile;
}

/** How the body of a 200 or 206 answer ended. */
export type BlobBodyEnd =
  /** The body ended normally. */
  | 'complete'
  /** The connection failed in the body (`error` says how): the rest can be requested from `stored` on. */
  | 'broken'
  /** The body ran past the blob's size (`stored` counts the bytes received, the excess included). */
  | 'too-long'
  /** A 206 answer started at byte `start` instead of the offset asked for. */
  | 'bad-range'
  /** Writing to the file failed (`error` says how). */
  | 'write-failed';

/** What a {@link BlobFetcher} got for one request. */
export type BlobFetchResult =
  /** Any status but 200 and 206: the first 64 KiB of the body as text (it only decorates an error message). */
  | { readonly kind: 'response'; readonly status: number; readonly headers: Record<string, string | string[] | undefined>; readonly text: string }
  /** A 200 or 206 answer whose body went into the fetcher's file: `stored` bytes of the blob are there now. */
  | {
      readonly kind: 'body';
      readonly status: number;
      readonly headers: Record<string, string | string[] | undefined>;
      readonly stored: number;
      readonly end: BlobBodyEnd;
      readonly error?: { readonly message: string; readonly code?: string | undefined };
      readonly start?: number;
    };

/**
 * Makes one blob GET somewhere else than on the session's connections (a worker thread that hashes and writes the
 * body into a file as it arrives), following nothing and retrying nothing itself: {@link fetchBlob} decides.
 */
export interface BlobFetcher {
  /** Sends one GET. Rejects, with the error's `code`, when no answer came (a refused or reset connection). */
  fetch(request: BlobFetchRequest, signal?: AbortSignal): Promise<BlobFetchResult>;
}

/** The blob {@link fetchBlob} downloads. */
export interface FetchedBlob {
  readonly repository: string;
  /** The blob's URL path on the registry (`/v2/<repository>/blobs/<digest>`). */
  readonly path: string;
  readonly digest: Digest;
  readonly size: number;
  /** Names the blob in error messages. */
  readonly what: string;
  readonly scopes: readonly string[];
}

/** A response body holding `text`, for the session's error handling of an answer the fetcher read whole. */
function textBody(text: string): Dispatcher.ResponseData['body'] {
  const body = Readable.from(text === '' ? [] : [Buffer.from(text, 'utf8')], { objectMode: false });
  const dump = async (): Promise<void> => {
    body.destroy();
  };
  // the session only iterates, destroys or dumps a body it does not return
  return Object.assign(body, { dump }) as unknown as Dispatcher.ResponseData['body'];
}

/**
 * Downloads a blob through `fetcher`, with the session's auth (a token refreshed when a 401 asks for it), redirects
 * (credentials never sent to another origin) and retries of failed or 429/5xx answers; a body broken off is resumed
 * with a `Range` request from the bytes stored (bounded by the retry policy). Resolves once exactly the blob's size
 * is stored; the fetcher's file is then to be checked against the digest. Size and range errors are not retried.
 * @throws RegistryError (BLOB_UNKNOWN, UNAVAILABLE, PROTOCOL, UNAUTHORIZED, ...), SizeMismatchError, a write error.
 */
export async function fetchBlob(session: RegistrySession, blob: FetchedBlob, fetcher: BlobFetcher, signal?: AbortSignal): Promise<void> {
  const { repository, size, what } = blob;
  const profile = await session.profile();
  const resumes = new RetryBudget(session.retryPolicy);
  let stored = 0;
  for (;;) {
    const got: { body?: Extract<BlobFetchResult, { kind: 'body' }> } = {};
    const offset = stored;
    const transport: RawRequest = async (url, init) => {
      const result = await fetcher.fetch({ url: url.href, headers: init.headers, offset, size, profile }, init.signal);
      if (result.kind === 'body') got.body = result;
      return {
        statusCode: result.status,
        statusText: '',
        headers: result.headers,
        body: textBody(result.kind === 'response' ? result.text : ''),
        trailers: {},
        opaque: null,
        context: {},
      };
    };
    const response = await session.send({
      method: 'GET',
      url: blob.path,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: blob.scopes,
      repository,
      expect: [200, 206, 404],
      followRedirects: true,
      what,
      transport,
      ...(signal ? { signal } : {}),
    });
    await response.body.dump();
    if (response.status === 404) throw new RegistryError('BLOB_UNKNOWN', `blob unknown: ${what} does not exist`, { registry: session.registry, repository, status: 404 });
    const ended = got.body;
    if (ended === undefined) throw new RegistryError('PROTOCOL', `${what}: answered ${response.status} without a body`, { registry: session.registry, repository });
    stored = ended.stored;
    switch (ended.end) {
      case 'complete':
        if (stored !== size) throw new SizeMismatchError(what, size, stored);
        return;
      case 'too-long':
        throw new SizeMismatchError(what, size, stored);
      case 'bad-range':
        throw new RegistryError('PROTOCOL', `${what}: asked to resume at byte ${offset}, the registry answered from byte ${ended.start ?? NaN}`, {
          registry: session.registry,
          repository,
          status: ended.status,
        });
      case 'write-failed':
        throw Object.assign(new Error(ended.error?.message ?? 'write failed'), ended.error?.code !== undefined ? { code: ended.error.code } : {});
      case 'broken': {
        if (signal?.aborted) throw signal.reason;
        const error = Object.assign(new Error(ended.error?.message ?? 'the connection broke'), ended.error?.code !== undefined ? { code: ended.error.code } : {});
        if (!isRetryableNetworkError(error)) throw error;
        if (stored >= size || !(await resumes.next(signal))) {
          throw new RegistryError('UNAVAILABLE', `${what}: download failed at byte ${stored} of ${size}: ${error.message}`, { registry: session.registry, repository, cause: error });
        }
      }
    }
  }
}
