import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Digest } from '@tsbuild/oci';
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
  /** Why the worker stopped, once it has. */
  failure: Error | undefined;
}

/** Sends a job's request to its worker; resolves with the answer (rejects with a `failed` answer's error). */
export type JobChannel = (message: HashWriteRequest, transfer: ArrayBuffer[]) => Promise<HashWriteReply>;

/**
 * One stream of bytes hashed and written to a file by a worker thread of a {@link HashWritePool}. Requests are
 * answered in the order they were made. The file descriptor stays the caller's: close it only once {@link finish} or
 * {@link cancel} has settled (the worker no longer touches it then).
 */
export class HashWriteJob {
  private readonly id: number;
  private readonly send: JobChannel;
  private readonly release: () => void;
  private done = false;

  /** @internal made by {@link HashWritePool.open} */
  constructor(id: number, send: JobChannel, release: () => void) {
    this.id = id;
    this.send = send;
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
    return this.send(message, transfer);
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
 * A small pool of worker threads that hash (sha256) and write streams of bytes to files, so neither the hashing nor
 * the write system calls run on the main thread. Workers start when first needed and keep the process alive only
 * while they have jobs. A job goes to the worker with the fewest jobs.
 */
export class HashWritePool {
  private readonly maxWorkers: number;
  private readonly workers: PoolWorker[] = [];
  private nextJob = 1;

  /** @param maxWorkers how many worker threads at most (default: the number of cores, at most 4). */
  constructor(maxWorkers = Math.min(DEFAULT_MAX_WORKERS, availableParallelism())) {
    this.maxWorkers = Math.max(1, maxWorkers);
  }

  /** Starts a job writing to `fd` (which the caller opened, and closes once the job has ended). */
  open(fd: number, options: { hash?: boolean } = {}): HashWriteJob {
    const owner = this.pick();
    const id = this.nextJob++;
    owner.jobs.set(id, []);
    if (owner.jobs.size === 1) owner.worker.ref();
    owner.worker.postMessage({ op: 'open', job: id, fd, hash: options.hash ?? true } satisfies HashWriteRequest);
    const send: JobChannel = (message, transfer) => {
      if (owner.failure !== undefined) return Promise.reject(owner.failure);
      return new Promise<HashWriteReply>((resolve, reject) => {
        owner.jobs.get(id)?.push({ resolve, reject });
        owner.worker.postMessage(message, transfer);
      });
    };
    return new HashWriteJob(id, send, () => {
      owner.jobs.delete(id);
      if (owner.jobs.size === 0) owner.worker.unref();
    });
  }

  /** Stops the workers (jobs still running fail). */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((entry) => entry.worker.terminate()));
  }

  private pick(): PoolWorker {
    let best: PoolWorker | undefined;
    for (const entry of this.workers) if (best === undefined || entry.jobs.size < best.jobs.size) best = entry;
    if (best !== undefined && (best.jobs.size === 0 || this.workers.length >= this.maxWorkers)) return best;
    return this.start();
  }

  private start(): PoolWorker {
    const worker = new Worker(HASH_WRITE_WORKER_SOURCE, { eval: true });
    const entry: PoolWorker = { worker, jobs: new Map(), failure: undefined };
    worker.unref();
    worker.on('message', (reply: HashWriteReply) => {
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
