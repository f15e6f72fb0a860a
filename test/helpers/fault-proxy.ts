import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

/** What the proxy can do to a request instead of (or while) passing it on. */
export type FaultKind = 'reset' | 'error500' | 'error429' | 'cut';

/** A request as the proxy's hooks see it. */
export interface ProxiedRequest {
  method: string;
  /** The path without query, e.g. `/v2/app/blobs/sha256:...`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

/** One request that reached the proxy. */
export interface RecordedRequest extends ProxiedRequest {
  /** The status sent back (undefined for a reset). */
  status?: number;
  fault?: FaultKind;
  tampered?: boolean;
  redirected?: string;
}

/** Fault probabilities per request, each in [0, 1]. */
export interface FaultRates {
  /** Drop the connection without an answer. */
  reset?: number;
  /** Answer 500 without asking the registry. */
  error500?: number;
  /** Answer 429 with `Retry-After`. */
  error429?: number;
  /** Pass the request on, then cut the connection in the middle of the answer. */
  cut?: number;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The registry, e.g. `http://127.0.0.1:5000` (https upstreams accept any certificate). */
  upstream: string;
  /** Seed of the pseudo-random fault choice, so a failing run can be repeated (default 1). */
  seed?: number;
  rates?: FaultRates;
  /** `Retry-After` of 429 answers (default `0`). */
  retryAfter?: string;
  /** Which requests may be faulted (default all but `GET /v2/`). */
  faultable?: (request: ProxiedRequest) => boolean;
  /** Requests whose answer body gets one byte flipped. */
  tamper?: (request: ProxiedRequest) => boolean;
  /** Requests answered with `307 Location: <returned URL>` instead of being passed on. */
  redirect?: (request: ProxiedRequest) => string | undefined;
}

/** A running fault-injecting proxy. */
export interface FaultProxy {
  /** `127.0.0.1:PORT`: use it as the registry host. */
  host: string;
  port: number;
  url: string;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /** How many faults of each kind were injected. */
  faults: Record<FaultKind, number>;
  /** Requests with `method` (any when undefined) whose path matches `path` (any when undefined). */
  count(method?: string, path?: RegExp): number;
  /** Forgets the recorded requests and fault counts. */
  clear(): void;
  /** Changes the random fault rates. */
  setRates(rates: FaultRates): void;
  /** Forces a fault on the next `times` faultable requests, before any random one. */
  failNext(kind: FaultKind, times?: number): void;
  stop(): Promise<void>;
}

/** mulberry32: a small seeded PRNG, so fault sequences are repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class FlipFirstByte extends Transform {
  private done = false;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.done && chunk.length > 0) {
      const copy = Buffer.from(chunk);
      copy[0] = copy[0]! ^ 0xff;
      this.done = true;
      callback(null, copy);
      return;
    }
    callback(null, chunk);
  }
}

/**
 * Starts an HTTP proxy on 127.0.0.1 in front of a registry (it also works as an `HTTP_PROXY` for plain-http targets:
 * whatever host a request names, it goes to the upstream). It passes requests on unchanged (the `Host` header too,
 * so the registry's `Location`s point back at the proxy), records them, and can reset connections, answer 500/429,
 * cut answers in the middle (random, seeded, or forced), flip a byte of chosen answers, and redirect chosen requests.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const random = seededRandom(options.seed ?? 1);
  let rates: FaultRates = { ...options.rates };
  const forced: FaultKind[] = [];
  const requests: RecordedRequest[] = [];
  const faults: Record<FaultKind, number> = { reset: 0, error500: 0, error429: 0, cut: 0 };
  const faultable = options.faultable ?? ((request: ProxiedRequest) => !(request.method === 'GET' && request.path === '/v2/'));
  const sockets = new Set<Socket>();

  const chooseFault = (request: ProxiedRequest): FaultKind | undefined => {
    if (!faultable(request)) return undefined;
    const next = forced.shift();
    if (next !== undefined) return next;
    const roll = random();
    let edge = 0;
    for (const kind of ['reset', 'error500', 'error429', 'cut'] as const) {
      edge += rates[kind] ?? 0;
      if (roll < edge) return kind;
    }
    return undefined;
  };

  const errorAnswer = (res: ServerResponse, status: number, record: RecordedRequest): void => {
    record.status = status;
    const body = JSON.stringify({ errors: [{ code: status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: `injected ${status}` }] });
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
      ...(status === 429 ? { 'retry-after': options.retryAfter ?? '0' } : {}),
    });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers };
    requests.push(record);
    const target = options.redirect?.(record);
    if (target !== undefined) {
      record.redirected = target;
      record.status = 307;
      req.resume();
      res.writeHead(307, { location: target, 'content-length': '0' }).end();
      return;
    }
    const fault = chooseFault(record);
    if (fault !== undefined) {
      record.fault = fault;
      faults[fault]++;
    }
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === 'error500' || fault === 'error429') {
      req.resume();
      errorAnswer(res, fault === 'error500' ? 500 : 429, record);
      return;
    }
    const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, rejectUnauthorized: false },
      (answer) => {
        record.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        let body: NodeJS.ReadableStream = answer;
        if (options.tamper?.(record)) {
          record.tampered = true;
          body = answer.pipe(new FlipFirstByte());
        }
        if (fault === 'cut') {
          const limit = Math.max(1, Math.floor(Number(answer.headers['content-length'] ?? 2) / 2));
          let sent = 0;
          body.on('data', (chunk: Buffer) => {
            if (sent + chunk.length >= limit) {
              // cut only once the first half has reached the socket, so the client really holds part of the body
              answer.destroy();
              res.write(chunk.subarray(0, Math.max(0, limit - sent)), () => res.socket?.destroy());
              sent = limit;
              return;
            }
            sent += chunk.length;
            res.write(chunk);
          });
          body.on('end', () => res.socket?.destroy());
          return;
        }
        body.pipe(res);
        answer.on('error', () => res.socket?.destroy());
      },
    );
    outgoing.on('error', () => res.socket?.destroy());
    req.on('error', () => outgoing.destroy());
    req.pipe(outgoing);
  };

  const server: Server = createServer(handle);
  // used as an HTTP forward proxy it serves plain-http targets only: refuse tunnels plainly
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n');
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    count: (method, path) => requests.filter((r) => (method === undefined || r.method === method) && (path === undefined || path.test(r.path))).length,
    clear(): void {
      requests.length = 0;
      for (const kind of Object.keys(faults) as FaultKind[]) faults[kind] = 0;
    },
    setRates(next: FaultRates): void {
      rates = { ...next };
    },
    failNext(kind: FaultKind, times = 1): void {
      for (let i = 0; i < times; i++) forced.push(kind);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
