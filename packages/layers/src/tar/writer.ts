import { read as fsRead, readSync } from 'node:fs';
import { promisify } from 'node:util';
import { LayerError } from '../errors.js';
import { BLOCK_SIZE, paddingFor, typeFlagOf, TypeFlag, type TarHeader } from './entry.js';
import { Field, isPlainAscii, maxOctal, writeChecksum, writeOctal, writeString } from './header.js';
import { encodePaxRecords, XATTR_PREFIX } from './pax.js';

const readAsync = promisify(fsRead);

/** Receives the archive in chunks; a returned promise is awaited before more is written (backpressure). */
export type TarChunkSink = (chunk: Buffer) => void | Promise<void>;

/** Options of {@link TarWriter}. */
export interface TarWriterOptions {
  /** Bytes gathered before a chunk is handed to the sink (default 1 MiB). Small files share one chunk. */
  batchSize?: number;
}

const DEFAULT_BATCH = 1 << 20;
/** Files up to this size are read with one synchronous read straight into the batch. */
const SYNC_READ_LIMIT = 256 * 1024;

/**
 * A streaming ustar writer that switches to pax records when a field does not fit: long or non-ASCII names and
 * link names, uid/gid above `0o7777777`, sizes of 8 GiB and more, fractional or out-of-range mtimes, long
 * owner names, and extended attributes (`SCHILY.xattr.*`, values written as raw bytes). Pax keys are sorted, so the
 * same headers always give the same bytes. Headers and small files are gathered into large chunks before they
 * reach the sink, which is what makes archiving many small files fast.
 */
export class TarWriter {
  private readonly sink: TarChunkSink;
  private readonly batchSize: number;
  private batch: Buffer;
  private used = 0;
  private finished = false;
  /** Bytes handed to the sink or waiting in the current batch. */
  bytesWritten = 0;
  /** Entries written so far. */
  entries = 0;

  constructor(sink: TarChunkSink, options: TarWriterOptions = {}) {
    this.sink = sink;
    this.batchSize = Math.max(BLOCK_SIZE * 4, options.batchSize ?? DEFAULT_BATCH);
    this.batch = Buffer.allocUnsafeSlow(this.batchSize);
  }

  /** Writes an entry whose data (for files) is given whole; `data` must be `header.size` bytes long. */
  async add(header: TarHeader, data?: Uint8Array): Promise<void> {
    const size = header.type === 'file' ? header.size : 0;
    const length = data?.length ?? 0;
    if (length !== size) {
      throw new LayerError(`data is ${length} bytes but the header declares ${size}`, { entry: header.path });
    }
    await this.writeHeader(header);
    if (data !== undefined && data.length > 0) await this.copyIn(data);
    await this.pad(size);
  }

  /** Writes a file entry whose data comes as a stream of exactly `header.size` bytes. */
  async addStream(header: TarHeader, data: AsyncIterable<Uint8Array>): Promise<void> {
    await this.writeHeader(header);
    let seen = 0;
    for await (const chunk of data) {
      seen += chunk.length;
      if (seen > header.size) break;
      await this.copyIn(chunk);
    }
    if (seen !== header.size) {
      throw new LayerError(`data is ${seen > header.size ? 'longer' : 'shorter'} than the ${header.size} bytes declared`, {
        entry: header.path,
      });
    }
    await this.pad(header.size);
  }

  /**
   * Writes a file entry whose data is read from an open file descriptor (from offset 0), straight into the
   * output batch. Fails if the file is shorter than `header.size` (it changed while being archived).
   */
  async addFileDescriptor(header: TarHeader, fd: number): Promise<void> {
    await this.writeHeader(header);
    let remaining = header.size;
    let position = 0;
    const sync = header.size <= SYNC_READ_LIMIT;
    while (remaining > 0) {
      if (this.used === this.batchSize) await this.flush();
      const want = Math.min(remaining, this.batchSize - this.used);
      const got = sync
        ? readSync(fd, this.batch, this.used, want, position)
        : (await readAsync(fd, this.batch, this.used, want, position)).bytesRead;
      if (got === 0) {
        throw new LayerError(`file shrank while it was being archived (${header.size} bytes expected, ${position} read)`, {
          entry: header.path,
        });
      }
      this.used += got;
      this.bytesWritten += got;
      remaining -= got;
      position += got;
    }
    await this.pad(header.size);
  }

