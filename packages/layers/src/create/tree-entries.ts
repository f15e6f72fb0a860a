import { closeSync, constants, openSync, readlinkSync, type Stats } from 'node:fs';
import { LayerError, type WarningHandler } from '../errors.js';
import type { TarHeader } from '../tar/entry.js';
import type { TarWriter } from '../tar/writer.js';
import { getXattr, isOverlayXattr, listXattrs } from '../xattrs.js';
import { walkTree, type TreeNode } from './tree-walk.js';

/** Whiteout prefix of the OCI layer format (`.wh.<name>` deletes `<name>` of lower layers). */
export const WHITEOUT_PREFIX = '.wh.';
/** The opaque-directory marker: hides everything lower layers have in its directory. */
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** Options of {@link writeTreeEntries}. */
export interface TreeEntriesOptions {
  /**
   * Read the tree as an overlayfs upper directory: char 0/0 devices (and files marked `overlay.whiteout`) become
   * `.wh.<name>` entries, directories with `overlay.opaque=y` get a `.wh..wh..opq` entry.
   */
  overlay?: boolean;
  /** Relative paths (e.g. mount points made for a RUN) left out together with everything below them. */
  exclude?: readonly string[];
  /** Clamp every mtime to at most this (seconds since the epoch, `SOURCE_DATE_EPOCH`). */
  sourceDateEpoch?: number;
  /** Stop early. */
  signal?: AbortSignal;
  /** Told about sockets, which layers cannot hold. */
  onWarning?: WarningHandler;
  /**
   * Rewrites or drops each header before it is written (return `null` to leave the node out; the walk still goes
   * into a dropped directory). For COPY: a destination prefix, `--chown`, `--chmod`, ignore rules. A hardlink's
   * `linkname` is already the rewritten path of the first link; if that one was dropped, the next is written as
   * the file. Whiteout entries of an upper directory are not passed through it.
   */
  map?: (header: TarHeader, node: TreeNode) => TarHeader | null;
}

/** Major number of a Linux `dev_t` (glibc's encoding). */
export function deviceMajor(rdev: number): number {
  return ((Math.floor(rdev / 256) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)) >>> 0;
}

/** Minor number of a Linux `dev_t` (glibc's encoding). */
export function deviceMinor(rdev: number): number {
  return ((rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff)) >>> 0;
}

function normaliseExclude(paths: readonly string[] | undefined): Set<string> | undefined {
  if (paths === undefined || paths.length === 0) return undefined;
  const set = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.includes('..')) throw new LayerError(`exclude path ${JSON.stringify(path)} must not contain ".."`);
    if (parts.length > 0) set.add(parts.join('/'));
  }
  return set;
}

interface OverlayMarks {
  opaque: boolean;
  whiteout: boolean;
}

/** Reads a node's xattrs; overlay attributes are kept out and interpreted (or rejected) instead. */
function readAttributes(node: TreeNode, overlay: boolean): { xattrs: Map<string, Buffer> | undefined; marks: OverlayMarks } {
  const marks: OverlayMarks = { opaque: false, whiteout: false };
  const names = listXattrs(node.abs);
  if (names.length === 0) return { xattrs: undefined, marks };
  let xattrs: Map<string, Buffer> | undefined;
  for (const name of names.sort()) {
    if (isOverlayXattr(name)) {
      if (!overlay) continue;
      const key = name.slice(name.indexOf('.overlay.') + '.overlay.'.length);
      if (key === 'opaque' && node.stat.isDirectory()) marks.opaque = getXattr(node.abs, name)?.toString('latin1') === 'y';
      else if (key === 'whiteout' && node.stat.isFile()) marks.whiteout = true;
      else if (key === 'redirect') {
        throw new LayerError(
          'overlayfs recorded a directory rename (redirect_dir); mount the overlay with redirect_dir=off to diff its upper directory',
          { entry: node.rel },
        );
      } else if (key === 'metacopy') {
        throw new LayerError(
          'overlayfs copied up only the metadata of this file (metacopy); mount the overlay with metacopy=off to diff its upper directory',
          { entry: node.rel },
        );
      }
      continue;
    }
    const value = getXattr(node.abs, name);
    if (value === undefined) continue;
    xattrs ??= new Map();
    xattrs.set(name, value);
  }
  return { xattrs, marks };
}

