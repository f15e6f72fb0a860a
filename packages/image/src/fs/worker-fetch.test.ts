import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DigestMismatchError, sha256Digest } from '@tsbuild/oci';
import { RegistryClient } from '@tsbuild/registry-client';
import { makeTempDir } from '../../../../test/helpers/tmp.js';
import { HashWritePool } from './hash-write-pool.js';
import { fetchIntoFile, type FetchIntoFileOptions } from './worker-fetch.js';

const blob = randomBytes(3 * 1024 * 1024 + 123);
const digest = sha256Digest(blob);
const BLOB_PATH = `/v2/test/app/blobs/${digest}`;

/** What the test registry does with the next blob request. */
type Action = 'ok' | 'tamper' | 'reset' | '503' | 'stall';

describe('fetchIntoFile: a pool worker downloads, hashes and writes a registry blob', () => {
  const pool = new HashWritePool(2);
  const actions: Action[] = [];
  const requests: Array<{ range: string | undefined }> = [];
  let server: Server;
  /** Called once a stalled answer has sent its first bytes. */
  let onStall: (() => void) | undefined;
  let client: RegistryClient;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/v2/') return void res.writeHead(200).end();
      if (req.url !== BLOB_PATH) return void res.writeHead(404).end();
      requests.push({ range: req.headers.range });
      const action = actions.shift() ?? 'ok';
      if (action === '503') return void res.writeHead(503).end('busy');
      const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
      let body = blob.subarray(start);
      if (action === 'tamper') {
        body = Buffer.from(body);
        body[body.length - 10]! ^= 1;
      }
      const range = start > 0 ? { 'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}` } : {};
      res.writeHead(start > 0 ? 206 : 200, { 'content-length': String(body.length), ...range });
      if (action === 'reset') return void res.write(body.subarray(0, 1024 * 1024), () => res.socket?.destroy());
      if (action === 'stall') return void res.write(body.subarray(0, 512 * 1024), () => setTimeout(() => onStall?.(), 20));
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new RegistryClient({ registry: `127.0.0.1:${port}`, env: {}, retry: { minDelayMs: 5, maxDelayMs: 20 } });
  });
  afterAll(async () => {
    await client.close();
    await pool.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
    actions.length = 0;
    requests.length = 0;
  });
  afterEach(async () => cleanup());

  async function fetchTo(name: string, options: FetchIntoFileOptions = {}): Promise<Buffer> {
    const path = join(dir, name);
    const handle = await open(path, 'wx');
    try {
      const { signal } = options;
      await fetchIntoFile(
        handle.fd,
        (fetcher) => client.fetchBlob('test/app', { digest, size: blob.length }, fetcher, signal ? { signal } : {}),
        { digest, size: blob.length, what: 'blob under test' },
        { pool, ...options },
      );
    } finally {
      await handle.close();
    }
    return readFile(path);
  }

  it('stores the blob, verified, and reports progress', async () => {
    const progress: number[] = [];
    const stored = await fetchTo('ok', { onBytes: (bytes) => progress.push(bytes) });
    expect(stored.equals(blob)).toBe(true);
    expect(requests).toEqual([{ range: undefined }]);
    expect(progress.at(-1)).toBe(blob.length);
  });

  it('rejects a tampered body', async () => {
    actions.push('tamper');
    await expect(fetchTo('tampered')).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('resumes a body broken off with a Range request from the bytes written', async () => {
    actions.push('reset');
    const stored = await fetchTo('resumed');
    expect(stored.equals(blob)).toBe(true);
    expect(requests).toEqual([{ range: undefined }, { range: 'bytes=1048576-' }]);
  });

  it('retries an answer of 503', async () => {
    actions.push('503');
    expect((await fetchTo('retried')).equals(blob)).toBe(true);
    expect(requests).toHaveLength(2);
  });

  it('stops the download when aborted', async () => {
    actions.push('stall');
    const controller = new AbortController();
    const reason = new Error('stopped by the test');
    onStall = () => controller.abort(reason);
    const fetched = fetchTo('aborted', { signal: controller.signal });
    await expect(fetched).rejects.toBe(reason);
    // the worker is free for the next job
    expect((await fetchTo('after')).equals(blob)).toBe(true);
  });
});
