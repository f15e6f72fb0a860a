import { DigestMismatchError, SizeMismatchError, type Digest } from '@tsbuild/oci';
import type { BlobFetcher } from '@tsbuild/registry-client';
import { sharedHashWritePool, type HashWritePool } from './hash-write-pool.js';

/** Drives a download through the fetcher it is given (a registry client's `fetchBlob`): resolves once it is whole. */
export type FetchDriver = (fetcher: BlobFetcher) => Promise<void>;

/** What a fetched blob must be. */
export interface FetchedContent {
  readonly digest: Digest;
  readonly size: number;
  /** Names the content in error messages. */
  readonly what?: string;
}

/** Options of {@link fetchIntoFile}. */
export interface FetchIntoFileOptions {
  /** The pool whose worker downloads (default the process-wide one). */
  pool?: HashWritePool;
  /** Aborts the download. */
  signal?: AbortSignal;
  /** Called now and then with the bytes written so far. */
  onBytes?: (bytes: number) => void;
}

/**
 * Downloads content into the open file `fd` on a worker thread of a {@link HashWritePool}: `drive` decides each
 * request (auth, redirects, retries, resuming), the worker makes it and hashes and writes the body as it arrives,
 * so the bytes never reach this thread. Then the size and digest of everything written are checked: a tampered
 * body fails with {@link DigestMismatchError}. The file descriptor stays the caller's: it may be closed once this
 * has settled (the worker no longer touches it then); on failure the file holds partial content to be removed.
 */
export async function fetchIntoFile(fd: number, drive: FetchDriver, expected: FetchedContent, options: FetchIntoFileOptions = {}): Promise<void> {
  const { signal, onBytes } = options;
  const job = (options.pool ?? sharedHashWritePool()).open(fd);
  try {
    await drive({ fetch: (request, fetchSignal) => job.fetch(request, { ...((fetchSignal ?? signal) ? { signal: fetchSignal ?? signal } : {}), ...(onBytes ? { onBytes } : {}) }) });
    signal?.throwIfAborted();
    const { digest, size } = await job.finish();
    const what = expected.what ?? 'content';
    if (size !== expected.size) throw new SizeMismatchError(what, expected.size, size);
    if (digest !== expected.digest) throw new DigestMismatchError(what, expected.digest, digest ?? 'none');
    onBytes?.(size);
  } finally {
    // a no-op once finished; otherwise waits until the worker has stopped writing
    await job.cancel();
  }
}
