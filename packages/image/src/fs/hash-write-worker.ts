/**
 * The code a {@link HashWritePool} worker thread runs, and the messages it exchanges with the pool.
 *
 * The worker is started from this source text (`new Worker(source, { eval: true })`) rather than from a file, so it
 * runs the same from the compiled package and from the TypeScript sources under test. It keeps one sha256 per job
 * and, for each buffer it is given, hashes it, writes it to the job's file descriptor with `writeSync` (the worker
 * may block on the disk; the main thread does not), and hands the buffer back for reuse. Each message but `open` gets
 * exactly one answer, in order.
 * @packageDocumentation
 */

/** Messages to a worker. */
export type HashWriteRequest =
  /** Starts a job: bytes for it go to `fd` (opened and closed by the caller), hashed unless `hash` is false. */
  | { op: 'open'; job: number; fd: number; hash: boolean }
  /** Hashes and writes the first `length` bytes of `buffer` (transferred); answered with `written`. */
  | { op: 'write'; job: number; buffer: ArrayBuffer; length: number }
  /** Ends a job; answered with `finished`. */
  | { op: 'finish'; job: number }
  /** Forgets a job (its earlier writes are done when this is answered); answered with `cancelled`. */
  | { op: 'cancel'; job: number };

/** Messages from a worker. */
export type HashWriteReply =
  /** A buffer is written; it is given back (transferred) for reuse. */
  | { op: 'written'; job: number; buffer: ArrayBuffer }
  /** Everything is written: the digest (`sha256:...`, empty when not hashing) and byte count. */
  | { op: 'finished'; job: number; digest: string; size: number }
  | { op: 'cancelled'; job: number }
  /** A write failed (and every later request of the job fails the same way until it is cancelled). */
  | { op: 'failed'; job: number; message: string; code: string | undefined };

/** The worker's source (CommonJS, run with `eval: true`). */
export const HASH_WRITE_WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
const jobs = new Map();
function fail(id, error) {
  parentPort.postMessage({ op: 'failed', job: id, message: error.message, code: error.code });
}
parentPort.on('message', (request) => {
  const id = request.job;
  if (request.op === 'open') {
    jobs.set(id, { fd: request.fd, hash: request.hash ? createHash('sha256') : undefined, size: 0, error: undefined });
    return;
  }
  if (request.op === 'cancel') {
    jobs.delete(id);
    parentPort.postMessage({ op: 'cancelled', job: id });
    return;
  }
  const job = jobs.get(id);
  if (job === undefined) return fail(id, new Error('unknown job ' + id));
  if (job.error !== undefined) return fail(id, job.error);
  if (request.op === 'finish') {
    jobs.delete(id);
    const digest = job.hash === undefined ? '' : 'sha256:' + job.hash.digest('hex');
    parentPort.postMessage({ op: 'finished', job: id, digest, size: job.size });
    return;
  }
  try {
    const bytes = new Uint8Array(request.buffer, 0, request.length);
    if (job.hash !== undefined) job.hash.update(bytes);
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(job.fd, bytes, offset, bytes.length - offset);
    job.size += bytes.length;
    parentPort.postMessage({ op: 'written', job: id, buffer: request.buffer }, [request.buffer]);
  } catch (error) {
    job.error = error;
    fail(id, error);
  }
});
`;