  /** Writes the end-of-archive marker (two zero blocks) and hands the last chunk to the sink. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.zeros(BLOCK_SIZE * 2);
    await this.flush();
  }

  /** Hands what is gathered so far to the sink (without ending the archive). */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const chunk = this.batch.subarray(0, this.used);
    this.batch = Buffer.allocUnsafeSlow(this.batchSize);
    this.used = 0;
    await this.sink(chunk);
  }

  private async copyIn(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      if (this.used === this.batchSize) await this.flush();
      const n = Math.min(data.length - offset, this.batchSize - this.used);
      this.batch.set(data.subarray(offset, offset + n), this.used);
      this.used += n;
      offset += n;
      this.bytesWritten += n;
    }
  }

  private async zeros(count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      if (this.used === this.batchSize) await this.flush();
      const n = Math.min(left, this.batchSize - this.used);
      this.batch.fill(0, this.used, this.used + n);
      this.used += n;
      left -= n;
      this.bytesWritten += n;
    }
  }

  private async pad(size: number): Promise<void> {
    const padding = paddingFor(size);
    if (padding > 0) await this.zeros(padding);
  }

  /** Reserves one zeroed header block in the batch and returns its offset. */
  private async block(): Promise<number> {
    if (this.batchSize - this.used < BLOCK_SIZE) await this.flush();
    const offset = this.used;
    this.batch.fill(0, offset, offset + BLOCK_SIZE);
    this.used += BLOCK_SIZE;
    this.bytesWritten += BLOCK_SIZE;
    return offset;
  }

  private async writeHeader(header: TarHeader): Promise<void> {
    if (this.finished) throw new LayerError('the archive is already finished', { entry: header.path });
    const encoded = encodeHeader(header);
    if (encoded.pax !== undefined) {
      const offset = await this.block();
      encoded.paxHeader!.copy(this.batch, offset);
      await this.copyIn(encoded.pax);
      await this.pad(encoded.pax.length);
    }
    const offset = await this.block();
    encoded.header.copy(this.batch, offset);
    this.entries++;
  }
}

/** A header block, and the pax header block plus records to put before it when some field does not fit. */
interface EncodedHeader {
  header: Buffer;
  paxHeader?: Buffer;
  pax?: Buffer;
}

/** Splits a plain ASCII path into ustar prefix and name, or returns undefined if it cannot be. */
function splitUstarPath(path: string): [string, string] | undefined {
  if (!isPlainAscii(path)) return undefined;
  if (path.length <= 100) return ['', path];
  if (path.length > 256) return undefined;
  // The prefix is at most 155 bytes and the name at most 100; split at a slash.
  for (let i = Math.min(155, path.length - 1); i > 0; i--) {
    if (path.charCodeAt(i) === 0x2f && path.length - i - 1 <= 100 && path.length - i - 1 > 0) {
      return [path.slice(0, i), path.slice(i + 1)];
    }
  }
  return undefined;
}

function asciiFallback(value: string, length: number): string {
  let out = '';
  for (const ch of value) {
    const c = ch.charCodeAt(0);
    out += c > 0 && c <= 0x7e && ch.length === 1 ? ch : '_';
    if (out.length >= length) break;
  }
  return out.slice(0, length);
}

function formatPaxTime(seconds: number): string {
  if (Number.isInteger(seconds)) return String(seconds);
  return seconds.toFixed(9).replace(/0+$/, '').replace(/\.$/, '');
}

function checkId(header: TarHeader, what: 'uid' | 'gid'): void {
  const value = header[what];
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LayerError(`${what} ${value} is not a non-negative integer`, { entry: header.path });
  }
}

