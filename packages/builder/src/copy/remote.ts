import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RemoteSource } from '../context/source.js';
import { CopyError } from './errors.js';

/** Whether an ADD source is a URL to download (`http://` or `https://`). */
export function isRemoteUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

const CHECKSUM_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * Parses an `ADD --checksum` value (`sha256:<hex>`, also `sha384:` and `sha512:`).
 * @throws {CopyError} `ADD_CHECKSUM` for anything else.
 */
export function parseChecksum(value: string, instruction = 'ADD'): { algorithm: string; hex: string } {
  const match = /^([a-z0-9]+):([0-9a-fA-F]+)$/.exec(value);
  const algorithm = match?.[1];
  const length = algorithm === undefined ? undefined : CHECKSUM_LENGTHS[algorithm];
  if (match === null || length === undefined || match[2]!.length !== length) {
    throw new CopyError('ADD_CHECKSUM', `${instruction} failed: invalid --checksum ${JSON.stringify(value)}: expected sha256:<64 hex digits> (or sha384:, sha512:)`, {
      path: value,
    });
  }
  return { algorithm: algorithm!, hex: match[2]!.toLowerCase() };
}

/** The file name a download gets in a destination directory: the URL path's last segment, else the server's. */
export function remoteFileName(url: string, contentDisposition: string | null): string {
  const usable = (name: string): boolean => name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
  const path = new URL(url).pathname;
  let name = path.slice(path.lastIndexOf('/') + 1);
  try {
    name = decodeURIComponent(name);
  } catch {
    // keep it as written
  }
  if (usable(name)) return name;
  const match = contentDisposition === null ? null : /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(contentDisposition);
  const fromServer = match?.[1] ?? '';
  return usable(fromServer) ? fromServer : '';
}

/** Options of {@link fetchRemoteSource}. */
export interface FetchRemoteOptions {
  /** Directory the download is written to (created when missing); the caller removes the file when done. */
  dir: string;
  /** `--checksum`: the content must have this digest, else the download fails and is removed. */
  checksum?: string;
  /** Stops the download. */
  signal?: AbortSignal;
  /** `ADD`, for messages. */
  instruction?: string;
  /** Called as bytes arrive (total when the server says it). */
  onProgress?: (bytes: number, total: number | undefined) => void;
}

/**
 * Downloads an ADD URL into a file, hashing it on the way: redirects are followed; a status other than 2xx, a
 * network failure or a `--checksum` mismatch fails with a {@link CopyError} naming the URL. The result carries
 * the file name for a destination directory, the sha256 (for the cache key) and `Last-Modified` (its mtime).
 */
export async function fetchRemoteSource(url: string, options: FetchRemoteOptions): Promise<RemoteSource> {
  const instruction = options.instruction ?? 'ADD';
  const expected = options.checksum === undefined ? undefined : parseChecksum(options.checksum, instruction);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new CopyError('ADD_DOWNLOAD', `${instruction} failed: invalid URL ${JSON.stringify(url)}`, { path: url, cause: error });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CopyError('ADD_DOWNLOAD', `${instruction} failed: only http and https URLs can be downloaded, not ${JSON.stringify(url)}`, { path: url });
  }
  let response: Response;
  try {
    response = await fetch(parsed, { redirect: 'follow', ...(options.signal !== undefined ? { signal: options.signal } : {}) });
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    const why = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new CopyError('ADD_DOWNLOAD', `${instruction} failed: GET ${url}: ${why}`, { path: url, cause: error });
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel().catch(() => undefined);
    throw new CopyError('ADD_DOWNLOAD', `${instruction} failed: GET ${url}: ${response.status} ${response.statusText}`.trimEnd(), { path: url });
  }
  const total = Number(response.headers.get('content-length') ?? Number.NaN);
  const lastModified = Date.parse(response.headers.get('last-modified') ?? '');
  await mkdir(options.dir, { recursive: true });
  const path = join(options.dir, `.tsbuild-download-${process.pid}-${randomBytes(6).toString('hex')}`);
  const sha256 = createHash('sha256');
  const check = expected === undefined || expected.algorithm === 'sha256' ? undefined : createHash(expected.algorithm);
  let size = 0;
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      sha256.update(buffer);
      check?.update(buffer);
      let offset = 0;
      while (offset < buffer.length) offset += (await handle.write(buffer, offset, buffer.length - offset)).bytesWritten;
      size += buffer.length;
      options.onProgress?.(size, Number.isFinite(total) ? total : undefined);
    }
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    if (options.signal?.aborted === true) throw error;
    throw new CopyError('ADD_DOWNLOAD', `${instruction} failed: GET ${url}: ${(error as Error).message}`, { path: url, cause: error });
  }
  const hex = sha256.digest('hex');
  if (expected !== undefined) {
    const actual = check === undefined ? hex : check.digest('hex');
    if (actual !== expected.hex) {
      await rm(path, { force: true });
      throw new CopyError(
        'ADD_CHECKSUM',
        `${instruction} failed: checksum mismatch for ${url}: expected ${expected.algorithm}:${expected.hex}, got ${expected.algorithm}:${actual}`,
        { path: url },
      );
    }
  }
  return {
    kind: 'remote',
    url,
    name: remoteFileName(url, response.headers.get('content-disposition')),
    path,
    digest: `sha256:${hex}`,
    size,
    mtimeMs: Number.isFinite(lastModified) ? lastModified : undefined,
  };
}
