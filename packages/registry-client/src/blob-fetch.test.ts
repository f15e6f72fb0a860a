import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SizeMismatchError, sha256Digest } from '@tsbuild/oci';
import type { BlobFetcher, BlobFetchRequest, BlobFetchResult } from './blob-fetch.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

const blob = randomBytes(500_000);
const digest = sha256Digest(blob);
const BLOB_PATH = `/v2/test/app/blobs/${digest}`;
const AUTH = `Basic ${Buffer.from('user:secret').toString('base64')}`;

/** What a test server does with the next blob request. */
type Action = 'ok' | 'reset' | 'redirect' | 'long' | 'wrong-range' | 'missing';

interface Seen {
  server: 'registry' | 'storage';
  headers: IncomingHttpHeaders;
}

/** A fetcher that keeps the body in memory, doing what the pull workers do with a file. */
class MemoryFetcher implements BlobFetcher {
  chunks: Buffer[] = [];
  stored = 0;
  readonly requests: BlobFetchRequest[] = [];

  async fetch(req: BlobFetchRequest, signal?: AbortSignal): Promise<BlobFetchResult> {
    this.requests.push(req);
    const response = await request(req.url, { headers: req.headers, ...(signal ? { signal } : {}) });
    const { statusCode: status } = response;
    const headers = response.headers as Record<string, string | string[] | undefined>;
    if (status !== 200 && status !== 206) return { kind: 'response', status, headers, text: await response.body.text() };
    if (status === 206 && req.offset > 0) {
      const start = Number(/bytes (\d+)-/.exec(String(headers['content-range']))?.[1]);
      if (start !== req.offset) {
        response.body.destroy();
        return { kind: 'body', status, headers, stored: this.stored, end: 'bad-range', start };
      }
    }
    let skip = status === 200 ? req.offset : 0;
    try {
      for await (const data of response.body as AsyncIterable<Buffer>) {
        const chunk = data.subarray(Math.min(skip, data.length));
        skip -= data.length - chunk.length;
        if (this.stored + chunk.length > req.size) {
          response.body.destroy();
          return { kind: 'body', status, headers, stored: this.stored + chunk.length, end: 'too-long' };
        }
        this.chunks.push(chunk);
        this.stored += chunk.length;
      }
    } catch (err) {
      const { message, code } = err as Error & { code?: string };
      return { kind: 'body', status, headers, stored: this.stored, end: 'broken', error: { message, code } };
    }
    return { kind: 'body', status, headers, stored: this.stored, end: 'complete' };
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

describe('fetchBlob: a blob download through a fetcher, with the session deciding each request', () => {
  const actions: Action[] = [];
  const seen: Seen[] = [];
  let registry: Server;
  let storage: Server;
  let client: RegistryClient;

  function send(res: import('node:http').ServerResponse, start: number, body: Buffer, action: Action): void {
    const range = start > 0 ? { 'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}` } : {};
    res.writeHead(start > 0 ? 206 : 200, { 'content-length': String(body.length), ...range });
    if (action === 'reset') res.write(body.subarray(0, 100_000), () => res.socket?.destroy());
    else res.end(body);
  }

  beforeAll(async () => {
    storage = createServer((req, res) => {
      seen.push({ server: 'storage', headers: req.headers });
      send(res, 0, blob, 'ok');
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}/blob`;
    registry = createServer((req, res) => {
      if (req.headers.authorization !== AUTH) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
      if (req.url === '/v2/') return void res.writeHead(200).end();
      if (req.url !== BLOB_PATH) return void res.writeHead(404).end();
      seen.push({ server: 'registry', headers: req.headers });
      const action = actions.shift() ?? 'ok';
      if (action === 'missing') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      if (action === 'redirect') return void res.writeHead(307, { location: storageUrl }).end();
      const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
      if (action === 'long') return send(res, 0, Buffer.concat([blob, Buffer.from('more')]), action);
      if (action === 'wrong-range') return send(res, start + 1, blob.subarray(start + 1), action);
      send(res, start, blob.subarray(start), action);
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    client = new RegistryClient({
      registry: `127.0.0.1:${(registry.address() as AddressInfo).port}`,
      env: {},
      creds: 'user:secret',
      retry: { minDelayMs: 5, maxDelayMs: 20 },
    });
  });
  afterAll(async () => {
    await client.close();
    for (const server of [registry, storage]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  beforeEach(() => {
    actions.length = 0;
    seen.length = 0;
  });

  it('downloads the blob with the registry credentials, through the connection profile of the session', async () => {
    const fetcher = new MemoryFetcher();
    await client.fetchBlob('test/app', { digest, size: blob.length }, fetcher);
    expect(fetcher.bytes().equals(blob)).toBe(true);
    expect(seen.map((s) => s.headers.authorization)).toEqual([AUTH]);
    expect(fetcher.requests[0]?.profile).toEqual(await client.connectionProfile());
    expect(fetcher.requests[0]?.profile.undici).toMatch(/undici/);
  });

  it('follows a redirect to another origin without sending the credentials there', async () => {
    actions.push('redirect');
    const fetcher = new MemoryFetcher();
    await client.fetchBlob('test/app', { digest, size: blob.length }, fetcher);
    expect(fetcher.bytes().equals(blob)).toBe(true);
    expect(seen.map((s) => s.server)).toEqual(['registry', 'storage']);
    expect(seen[1]?.headers.authorization).toBeUndefined();
  });

  it('resumes a broken body with a Range request from the bytes stored', async () => {
    actions.push('reset');
    const fetcher = new MemoryFetcher();
    await client.fetchBlob('test/app', { digest, size: blob.length }, fetcher);
    expect(fetcher.bytes().equals(blob)).toBe(true);
    expect(fetcher.requests.map((r) => [r.offset, r.headers.range])).toEqual([
      [0, undefined],
      [100_000, 'bytes=100000-'],
    ]);
  });

  it('fails on a body longer than the blob, an answer from the wrong byte and a missing blob', async () => {
    actions.push('long');
    await expect(client.fetchBlob('test/app', { digest, size: blob.length }, new MemoryFetcher())).rejects.toBeInstanceOf(SizeMismatchError);
    actions.push('reset', 'wrong-range');
    await expect(client.fetchBlob('test/app', { digest, size: blob.length }, new MemoryFetcher())).rejects.toMatchObject({ code: 'PROTOCOL' });
    actions.push('missing');
    const missing = client.fetchBlob('test/app', { digest, size: blob.length }, new MemoryFetcher());
    await expect(missing).rejects.toBeInstanceOf(RegistryError);
    await expect(missing).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
  });
});
