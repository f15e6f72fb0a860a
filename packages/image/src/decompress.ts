import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Compression } from '@tsbuild/oci';

/**
 * Sniffs a layer stream's compression by its magic bytes and returns a stream of the uncompressed tar.
 * @internal until `@tsbuild/layers` provides the shared codec.
 */
export async function openUncompressed(source: Readable): Promise<{ compression: Compression; stream: Readable }> {
  const head = await peek(source, 4);
  const passthrough = new PassThrough({ highWaterMark: 1 << 20 });
  if (head.length > 0) passthrough.write(head);
  source.on('error', (err) => passthrough.destroy(err));
  source.pipe(passthrough);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 1 << 18 });
    passthrough.on('error', (err) => gunzip.destroy(err));
    return { compression: 'gzip', stream: passthrough.pipe(gunzip) };
  }
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    const { DecompressStream } = await import('zstd-napi');
    const zstd = new DecompressStream();
    passthrough.on('error', (err) => zstd.destroy(err));
    return { compression: 'zstd', stream: passthrough.pipe(zstd) };
  }
  return { compression: 'none', stream: passthrough };
}

async function peek(source: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const chunk = source.read() as Buffer | null;
    if (chunk === null) {
      if (source.readableEnded) break;
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          source.off('readable', done);
          source.off('end', done);
          source.off('error', fail);
          resolve();
        };
        const fail = (err: Error): void => {
          source.off('readable', done);
          source.off('end', done);
          reject(err);
        };
        source.once('readable', done);
        source.once('end', done);
        source.once('error', fail);
      });
      continue;
    }
    chunks.push(chunk);
    length += chunk.length;
  }
  const all = Buffer.concat(chunks);
  if (all.length > bytes) source.unshift(all.subarray(bytes));
  return Buffer.from(all.subarray(0, bytes));
}
