/**
 * Pax extended header records (`<length> <key>=<value>\n`). Values are bytes: a pax value may be binary (an xattr
 * such as `security.capability`), so it is never decoded as text unless the key is one of the textual ones.
 */

/** Prefix of pax records that carry extended attributes. */
export const XATTR_PREFIX = 'SCHILY.xattr.';

/** Encodes pax records in the order given (callers sort keys for deterministic output). */
export function encodePaxRecords(records: ReadonlyArray<readonly [string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, raw] of records) {
    const value = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    const keyBytes = Buffer.byteLength(key);
    const base = 1 + keyBytes + 1 + value.length + 1;
    const digits = String(base).length;
    let length = base + digits;
    if (String(length).length > digits) length += 1;
    parts.push(Buffer.from(`${length} ${key}=`, 'utf8'), value, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Why a pax header could not be decoded; the caller names the entry. */
export class PaxFormatError extends Error {}

/** Decodes pax records into a map of key → raw value bytes. Later records override earlier ones. */
export function decodePaxRecords(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // NUL padding after the last record
    let space = pos;
    let length = 0;
    while (space < data.length && data[space] !== 0x20) {
      const c = data[space]!;
      if (c < 0x30 || c > 0x39 || space - pos > 12) throw new PaxFormatError('malformed pax record length');
      length = length * 10 + (c - 0x30);
      space++;
    }
    if (space === pos || space >= data.length) throw new PaxFormatError('malformed pax record length');
    const end = pos + length;
    if (length <= space - pos + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw new PaxFormatError('pax record length does not match its content');
    }
    const equals = data.indexOf(0x3d, space + 1);
    if (equals === -1 || equals >= end - 1 || equals === space + 1) throw new PaxFormatError('pax record without key=value');
    const key = data.toString('utf8', space + 1, equals);
    records.set(key, data.subarray(equals + 1, end - 1));
    pos = end;
  }
  return records;
}
