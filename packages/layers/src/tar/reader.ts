import { LayerError } from '../errors.js';
import { ByteReader } from './byte-reader.js';
import { BLOCK_SIZE, paddingFor, TypeFlag, type TarEntryType, type TarHeader } from './entry.js';
import { checksumMatches, Field, isZeroBlock, readNumber, readString } from './header.js';
import { decodePaxRecords, PaxFormatError, XATTR_PREFIX } from './pax.js';

/** Bounds on what a hostile archive can make the reader do. */
export interface TarReaderLimits {
  /** Most entries an archive may hold (default 1,000,000). */
  maxEntries?: number;
  /** Largest pax header or GNU long-name entry, in bytes (default 1 MiB). */
  maxHeaderBytes?: number;
  /** Longest entry path or link target, in bytes (default 32 KiB). */
  maxPathBytes?: number;
}

/** Default {@link TarReaderLimits}. */
export const DEFAULT_TAR_LIMITS: Required<TarReaderLimits> = {
  maxEntries: 1_000_000,
  maxHeaderBytes: 1 << 20,
  maxPathBytes: 32 * 1024,
};

/**
 * An entry met while reading an archive: its header and its data. `body` yields the data of a file entry (and
 * nothing for other types); it can be iterated once, and only before the next entry is asked for. Data not read
 * is skipped when the iteration moves on.
 */
export interface TarEntry extends TarHeader {
  /** The data of a file entry, in chunks that are only valid until the next chunk is asked for. */
  readonly body: AsyncIterable<Buffer>;
  /**
   * The whole data of a file entry when it is already in memory, without waiting: a zero-copy view valid until
   * the next entry is asked for. Taking it counts as reading `body`. Undefined when the data is not all buffered
   * yet or was already read (then iterate `body`); an empty buffer for entries without data.
   */
  takeBuffered(): Buffer | undefined;
  /** Byte offset of the entry's first header block in the uncompressed archive. */
  readonly offset: number;
}

const HEADER_ONLY: Readonly<Record<number, TarEntryType>> = {
  [TypeFlag.hardlink]: 'hardlink',
  [TypeFlag.symlink]: 'symlink',
  [TypeFlag.char]: 'char',
  [TypeFlag.block]: 'block',
  [TypeFlag.directory]: 'directory',
  [TypeFlag.fifo]: 'fifo',
};

const UNSUPPORTED_NAMES: Readonly<Record<string, string>> = {
  S: 'GNU sparse file',
  D: 'GNU dump directory',
  M: 'GNU multi-volume continuation',
  V: 'GNU volume header',
  N: 'GNU old long name',
};

function describeTypeflag(flag: number): string {
  const ch = String.fromCharCode(flag);
  const name = UNSUPPORTED_NAMES[ch];
  const printable = flag >= 0x20 && flag < 0x7f ? `'${ch}'` : `0x${flag.toString(16)}`;
  return name !== undefined ? `${printable} (${name})` : printable;
}

function parseDecimal(value: Buffer, key: string, entry: string, fractional = false): number {
  const text = value.toString('latin1');
  const re = fractional ? /^-?\d{1,20}(\.\d{0,18})?$/ : /^\d{1,16}$/;
  const number = Number(text);
  if (!re.test(text) || !Number.isFinite(number) || (!fractional && !Number.isSafeInteger(number))) {
    throw new LayerError(`invalid pax ${key} value ${JSON.stringify(text.slice(0, 40))}`, { entry });
  }
  return number;
}

