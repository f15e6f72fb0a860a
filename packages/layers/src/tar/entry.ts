/** The kinds of tar entries a layer may hold. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

/**
 * One tar entry's metadata, as the reader decodes it and the writer encodes it. Pax records the reader applied are
 * already folded in (`path`, `linkname`, `size`, `uid`, `gid`, `mtime`, `uname`, `gname`, `SCHILY.xattr.*`).
 */
export interface TarHeader {
  /** The entry name as stored (directories usually end with `/`); see `cleanLayerPath` to make it safe. */
  path: string;
  /** What the entry is. */
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (`0o7777` at most). */
  mode: number;
  /** Numeric owner. */
  uid: number;
  /** Numeric group. */
  gid: number;
  /** Bytes of data that follow the header (0 for everything but files). */
  size: number;
  /** Modification time in seconds since the epoch; may be fractional or negative. */
  mtime: number;
  /** Target of a symlink, or the path of the entry a hardlink points to. */
  linkname?: string;
  /** Device numbers of char and block devices. */
  devmajor?: number;
  /** Device numbers of char and block devices. */
  devminor?: number;
  /** Owner name; layers written by tsbuild leave it empty. */
  uname?: string;
  /** Group name; layers written by tsbuild leave it empty. */
  gname?: string;
  /** Extended attributes (`SCHILY.xattr.<name>` pax records); values are raw bytes. */
  xattrs?: Map<string, Buffer>;
}

/** Tar typeflags. */
export const TypeFlag = {
  file: 0x30, // '0'
  oldFile: 0x00, // '\0'
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  directory: 0x35,
  fifo: 0x36,
  contiguous: 0x37,
  paxLocal: 0x78, // 'x'
  paxGlobal: 0x67, // 'g'
  gnuLongName: 0x4c, // 'L'
  gnuLongLink: 0x4b, // 'K'
} as const;

/** Tar block size: headers and data are padded to it. */
export const BLOCK_SIZE = 512;

/** The typeflag byte for an entry type. */
export function typeFlagOf(type: TarEntryType): number {
  switch (type) {
    case 'file':
      return TypeFlag.file;
    case 'hardlink':
      return TypeFlag.hardlink;
    case 'symlink':
      return TypeFlag.symlink;
    case 'char':
      return TypeFlag.char;
    case 'block':
      return TypeFlag.block;
    case 'directory':
      return TypeFlag.directory;
    case 'fifo':
      return TypeFlag.fifo;
  }
}

/** Bytes of padding after `size` bytes of data. */
export function paddingFor(size: number): number {
  const rest = size % BLOCK_SIZE;
  return rest === 0 ? 0 : BLOCK_SIZE - rest;
}
