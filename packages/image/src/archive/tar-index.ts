import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { ArchiveError } from '../errors.js';
import { BLOCK, checksumValid, decodeHeader, isZeroBlock, parsePax } from './tar-header.js';

/** Where one entry's data lies in an archive file. */
export interface TarEntryLocation {
  /** Normalised path inside the archive (no leading `./`). */
  readonly name: string;
  /** Offset of the data in the file. */
  readonly offset: number;
  readonly size: number;
  /** `file`, `directory`, `symlink`, `hardlink` or `other`. */
  readonly kind: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  readonly linkname: string;
}

/** Bounds that keep a hostile archive from making us do unbounded work. */
const MAX_ENTRIES = 1_000_000;
const MAX_META_BYTES = 1 << 20;

/**
 * Normalises a path inside an archive: strips `./` and duplicate slashes. Returns undefined for a path that
 * would leave the archive (absolute or climbing above it with `..`).
 */
export function normalizeArchivePath(path: string): string | undefined {
  if (path.startsWith('/')) return undefined;
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) return undefined;
  return normal === '.' ? '' : normal;
}

/**
 * Reads the headers of a tar file (skipping over the data, so it costs one read per entry, not per byte) and
 * returns where each entry is. Checks header checksums, that every entry's data is inside the file, and bounds
 * entry count and metadata sizes.
 * @param label how to name the archive in errors (its path, or `-` for standard input).
 */
export async function indexTar(path: string, label: string): Promise<Map<string, TarEntryLocation>> {
  const handle = await open(path, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    const entries = new Map<string, TarEntryLocation>();
    const block = Buffer.alloc(BLOCK);
    let position = 0;
    let pendingName: string | undefined;
    let pendingLink: string | undefined;
    let pendingSize: number | undefined;
    let sawEnd = false;
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, BLOCK, position);
      if (bytesRead === 0 && entries.size > 0 && position === fileSize) break; // no end marker: tolerated at EOF
      if (bytesRead < BLOCK) throw new ArchiveError(label, `truncated archive: unexpected end of file at byte ${position}`);
      if (isZeroBlock(block)) {
        sawEnd = true;
        break;
      }
      if (!checksumValid(block)) throw new ArchiveError(label, `not a tar archive or corrupt: bad header checksum at byte ${position}`);
      const header = decodeHeader(block);
      const size = pendingSize ?? header.size;
      const dataOffset = position + BLOCK;
      if (dataOffset + size > fileSize) {
        throw new ArchiveError(label, `truncated archive: entry needs ${size} bytes but the file ends first`, header.name);
      }
      position = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
      if (header.type === 'x' || header.type === 'g' || header.type === 'L' || header.type === 'K') {
        if (size > MAX_META_BYTES) throw new ArchiveError(label, `metadata header of ${size} bytes is too large`, header.name);
        const data = Buffer.alloc(size);
        await readFully(handle, data, dataOffset);
        if (header.type === 'x') {
          const pax = parsePax(data);
          if (pax.has('path')) pendingName = pax.get('path');
          if (pax.has('linkpath')) pendingLink = pax.get('linkpath');
          if (pax.has('size')) pendingSize = Number(pax.get('size'));
        } else if (header.type === 'L') {
          pendingName = data.toString('utf8').replace(/\0+$/, '');
        } else if (header.type === 'K') {
          pendingLink = data.toString('utf8').replace(/\0+$/, '');
        }
        continue;
      }
      const rawName = pendingName ?? header.name;
      const linkname = pendingLink ?? header.linkname;
      pendingName = pendingLink = pendingSize = undefined;
      const name = normalizeArchivePath(rawName);
      if (name === undefined) throw new ArchiveError(label, 'entry path leaves the archive', rawName);
      if (entries.size >= MAX_ENTRIES) throw new ArchiveError(label, `more than ${MAX_ENTRIES} entries`);
      const kind =
        header.type === '0' || header.type === '7' ? 'file' : header.type === '5' ? 'directory' : header.type === '2' ? 'symlink' : header.type === '1' ? 'hardlink' : 'other';
      entries.set(name, { name, offset: dataOffset, size: kind === 'file' ? size : 0, kind, linkname });
    }
    if (!sawEnd && entries.size === 0) throw new ArchiveError(label, 'empty archive');
    return entries;
  } finally {
    await handle.close();
  }
}

async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw new Error('unexpected end of file');
    done += bytesRead;
  }
}