/**
 * Reads a tar archive (ustar, pax with global headers, GNU long names and links, base-256 numbers) from a stream
 * of uncompressed bytes and yields its entries in order. Every header checksum is verified; pax headers, long
 * names and the number of entries are bounded (see {@link TarReaderLimits}); an archive that ends inside an entry
 * fails with a {@link LayerError} naming it. After the end-of-archive marker the source is read to its end (so a
 * digest computed over it covers every byte), then the iteration ends. Sparse files and other rare GNU types are
 * rejected.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, limits: TarReaderLimits = {}): AsyncGenerator<TarEntry> {
  const { maxEntries, maxHeaderBytes, maxPathBytes } = { ...DEFAULT_TAR_LIMITS, ...limits };
  const reader = new ByteReader(source);
  const globals = new Map<string, Buffer>();
  let local: Map<string, Buffer> | undefined;
  let localBytes = 0;
  let globalBytes = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let count = 0;
  let previous = '';
  const where = (offset: number): string =>
    previous === '' ? `at byte ${offset} (first entry)` : `at byte ${offset} (after entry ${previous})`;

  try {
    for (;;) {
      const offset = reader.position;
      const block = reader.buffered >= BLOCK_SIZE ? reader.takeNow(BLOCK_SIZE) : await reader.read(BLOCK_SIZE);
      if (block.length === 0) {
        if (local !== undefined || longName !== undefined || longLink !== undefined) {
          throw new LayerError(`the archive ends after an extended header ${where(offset)}`);
        }
        return;
      }
      if (block.length < BLOCK_SIZE) throw new LayerError(`the archive ends inside a header ${where(offset)}`);
      if (isZeroBlock(block)) {
        await reader.drain();
        return;
      }
      const stored = readNumber(block, Field.checksum[0], Field.checksum[1]);
      if (stored === undefined || !checksumMatches(block, stored)) {
        throw new LayerError(`bad tar header checksum ${where(offset)}: the archive is corrupt or not a tar archive`);
      }
      const flag = block[Field.typeflag[0]]!;
      const fieldName = (): string => readString(block, Field.name[0], Field.name[1]);
      const declaredSize = readNumber(block, Field.size[0], Field.size[1]);
      if (declaredSize === undefined || declaredSize < 0) {
        throw new LayerError(`invalid size field ${where(offset)}`, { entry: fieldName() });
      }

      if (flag === TypeFlag.paxLocal || flag === TypeFlag.paxGlobal || flag === TypeFlag.gnuLongName || flag === TypeFlag.gnuLongLink) {
        const isPax = flag === TypeFlag.paxLocal || flag === TypeFlag.paxGlobal;
        const limit = isPax ? maxHeaderBytes : maxPathBytes;
        if (declaredSize > limit) {
          throw new LayerError(
            `${isPax ? 'pax header' : 'GNU long name'} of ${declaredSize} bytes ${where(offset)} is over the limit of ${limit}`,
          );
        }
        const data = await reader.read(declaredSize);
        if (data.length < declaredSize) throw new LayerError(`the archive ends inside an extended header ${where(offset)}`);
        await reader.skip(paddingFor(declaredSize));
        if (isPax) {
          let records: Map<string, Buffer>;
          try {
            records = decodePaxRecords(data);
          } catch (error) {
            if (error instanceof PaxFormatError) throw new LayerError(`${error.message} ${where(offset)}`);
            throw error;
          }
          if (flag === TypeFlag.paxGlobal) {
            for (const [key, value] of records) {
              globalBytes -= (globals.get(key)?.length ?? 0) + (globals.has(key) ? key.length : 0);
              if (value.length === 0) globals.delete(key);
              else {
                globals.set(key, Buffer.from(value));
                globalBytes += key.length + value.length;
              }
            }
            if (globalBytes > maxHeaderBytes) {
              throw new LayerError(`global pax headers ${where(offset)} add up to more than the limit of ${maxHeaderBytes} bytes`);
            }
          } else {
            // Several pax headers may precede one entry; together they stay within the limit.
            localBytes += declaredSize;
            if (localBytes > maxHeaderBytes) {
              throw new LayerError(`pax headers ${where(offset)} add up to more than the limit of ${maxHeaderBytes} bytes`);
            }
            local ??= new Map();
            for (const [key, value] of records) local.set(key, value);
          }
        } else {
          const end = data.indexOf(0);
          const text = data.toString('utf8', 0, end === -1 ? data.length : end);
          if (flag === TypeFlag.gnuLongName) longName = text;
          else longLink = text;
        }
        continue;
      }

      count++;
      if (count > maxEntries) {
        throw new LayerError(`the archive has more than ${maxEntries} entries (tar bomb?) ${where(offset)}`);
      }

      // The global records as they are when no local ones override them (nothing changes them while this entry is
      // decoded), else a merged copy.
      let records: ReadonlyMap<string, Buffer> = globals;
      if (local !== undefined) {
        const merged = new Map<string, Buffer>(globals);
        for (const [key, value] of local) merged.set(key, value);
        records = merged;
      }
      local = undefined;
      localBytes = 0;

      const magic = block.toString('latin1', Field.magic[0], Field.magic[0] + 6);
      const prefix = magic === 'ustar\0' ? readString(block, Field.prefix[0], Field.prefix[1]) : '';
      let path = fieldName();
      if (prefix.length > 0) path = `${prefix}/${path}`;
      const paxPath = records.get('path');
      if (paxPath !== undefined && paxPath.length > 0) path = paxPath.toString('utf8');
      else if (longName !== undefined) path = longName;
      longName = undefined;

      let linkname = readString(block, Field.linkname[0], Field.linkname[1]);
      const paxLink = records.get('linkpath');
      if (paxLink !== undefined && paxLink.length > 0) linkname = paxLink.toString('utf8');
      else if (longLink !== undefined) linkname = longLink;
      longLink = undefined;

      // (a UTF-16 unit is at most 3 UTF-8 bytes: short names need no count)
      const overLimit = (text: string): boolean => text.length * 3 > maxPathBytes && Buffer.byteLength(text) > maxPathBytes;
      if (overLimit(path) || overLimit(linkname)) {
        throw new LayerError(`entry name or link target over the limit of ${maxPathBytes} bytes ${where(offset)}`);
      }
      if (path.length === 0) path = '.'; // as GNU tar and docker do: an empty name is the archive's root
      if (path.includes('\0') || linkname.includes('\0')) {
        throw new LayerError(`entry name or link target contains a NUL byte ${where(offset)}`, { entry: path });
      }

      let type: TarEntryType;
      if (flag === TypeFlag.file || flag === TypeFlag.contiguous) type = 'file';
      else if (flag === TypeFlag.oldFile) type = path.endsWith('/') ? 'directory' : 'file';
      else {
        const headerOnly = HEADER_ONLY[flag];
        if (headerOnly === undefined) {
          throw new LayerError(`unsupported tar entry type ${describeTypeflag(flag)}`, { entry: path });
        }
        type = headerOnly;
      }
      for (const key of records.keys()) {
        if (key.startsWith('GNU.sparse.')) throw new LayerError('sparse files are not supported in layers', { entry: path });
      }

      const number = (field: keyof typeof Field): number => {
        const value = readNumber(block, Field[field][0], Field[field][1]);
        if (value === undefined) throw new LayerError(`invalid ${field} field ${where(offset)}`, { entry: path });
        return value;
      };
      const paxNumber = (key: string, fallback: () => number, fractional = false): number => {
        const value = records.get(key);
        return value !== undefined && value.length > 0 ? parseDecimal(value, key, path, fractional) : fallback();
      };
      const size = paxNumber('size', () => declaredSize);
      const header: TarHeader & { body: AsyncIterable<Buffer>; offset: number; takeBuffered: () => Buffer | undefined } = {
        path,
        type,
        mode: number('mode') & 0o7777,
        uid: paxNumber('uid', () => number('uid')),
        gid: paxNumber('gid', () => number('gid')),
        size: type === 'file' ? size : 0,
        mtime: paxNumber('mtime', () => number('mtime'), true),
        offset,
        body: EMPTY_BODY,
        takeBuffered: takeNothing,
      };
      if (type === 'symlink' || type === 'hardlink') header.linkname = linkname;
      if (type === 'char' || type === 'block') {
        header.devmajor = number('devmajor');
        header.devminor = number('devminor');
      }
      const uname = records.get('uname')?.toString('utf8') ?? readString(block, Field.uname[0], Field.uname[1]);
      const gname = records.get('gname')?.toString('utf8') ?? readString(block, Field.gname[0], Field.gname[1]);
      if (uname.length > 0) header.uname = uname;
      if (gname.length > 0) header.gname = gname;
      for (const [key, value] of records) {
        if (key.startsWith(XATTR_PREFIX) && key.length > XATTR_PREFIX.length) {
          header.xattrs ??= new Map();
          header.xattrs.set(key.slice(XATTR_PREFIX.length), value);
        }
      }

      // Header-only types carry no data whatever their size field says (as GNU tar and Go read them).
      const dataSize = type === 'file' ? size : 0;
      const state = { remaining: dataSize, started: false, stale: false };
      if (dataSize > 0) {
        header.body = entryBody(reader, state, path, dataSize);
        header.takeBuffered = () => takeBufferedBody(reader, state);
      }
      previous = path;
      yield header;
      state.stale = true;
      const left = state.remaining;
      if (left > 0) {
        if (reader.buffered >= left) reader.skipNow(left);
        else {
          const skipped = await reader.skip(left);
          if (skipped < left) throw truncated(path, dataSize, dataSize - left + skipped);
        }
      }
      const padding = paddingFor(dataSize);
      if (padding > 0) {
        if (reader.buffered >= padding) reader.skipNow(padding);
        else if ((await reader.skip(padding)) < padding) {
          throw new LayerError("the archive ends inside this entry's padding", { entry: path });
        }
      }
    }
  } finally {
    await reader.close();
  }
}

const EMPTY_BODY: AsyncIterable<Buffer> = {
  async *[Symbol.asyncIterator]() {
    /* no data */
  },
};

