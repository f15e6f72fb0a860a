import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Digest } from '@tsbuild/oci';
import type { BlobFetchRequest, BlobFetchResult, DispatcherProfile } from '@tsbuild/registry-client';
import { HASH_WRITE_WORKER_SOURCE, type HashWriteReply, type HashWriteRequest } from './hash-write-worker.js';

/** What a finished {@link HashWriteJob} wrote. */
export interface HashWriteResult {
  /** The sha256 of the bytes, undefined when the job was opened without hashing. */
  readonly digest: Digest | undefined;
  /** How many bytes were written. */
  readonly size: number;
}

interface Waiter {
  resolve(reply: HashWriteReply): void;
  reject(error: Error): void;
}

/** One worker thread and the jobs it serves, each with its requests awaiting an answer, in order. */
interface PoolWorker {
  readonly worker: Worker;
  readonly jobs: Map<number, Waiter[]>;
  /** Whom to tell about a job's fetch progress. */
  readonly progress: Map<number, (bytes: number) => void>;
  /** Why the worker stopped, once it has. */
  failure: Error | undefined;
  /** Stops the worker once it has been idle for the pool's idle time. */
  idleTimer: NodeJS.Timeout | undefined;
}

/** How a job talks to its worker. */
export interface JobChannel {
  /** Sends a request; resolves with the answer (rejects with a `failed` answer's error). */
  request(message: HashWriteRequest, transfer: ArrayBuffer[]): Promise<HashWriteReply>;
  /** Sends a message that gets no answer. */
  post(message: HashWriteRequest): void;
  /** Sets (or, with undefined, clears) the listener of the job's fetch progress. */
  onProgress(listener: ((bytes: number) => void) | undefined): void;
}

/** Options of {@link HashWriteJob.fetch}. */
export interface JobFetchOptions {
  /** Aborts the request (the fetch then rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Called now and then with the bytes of the job written so far. */
  onBytes?: (bytes: number) => void;
}

/**
 * One stream of bytes hashed and written to a file by a worker thread of a {@link HashWritePool}. Requests are
 * answered in the order they were made. The file descriptor stays the caller's: close it only once {@link finish} or
 * {@link cancel} has settled (the worker no longer touches it then).
 */
export class HashWriteJob {
  private readonly id: number;
  private readonly channel: JobChannel;
  private readonly release: () => void;
  private done = false;

  /** @internal made by {@link HashWritePool.open} */
  constructor(id: number, channel: JobChannel, release: () => void) {
    this.id = id;
    this.channel = channel;
    this.release = release;
  }

  /**
   * Hashes and writes the first `length` bytes of `buffer`, which is transferred to the worker (unusable here until
   * it comes back): resolves with it once written, to be filled again.
   */
  async write(buffer: ArrayBuffer, length: number): Promise<ArrayBuffer> {
    const reply = await this.request({ op: 'write', job: this.id, buffer, length }, [buffer]);
    if (reply.op !== 'written') throw new Error(`hash-write worker answered ${reply.op} to write`);
    return reply.buffer;
  }

  /**
   * Has the worker make one blob GET itself and hash and write the body of a 200 or 206 answer into the job's file as
   * it arrives (the bytes never reach this thread). Resolves with what the answer was; rejects, with the error's
   * `code`, when no answer came, and with the signal's reason once aborted. Do not write to the job meanwhile.
   */
  async fetch(request: BlobFetchRequest, options: JobFetchOptions = {}): Promise<BlobFetchResult> {
    const { signal, onBytes } = options;
    signal?.throwIfAborted();
    const abort = (): void => this.channel.post({ op: 'abort', job: this.id });
    signal?.addEventListener('abort', abort, { once: true });
    this.channel.onProgress(onBytes);
    try {
      const reply = await this.request({ op: 'fetch', job: this.id, request });
      if (reply.op !== 'fetched') throw new Error(`hash-write worker answered ${reply.op} to fetch`);
      return reply.result;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    } finally {
      signal?.removeEventListener('abort', abort);
      this.channel.onProgress(undefined);
    }
  }

  /** Waits for every write, then ends the job with the digest and size of everything written. */
  async finish(): Promise<HashWriteResult> {
    try {
      const reply = await this.request({ op: 'finish', job: this.id });
      if (reply.op !== 'finished') throw new Error(`hash-write worker answered ${reply.op} to finish`);
      return { digest: reply.digest === '' ? undefined : (reply.digest as Digest), size: reply.size };
    } finally {
      this.end();
    }
  }

  /** Ends the job without a result, once the worker is done with every write sent so far. Never fails. */
  async cancel(): Promise<void> {
    if (this.done) return;
    try {
      await this.request({ op: 'cancel', job: this.id });
    } catch {
      // the worker is gone: it does not touch the file any more
    } finally {
      this.end();
    }
  }

  private request(message: HashWriteRequest, transfer: ArrayBuffer[] = []): Promise<HashWriteReply> {
    if (this.done) return Promise.reject(new Error('the hash-write job has ended'));
    return this.channel.request(message, transfer);
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.release();
  }
}

/** Worker threads are started as needed, up to this many (at most one per core). */
const DEFAULT_MAX_WORKERS = 4;

/**
 * A worker with no job for this long (ms) is stopped: each holds a V8 heap of its own (and, once it has fetched, its
 * HTTP client), which a long build would otherwise carry after its pulls are done.
 */
