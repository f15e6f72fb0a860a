import { BLOCK_SIZE } from './entry.js';

/**
 * The ustar header block: field offsets, numeric and string field codecs, and the checksum. Numbers are octal
 * ASCII when they fit and GNU base-256 (first byte `0x80`) when a reader meets one that does not.
 */

/** Field offsets and lengths of a ustar header. */
export const Field = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

/** The largest value an octal field of `length` bytes holds (one byte is the terminator). */
export function maxOctal(length: number): number {
  return 8 ** (length - 1) - 1;
}

/** Writes `value` as zero-padded octal with a NUL terminator; false if it is not an integer that fits. */
export function writeOctal(block: Buffer, offset: number, length: number, value: number): boolean {
  if (!Number.isSafeInteger(value) || value < 0 || value > maxOctal(length)) return false;
  block.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'latin1');
  block[offset + length - 1] = 0;
  return true;
}

/** Writes a string field (UTF-8, NUL-padded by the caller's zeroed block); false if its bytes do not fit. */
export function writeString(block: Buffer, offset: number, length: number, value: string): boolean {
  if (Buffer.byteLength(value) > length) return false;
  block.write(value, offset, length, 'utf8');
  return true;
}

/** Whether a string is plain ASCII without NUL (what a ustar string field can hold losslessly). */
export function isPlainAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Reads a numeric field: octal ASCII (leading spaces or NULs allowed, ended by NUL or space) or GNU base-256.
 * Returns `undefined` for a field that is neither, so the caller can name the entry in its error.
 */
export function readNumber(block: Buffer, offset: number, length: number): number | undefined {
  const first = block[offset]!;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit of the first byte as the marker.
    const invert = first & 0x40 ? 0xff : 0;
    let value = 0;
    for (let i = 0; i < length; i++) {
      let byte = block[offset + i]! ^ invert;
      if (i === 0) byte &= 0x7f;
      value = value * 256 + byte;
      if (!Number.isSafeInteger(value)) return undefined;
    }
    return invert ? -(value + 1) : value;
  }
  let i = offset;
  const end = offset + length;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    value = value * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) {
    const c = block[i]!;
    if (c !== 0 && c !== 0x20) return undefined;
  }
  return digits === 0 ? 0 : value;
}

/** Reads a NUL-terminated string field as UTF-8. */
export function readString(block: Buffer, offset: number, length: number): string {
  let end = offset;
  const limit = offset + length;
  while (end < limit && block[end] !== 0) end++;
  return block.toString('utf8', offset, end);
}

/** The unsigned header checksum: the sum of the block's bytes, the checksum field counted as eight spaces. */
export function unsignedChecksum(block: Buffer, offset = 0): number {
  const [cOff, cLen] = Field.checksum;
  let sum = 0;
  const end = offset + BLOCK_SIZE;
  for (let i = offset; i < end; i++) sum += block[i]!;
  for (let i = offset + cOff; i < offset + cOff + cLen; i++) sum -= block[i]!;
  return sum + cLen * 0x20;
}

/** The unsigned header checksum (checksum field counted as spaces), and the historic signed variant. */
export function computeChecksums(block: Buffer, offset = 0): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  const [cOff, cLen] = Field.checksum;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const byte = i >= cOff && i < cOff + cLen ? 0x20 : block[offset + i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}

/**
 * Whether `stored` is the checksum of a header block, unsigned (as POSIX says) or signed (as some old tars wrote
 * it). The signed sum is only computed when the unsigned one does not match.
 */
export function checksumMatches(block: Buffer, stored: number, offset = 0): boolean {
  return unsignedChecksum(block, offset) === stored || computeChecksums(block, offset).signed === stored;
}

/** Writes the checksum field of a header block whose other fields are final (6 octal digits, NUL, space). */
export function writeChecksum(block: Buffer, offset: number): void {
  const unsigned = unsignedChecksum(block, offset);
  const [cOff] = Field.checksum;
  block.write(unsigned.toString(8).padStart(6, '0'), offset + cOff, 6, 'latin1');
  block[offset + cOff + 6] = 0;
  block[offset + cOff + 7] = 0x20;
}

/** Whether a block is all zeros (an end-of-archive marker). */
export function isZeroBlock(block: Buffer, offset = 0): boolean {
  for (let i = offset; i < offset + BLOCK_SIZE; i += 1) {
    if (block[i] !== 0) return false;
  }
  return true;
}