const NO_DATA = Buffer.alloc(0);

function takeNothing(): Buffer {
  return NO_DATA;
}

interface BodyState {
  remaining: number;
  started: boolean;
  stale: boolean;
}

function takeBufferedBody(reader: ByteReader, state: BodyState): Buffer | undefined {
  if (state.started || state.stale || reader.buffered < state.remaining) return undefined;
  state.started = true;
  const data = reader.takeNow(state.remaining);
  state.remaining = 0;
  return data;
}

function truncated(path: string, declared: number, present: number): LayerError {
  return new LayerError(`the archive ends inside this entry: ${declared} bytes declared, ${present} present`, { entry: path });
}

function entryBody(
  reader: ByteReader,
  state: BodyState,
  path: string,
  size: number,
): AsyncIterable<Buffer> {
  return {
    async *[Symbol.asyncIterator]() {
      if (state.started || state.stale) throw new LayerError('entry data read twice or after the next entry', { entry: path });
      state.started = true;
      while (state.remaining > 0) {
        const chunk = await reader.slice(state.remaining);
        if (chunk.length === 0) throw truncated(path, size, size - state.remaining);
        state.remaining -= chunk.length;
        yield chunk;
      }
    },
  };
}

/** Reads a file entry's whole body into memory; fails if it is larger than `maxBytes`. For small entries only. */
export async function readEntryBody(entry: TarEntry, maxBytes = 16 << 20): Promise<Buffer> {
  if (entry.size > maxBytes) throw new LayerError(`entry of ${entry.size} bytes is larger than ${maxBytes}`, { entry: entry.path });
  const parts: Buffer[] = [];
  for await (const chunk of entry.body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}
