/**
 * The code a {@link HashWritePool} worker thread runs, and the messages it exchanges with the pool.
 *
 * The worker is started from this source text (`new Worker(source, { eval: true })`) rather than from a file, so it
 * runs the same from the compiled package, from the CLI bundle and from the TypeScript sources under test. It keeps
 * one sha256 per job and, for each buffer it is given, hashes it, writes it to the job's file descriptor with
 * `writeSync` (the worker may block on the disk; the main thread does not), and hands the buffer back for reuse.
 * A job can also `fetch`: the worker makes one HTTP GET itself (with undici, loaded from the path the request
 * names, on a dispatcher it keeps per connection profile) and hashes and writes the body of a 200 or 206 answer as it
 * arrives, so the bytes never reach the main thread; what to request, and whether to retry, stays the caller's.
 * Each message but `open` and `abort` gets exactly one answer, in order; `progress` messages are not answers.
 * @packageDocumentation
 */
import type { BlobFetchRequest, BlobFetchResult, DispatcherProfile } from '@tsbuild/registry-client';

/** Messages to a worker. */
export type HashWriteRequest =
  /** Starts a job: bytes for it go to `fd` (opened and closed by the caller), hashed unless `hash` is false. */
  | { op: 'open'; job: number; fd: number; hash: boolean }
  /** Hashes and writes the first `length` bytes of `buffer` (transferred); answered with `written`. */
  | { op: 'write'; job: number; buffer: ArrayBuffer; length: number }
  /** Ends a job; answered with `finished`. */
  | { op: 'finish'; job: number }
  /** Forgets a job (its earlier writes are done, and a fetch stopped, when this is answered); answered with `cancelled`. */
  | { op: 'cancel'; job: number }
  /**
   * One GET; the body of a 200 or 206 answer is hashed and written like `write` buffers, with progress messages on
   * the way; answered with `fetched`, or with `failed` when no answer came (the job stays usable then).
   */
  | { op: 'fetch'; job: number; request: BlobFetchRequest }
  /** Stops the job's fetch: it is answered with `failed` (code `ABORT_ERR`) unless it had been answered already. */
  | { op: 'abort'; job: number }
  /** Gets ready to fetch with `profile` (loads undici, makes the dispatcher); not answered, failures ignored. */
  | { op: 'prepare'; job: 0; profile: DispatcherProfile };

/** Messages from a worker. */
export type HashWriteReply =
  /** A buffer is written; it is given back (transferred) for reuse. */
  | { op: 'written'; job: number; buffer: ArrayBuffer }
  /** Everything is written: the digest (`sha256:...`, empty when not hashing) and byte count. */
  | { op: 'finished'; job: number; digest: string; size: number }
  | { op: 'cancelled'; job: number }
  /** A fetch got an answer (its body, if it was a 200 or 206 one, is written). */
  | { op: 'fetched'; job: number; result: BlobFetchResult }
  /**
   * Not an answer: a fetch has written this many bytes of the job (sent after each {@link PROGRESS_BYTES}, at most
   * every {@link PROGRESS_MS}).
   */
  | { op: 'progress'; job: number; bytes: number }
  /**
   * A write failed (and every later request of the job fails the same way until it is cancelled), or a fetch got no
   * answer (the connection failed or the fetch was aborted: the job stays usable).
   */
  | { op: 'failed'; job: number; message: string; code: string | undefined };

/** A fetch reports its progress after this many bytes... */
export const PROGRESS_BYTES = 1 << 20;
/** ...and at most this often (ms): each message costs both threads a little. */
export const PROGRESS_MS = 50;

/**
 * A fetching worker runs a minor garbage collection after about this many bytes received (all its fetches together).
 * Every socket read allocates a new 64 KiB buffer that dies at once, but V8 collects such buffers only once ~64 MiB
 * of them have piled up: two fetching workers added ~50 MB to a pull's peak RSS. A scavenge of a nearly empty young
 * generation costs well under a millisecond.
 */
