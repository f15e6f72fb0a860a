import type { Compression } from '@tsbuild/oci';

/** Compressions a layer blob may be found in, including ones OCI layers do not use (named for a clear error). */
export type SniffedFormat = Compression | 'bzip2' | 'xz';

/** Bytes {@link sniffFormat} needs to recognise every format it knows. */
export const SNIFF_BYTES = 6;

/** What the first bytes of a blob say it is: gzip, zstd (frame or skippable frame), bzip2, xz, or `none`. */
export function sniffFormat(first: Uint8Array): SniffedFormat {
  if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) return 'gzip';
  if (first.length >= 4 && first[0] === 0x28 && first[1] === 0xb5 && first[2] === 0x2f && first[3] === 0xfd) return 'zstd';
  if (first.length >= 4 && (first[0]! & 0xf0) === 0x50 && first[1] === 0x2a && first[2] === 0x4d && first[3] === 0x18) return 'zstd';
  if (first.length >= 3 && first[0] === 0x42 && first[1] === 0x5a && first[2] === 0x68) return 'bzip2';
  if (first.length >= 6 && first[0] === 0xfd && first[1] === 0x37 && first[2] === 0x7a && first[3] === 0x58 && first[4] === 0x5a && first[5] === 0x00) {
    return 'xz';
  }
  return 'none';
}

/** The layer compression the first bytes of a blob show (magic numbers); `none` for anything else. */
export function detectCompression(first: Uint8Array): Compression {
  const format = sniffFormat(first);
  return format === 'bzip2' || format === 'xz' ? 'none' : format;
}