function whiteoutHeader(rel: string, mtime: number): TarHeader {
  const slash = rel.lastIndexOf('/');
  const parent = slash === -1 ? '' : rel.slice(0, slash + 1);
  const name = rel.slice(slash + 1);
  return { path: `${parent}${WHITEOUT_PREFIX}${name}`, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime };
}

/**
 * Writes the entries of a directory tree (or of an overlay upper directory) into a tar writer, in sorted order:
 * numeric owners with empty names, permission bits, whole-second mtimes (clamped to `sourceDateEpoch`), xattrs,
 * hardlinks (by device and inode) written once then as links, symlinks, devices and fifos. Sockets are left out
 * with a warning. The root directory itself is not written.
 */
export async function writeTreeEntries(writer: TarWriter, root: string, options: TreeEntriesOptions = {}): Promise<void> {
  const overlay = options.overlay ?? false;
  const epoch = options.sourceDateEpoch;
  const exclude = normaliseExclude(options.exclude);
  const links = new Map<string, string>();
  const map = options.map ?? ((header: TarHeader): TarHeader | null => header);
  const clamp = (stat: Stats): number => {
    const seconds = Math.floor(stat.mtimeMs / 1000);
    return epoch !== undefined && seconds > epoch ? epoch : seconds;
  };

  for (const node of walkTree(root, exclude !== undefined ? { exclude } : {})) {
    options.signal?.throwIfAborted();
    const { stat, rel } = node;
    try {
      const base = { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: clamp(stat) };

      if (stat.isCharacterDevice() && overlay && stat.rdev === 0) {
        await writer.add(whiteoutHeader(rel, base.mtime));
        continue;
      }
      if (stat.isSocket()) {
        options.onWarning?.({ code: 'SOCKET_SKIPPED', path: rel, message: `${rel}: sockets cannot be stored in a layer; left out` });
        continue;
      }
      const { xattrs, marks } = readAttributes(node, overlay);
      if (marks.whiteout) {
        await writer.add(whiteoutHeader(rel, base.mtime));
        continue;
      }
      const header: TarHeader = { path: rel, type: 'file', size: 0, ...base };
      if (xattrs !== undefined) header.xattrs = xattrs;

      if (stat.isFile()) {
        const key = stat.nlink > 1 ? `${stat.dev}:${stat.ino}` : undefined;
        const first = key === undefined ? undefined : links.get(key);
        if (first !== undefined) {
          const link = map({ ...header, type: 'hardlink', linkname: first }, node);
          if (link !== null) await writer.add(link.type === 'hardlink' ? link : { ...link, type: 'hardlink', linkname: first, size: 0 });
          continue;
        }
        const mapped = map({ ...header, size: stat.size }, node);
        if (mapped === null) continue;
        if (key !== undefined) links.set(key, mapped.path);
        if (mapped.size !== stat.size) throw new LayerError('a map function may not change the size of a file', { entry: rel });
        if (stat.size === 0) {
          await writer.add(mapped, Buffer.alloc(0));
          continue;
        }
        const fd = openSync(node.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          await writer.addFileDescriptor(mapped, fd);
        } finally {
          closeSync(fd);
        }
        continue;
      }
      if (stat.isDirectory()) {
        header.type = 'directory';
        header.path = `${rel}/`;
      } else if (stat.isSymbolicLink()) {
        header.type = 'symlink';
        header.linkname = readlinkSync(node.abs);
      } else if (stat.isCharacterDevice() || stat.isBlockDevice()) {
        header.type = stat.isCharacterDevice() ? 'char' : 'block';
        header.devmajor = deviceMajor(stat.rdev);
        header.devminor = deviceMinor(stat.rdev);
      } else if (stat.isFIFO()) {
        header.type = 'fifo';
      } else continue;
      const mapped = map(header, node);
      if (mapped !== null) await writer.add(mapped);
      if (marks.opaque) {
        const dir = mapped?.path ?? header.path;
        await writer.add({ path: `${dir.replace(/\/+$/, '')}/${OPAQUE_WHITEOUT}`, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: base.mtime });
      }
    } catch (error) {
      if (error instanceof LayerError) throw error;
      throw new LayerError(error instanceof Error ? error.message : String(error), { entry: rel, cause: error });
    }
  }
}