/** Encodes a header (and its pax header, when needed) into blocks. */
export function encodeHeader(header: TarHeader): EncodedHeader {
  const block = Buffer.alloc(BLOCK_SIZE);
  const records: Array<[string, Buffer | string]> = [];
  const path = header.path;
  if (path.length === 0) throw new LayerError('entry with an empty name');

  const split = splitUstarPath(path);
  if (split !== undefined) {
    writeString(block, Field.prefix[0], Field.prefix[1], split[0]);
    writeString(block, Field.name[0], Field.name[1], split[1]);
  } else {
    records.push(['path', path]);
    writeString(block, Field.name[0], Field.name[1], asciiFallback(path, 100));
  }

  writeOctal(block, Field.mode[0], Field.mode[1], header.mode & 0o7777);
  checkId(header, 'uid');
  checkId(header, 'gid');
  for (const what of ['uid', 'gid'] as const) {
    if (!writeOctal(block, Field[what][0], Field[what][1], header[what])) {
      records.push([what, String(header[what])]);
      writeOctal(block, Field[what][0], Field[what][1], 0);
    }
  }

  const size = header.type === 'file' ? header.size : 0;
  if (!Number.isSafeInteger(size) || size < 0) throw new LayerError(`invalid size ${size}`, { entry: path });
  if (!writeOctal(block, Field.size[0], Field.size[1], size)) {
    records.push(['size', String(size)]);
    writeOctal(block, Field.size[0], Field.size[1], 0);
  }

  const mtime = header.mtime;
  if (!Number.isFinite(mtime)) throw new LayerError(`invalid mtime ${mtime}`, { entry: path });
  if (!writeOctal(block, Field.mtime[0], Field.mtime[1], mtime)) {
    records.push(['mtime', formatPaxTime(mtime)]);
    const clamped = Math.min(Math.max(Math.floor(mtime), 0), maxOctal(Field.mtime[1]));
    writeOctal(block, Field.mtime[0], Field.mtime[1], clamped);
  }

  block[Field.typeflag[0]] = typeFlagOf(header.type);

  if (header.type === 'symlink' || header.type === 'hardlink') {
    const linkname = header.linkname ?? '';
    if (linkname.length === 0) throw new LayerError(`${header.type} without a target`, { entry: path });
    if (isPlainAscii(linkname) && linkname.length <= Field.linkname[1]) {
      writeString(block, Field.linkname[0], Field.linkname[1], linkname);
    } else {
      records.push(['linkpath', linkname]);
      writeString(block, Field.linkname[0], Field.linkname[1], asciiFallback(linkname, 100));
    }
  }

  block.write('ustar\x0000', Field.magic[0], 8, 'latin1');
  for (const what of ['uname', 'gname'] as const) {
    const name = header[what] ?? '';
    if (name.length === 0) continue;
    if (isPlainAscii(name) && name.length <= Field[what][1]) writeString(block, Field[what][0], Field[what][1], name);
    else records.push([what, name]);
  }

  if (header.type === 'char' || header.type === 'block') {
    for (const what of ['devmajor', 'devminor'] as const) {
      const value = header[what] ?? 0;
      if (!writeOctal(block, Field[what][0], Field[what][1], value)) {
        throw new LayerError(`${what} ${value} does not fit a tar header`, { entry: path });
      }
    }
  } else {
    writeOctal(block, Field.devmajor[0], Field.devmajor[1], 0);
    writeOctal(block, Field.devminor[0], Field.devminor[1], 0);
  }

  if (header.xattrs !== undefined) {
    for (const [name, value] of header.xattrs) {
      if (name.length === 0 || name.includes('=') || name.includes('\0')) {
        throw new LayerError(`extended attribute name ${JSON.stringify(name)} cannot be stored in a tar header`, { entry: path });
      }
      records.push([`${XATTR_PREFIX}${name}`, value]);
    }
  }
  writeChecksum(block, 0);
  if (records.length === 0) return { header: block };

  records.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const pax = encodePaxRecords(records);
  const paxHeader = Buffer.alloc(BLOCK_SIZE);
  const base = path.replace(/\/+$/, '').split('/').pop() ?? 'entry';
  writeString(paxHeader, Field.name[0], Field.name[1], asciiFallback(`PaxHeaders/${base}`, 100));
  writeOctal(paxHeader, Field.mode[0], Field.mode[1], 0o644);
  writeOctal(paxHeader, Field.uid[0], Field.uid[1], 0);
  writeOctal(paxHeader, Field.gid[0], Field.gid[1], 0);
  writeOctal(paxHeader, Field.size[0], Field.size[1], pax.length);
  block.copy(paxHeader, Field.mtime[0], Field.mtime[0], Field.mtime[0] + Field.mtime[1]);
  paxHeader[Field.typeflag[0]] = TypeFlag.paxLocal;
  paxHeader.write('ustar\x0000', Field.magic[0], 8, 'latin1');
  writeOctal(paxHeader, Field.devmajor[0], Field.devmajor[1], 0);
  writeOctal(paxHeader, Field.devminor[0], Field.devminor[1], 0);
  writeChecksum(paxHeader, 0);
  return { header: block, paxHeader, pax };
}