const DEFAULT_IDLE_MS = 1000;

/**
 * A small pool of worker threads that hash (sha256) and write streams of bytes to files, so neither the hashing nor
 * the write system calls run on the main thread; a job can also have its worker download the bytes itself
 * ({@link HashWriteJob.fetch}). Workers start when first needed and keep the process alive only
 * while they have jobs. A job goes to the worker with the fewest jobs.
 */
export class HashWritePool {
  private readonly maxWorkers: number;
  private readonly idleMs: number;
  private readonly workers: PoolWorker[] = [];
  private nextJob = 1;

  /**
   * @param maxWorkers how many worker threads at most (default: the number of cores, at most 4).
   * @param idleMs how long a worker may go without a job before it is stopped (default 1 s).
   */
  constructor(maxWorkers = Math.min(DEFAULT_MAX_WORKERS, availableParallelism()), idleMs = DEFAULT_IDLE_MS) {
    this.maxWorkers = Math.max(1, maxWorkers);
    this.idleMs = idleMs;
  }

  /** How many worker threads are running. */
  get size(): number {
    return this.workers.length;
  }

  /** Starts a job writing to `fd` (which the caller opened, and closes once the job has ended). */
  open(fd: number, options: { hash?: boolean } = {}): HashWriteJob {
    const owner = this.pick();
    const id = this.nextJob++;
    owner.jobs.set(id, []);
    clearTimeout(owner.idleTimer);
    owner.idleTimer = undefined;
    if (owner.jobs.size === 1) owner.worker.ref();
    owner.worker.postMessage({ op: 'open', job: id, fd, hash: options.hash ?? true } satisfies HashWriteRequest);
    const channel: JobChannel = {
      request(message, transfer) {
        if (owner.failure !== undefined) return Promise.reject(owner.failure);
        return new Promise<HashWriteReply>((resolve, reject) => {
          owner.jobs.get(id)?.push({ resolve, reject });
          owner.worker.postMessage(message, transfer);
        });
      },
      post(message) {
        if (owner.failure === undefined) owner.worker.postMessage(message);
      },
      onProgress(listener) {
        if (listener === undefined) owner.progress.delete(id);
        else owner.progress.set(id, listener);
      },
    };
    return new HashWriteJob(id, channel, () => {
      owner.jobs.delete(id);
      owner.progress.delete(id);
      if (owner.jobs.size === 0) {
        owner.worker.unref();
        this.stopWhenIdle(owner);
      }
    });
  }

  /**
   * Starts every worker now instead of on first use and has each get ready to fetch with `profile` (undici loaded,
   * dispatcher made), so the first downloads do not wait for that: for a pull, while it resolves the manifest.
   */
  warm(profile?: DispatcherProfile): void {
    while (this.workers.length < this.maxWorkers) this.stopWhenIdle(this.start());
    if (profile === undefined) return;
    for (const entry of this.workers) entry.worker.postMessage({ op: 'prepare', job: 0, profile } satisfies HashWriteRequest);
  }

  /** Stops the workers (jobs still running fail). */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    for (const entry of workers) clearTimeout(entry.idleTimer);
    await Promise.all(workers.map((entry) => entry.worker.terminate()));
  }

  private stopWhenIdle(entry: PoolWorker): void {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined;
      if (entry.jobs.size > 0) return;
      const index = this.workers.indexOf(entry);
      if (index >= 0) this.workers.splice(index, 1);
      void entry.worker.terminate();
    }, this.idleMs);
    entry.idleTimer.unref();
  }

  private pick(): PoolWorker {
    let best: PoolWorker | undefined;
    for (const entry of this.workers) if (best === undefined || entry.jobs.size < best.jobs.size) best = entry;
    if (best !== undefined && (best.jobs.size === 0 || this.workers.length >= this.maxWorkers)) return best;
    return this.start();
  }

  private start(): PoolWorker {
    const worker = new Worker(HASH_WRITE_WORKER_SOURCE, { eval: true });
    const entry: PoolWorker = { worker, jobs: new Map(), progress: new Map(), failure: undefined, idleTimer: undefined };
    worker.on('message', (reply: HashWriteReply) => {
      if (reply.op === 'progress') {
        entry.progress.get(reply.job)?.(reply.bytes);
        return;
      }
      const waiter = entry.jobs.get(reply.job)?.shift();
      if (waiter === undefined) return;
      if (reply.op === 'failed') waiter.reject(Object.assign(new Error(reply.message), reply.code !== undefined ? { code: reply.code } : {}));
      else waiter.resolve(reply);
    });
    const stop = (error: Error): void => {
      entry.failure ??= error;
      const index = this.workers.indexOf(entry);
      if (index >= 0) this.workers.splice(index, 1);
      for (const waiters of entry.jobs.values()) for (const waiter of waiters.splice(0)) waiter.reject(entry.failure);
    };
    worker.on('error', stop);
    worker.on('exit', (code) => stop(new Error(`the hash-write worker stopped (exit code ${code})`)));
    // after the listeners: adding a 'message' listener refs the worker again
    worker.unref();
    this.workers.push(entry);
    return entry;
  }
}

let shared: HashWritePool | undefined;

/** The process-wide pool (made on first use). */
export function sharedHashWritePool(): HashWritePool {
  shared ??= new HashWritePool();
  return shared;
}