const GC_BYTES = 8 << 20;

/** How much of an error answer's body a fetch keeps (as text). */
const ERROR_TEXT_BYTES = 64 * 1024;

/** The worker's source (CommonJS, run with `eval: true`). */
export const HASH_WRITE_WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
const PROGRESS_BYTES = ${PROGRESS_BYTES};
const PROGRESS_MS = ${PROGRESS_MS};
const ERROR_TEXT_BYTES = ${ERROR_TEXT_BYTES};
const GC_BYTES = ${GC_BYTES};
const jobs = new Map();
const dispatchers = new Map();
let collectGarbage;
let received = 0;
/** Counts bytes received; runs a minor GC (see GC_BYTES) every GC_BYTES. */
function countReceived(bytes) {
  received += bytes;
  if (received < GC_BYTES) return;
  received = 0;
  if (collectGarbage === undefined) {
    // gc() is exposed only to contexts made after the flag is set: this worker's own context predates it
    require('node:v8').setFlagsFromString('--expose-gc');
    collectGarbage = require('node:vm').runInNewContext('gc');
  }
  collectGarbage({ type: 'minor' });
}
function fail(id, error) {
  parentPort.postMessage({ op: 'failed', job: id, message: error.message, code: error.code });
}
function abortError() {
  return Object.assign(new Error('the download was aborted'), { code: 'ABORT_ERR' });
}
function dispatcherFor(profile) {
  let dispatcher = dispatchers.get(profile.key);
  if (dispatcher === undefined) {
    const undici = require(profile.undici);
    // as dispatcherOptions() in registry-client's session.ts: one secure context for every connection
    const options = { ...profile.options };
    if (profile.tls !== undefined) {
      const secureContext = require('node:tls').createSecureContext(profile.tls);
      options.connect = { ...options.connect, secureContext };
      if (options.requestTls !== undefined) options.requestTls = { ...options.requestTls, secureContext };
    }
    dispatcher = profile.kind === 'env-proxy' ? new undici.EnvHttpProxyAgent(options) : new undici.Agent(options);
    dispatchers.set(profile.key, dispatcher);
  }
  return dispatcher;
}
function write(job, bytes) {
  if (job.hash !== undefined) job.hash.update(bytes);
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(job.fd, bytes, offset, bytes.length - offset);
  job.size += bytes.length;
}
function fetchBlob(id, job, request) {
  const { offset, size } = request;
  let controller;
  let status = 0;
  let headers = {};
  let streaming = false;
  let skip = 0;
  let settled = false;
  let reported = job.size;
  let reportedAt = Date.now();
  const text = [];
  let textBytes = 0;
  const settle = (message) => {
    if (settled) return;
    settled = true;
    job.fetch = undefined;
    parentPort.postMessage(message);
  };
  const answer = (result) => settle({ op: 'fetched', job: id, result });
  const end = (how, extra) => answer({ kind: 'body', status, headers, stored: job.size, end: how, ...extra });
  const errorOf = (error) => ({ message: String(error && error.message), code: error && typeof error.code === 'string' ? error.code : undefined });
  const stop = (error) => {
    if (controller !== undefined && !controller.aborted) controller.abort(error);
  };
  job.fetch = {
    abort() {
      const error = abortError();
      settle({ op: 'failed', job: id, message: error.message, code: error.code });
      stop(error);
    },
  };
  const handler = {
    onRequestStart(c) {
      controller = c;
      if (settled) c.abort(abortError());
    },
    onResponseStart(c, statusCode, responseHeaders) {
      if (settled) return;
      status = statusCode;
      headers = responseHeaders;
      if (statusCode !== 200 && statusCode !== 206) return;
      streaming = true;
      if (statusCode === 206 && offset > 0) {
        const match = /bytes\\s+(\\d+)-/.exec(String(headers['content-range'] ?? ''));
        const start = match === null ? NaN : Number(match[1]);
        if (start !== offset) {
          end('bad-range', { start });
          stop(new Error('the answer starts at the wrong byte'));
        }
      } else {
        skip = offset;
      }
    },
    onResponseData(c, chunk) {
      if (settled) return;
      countReceived(chunk.length);
      if (!streaming) {
        if (textBytes < ERROR_TEXT_BYTES) {
          text.push(chunk);
          textBytes += chunk.length;
        }
        return;
      }
      let bytes = chunk;
      if (skip > 0) {
        if (bytes.length <= skip) {
          skip -= bytes.length;
          return;
        }
        bytes = bytes.subarray(skip);
        skip = 0;
      }
      if (job.size + bytes.length > size) {
        answer({ kind: 'body', status, headers, stored: job.size + bytes.length, end: 'too-long' });
        stop(new Error('the body is longer than the blob'));
        return;
      }
      try {
        write(job, bytes);
      } catch (error) {
        job.error = error;
        end('write-failed', { error: errorOf(error) });
        stop(error);
        return;
      }
      if (job.size - reported >= PROGRESS_BYTES && Date.now() - reportedAt >= PROGRESS_MS) {
        reported = job.size;
        reportedAt = Date.now();
        parentPort.postMessage({ op: 'progress', job: id, bytes: job.size });
      }
    },
    onResponseEnd() {
      if (streaming) end('complete');
      else answer({ kind: 'response', status, headers, text: Buffer.concat(text).toString('utf8').slice(0, ERROR_TEXT_BYTES) });
    },
    onResponseError(c, error) {
      if (settled) return;
      if (status === 0) settle({ op: 'failed', job: id, ...errorOf(error) });
      else if (streaming) end('broken', { error: errorOf(error) });
      else answer({ kind: 'response', status, headers, text: Buffer.concat(text).toString('utf8').slice(0, ERROR_TEXT_BYTES) });
    },
  };
  try {
    const url = new URL(request.url);
    dispatcherFor(request.profile).dispatch({ origin: url.origin, path: url.pathname + url.search, method: 'GET', headers: request.headers }, handler);
  } catch (error) {
    settle({ op: 'failed', job: id, ...errorOf(error) });
  }
}
parentPort.on('message', (request) => {
  const id = request.job;
  if (request.op === 'open') {
    jobs.set(id, { fd: request.fd, hash: request.hash ? createHash('sha256') : undefined, size: 0, error: undefined, fetch: undefined });
    return;
  }
  if (request.op === 'prepare') {
    try {
      dispatcherFor(request.profile);
    } catch {
      // a fetch reports it
    }
    return;
  }
  if (request.op === 'abort') {
    const job = jobs.get(id);
    if (job !== undefined && job.fetch !== undefined) job.fetch.abort();
    return;
  }
  if (request.op === 'cancel') {
    const job = jobs.get(id);
    // the fetch is answered (and writes nothing more) before the cancel is
    if (job !== undefined && job.fetch !== undefined) job.fetch.abort();
    jobs.delete(id);
    parentPort.postMessage({ op: 'cancelled', job: id });
    return;
  }
  const job = jobs.get(id);
  if (job === undefined) return fail(id, new Error('unknown job ' + id));
  if (job.error !== undefined) return fail(id, job.error);
  if (request.op === 'fetch') {
    if (job.fetch !== undefined) return fail(id, new Error('job ' + id + ' is already fetching'));
    fetchBlob(id, job, request.request);
    return;
  }
  if (request.op === 'finish') {
    jobs.delete(id);
    const digest = job.hash === undefined ? '' : 'sha256:' + job.hash.digest('hex');
    parentPort.postMessage({ op: 'finished', job: id, digest, size: job.size });
    return;
  }
  try {
    write(job, new Uint8Array(request.buffer, 0, request.length));
    parentPort.postMessage({ op: 'written', job: id, buffer: request.buffer }, [request.buffer]);
  } catch (error) {
    job.error = error;
    fail(id, error);
  }
});
`;
