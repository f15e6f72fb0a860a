import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { DigestingStream, TsbuildError, type Compression, type Digest } from '@tsbuild/oci';
import { openUncompressed } from '../compression/streams.js';
import type { ZstdImplementation } from '../compression/zstd.js';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from '../create/tree-entries.js';
import { asLayerError, LayerError, type WarningHandler } from '../errors.js';
import type { TarHeader } from '../tar/entry.js';
import { readTar, type TarEntry, type TarReaderLimits } from '../tar/reader.js';
import { isOverlayXattr, setXattr, xattrErrorCode } from '../xattrs.js';
import { HashedChunks } from './hashed-chunks.js';
import { cleanLayerPath } from './layer-path.js';
import { PlainDirectories } from './plain-directories.js';
import { RootResolver } from './root-resolver.js';
import { SpecialFiles } from './special-files.js';
import { readUmask } from './umask.js';

/**
 * How whiteouts are applied: `rootfs` deletes what they name (a flattened filesystem, what `unpack` makes);
 * `snapshot` writes them as overlayfs expects (char 0/0 devices, `overlay.opaque=y`), so the directory can be an
 * overlay lowerdir stacked on the directories of the layers below.
 */
export type ApplyMode = 'rootfs' | 'snapshot';

/** Options of {@link applyLayer}. */
export interface ApplyLayerOptions {
  /** `rootfs` (default) or `snapshot`. */
  mode?: ApplyMode;
  /** Abort the apply (the target is left half-written: apply into a staging directory). */
  signal?: AbortSignal;
  /** The diffID the uncompressed tar must have; checked at the end, before the call resolves. */
  expectedDiffID?: Digest;
  /** The digest the blob as read must have. */
  expectedDigest?: Digest;
  /** Bounds on entries, header and name sizes (see {@link TarReaderLimits}). */
  limits?: TarReaderLimits;
  /** Told about what could not be applied (xattrs the filesystem refuses, devices without privilege). */
  onWarning?: WarningHandler;
  /** Called every 256 entries and every 8 MiB of file data, and once at the end. */
  onProgress?: (progress: { entries: number; bytes: number }) => void;
  /** snapshot mode: xattr namespace of the opaque mark (default `trusted`; `user` for `userxattr` mounts). */
  overlayXattrNamespace?: 'trusted' | 'user';
  /** zstd implementation (default: the addon when it loads). */
  zstd?: ZstdImplementation;
}

/** What {@link applyLayer} read and wrote. */
export interface ApplyLayerResult {
  /** sha256 of the uncompressed tar. */
  diffID: Digest;
  /** sha256 of the blob as read. */
  digest: Digest;
  /** The compression found by its magic bytes. */
  compression: Compression;
  /** Bytes of the blob as read. */
  size: number;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
  /** Tar entries applied (pax and long-name headers not counted). */
  entries: number;
}

/** Decompressed bytes the decompressor may keep ready ahead of the tar reader, so neither waits for the other. */
const READ_AHEAD = 1 << 20;

interface DirectoryTimes {
  mode: number;
  mtime: number;
}

/** lstat, or undefined when nothing is there (without the cost of an exception). */
function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

function writeAll(fd: number, chunk: Buffer): void {
  let offset = 0;
  while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
}

/** Applies the entries of one layer to a target directory. */
class LayerApplier {
  readonly root: string;
  private readonly mode: ApplyMode;
  private readonly resolver: RootResolver;
  private readonly specials = new SpecialFiles();
  /** Real paths written by this layer: whiteouts never remove them (they apply to lower layers only). */
  private readonly created = new Set<string>();
  private readonly directories = new Map<string, DirectoryTimes>();
  /** Times of directories this layer changes without naming them: put back at the end, as they were. */
  private readonly untouchedTimes = new Map<string, Stats>();
  private readonly privileged = process.getuid?.() === 0;
  /** Directories where a new file gets exactly the owner and mode asked for (no setgid, no default ACL). */
  private readonly plain = new PlainDirectories();
  /** The umask, if known: a file whose mode it leaves alone is created with that mode, not chmod-ed. */
  private readonly umask = readUmask();
  private readonly euid = process.geteuid?.();
  private readonly egid = process.getegid?.();
  private readonly opaqueXattr: string;
  private readonly onWarning: WarningHandler | undefined;
  private warnedOwner = false;
  /** Called after each chunk of file data is written. */
  onData: ((bytes: number) => void) | undefined;

  constructor(root: string, options: ApplyLayerOptions) {
    this.root = root;
    this.mode = options.mode ?? 'rootfs';
    this.resolver = new RootResolver(root);
    this.opaqueXattr = `${options.overlayXattrNamespace ?? 'trusted'}.overlay.opaque`;
    this.onWarning = options.onWarning;
  }

  /** Applies one entry; returns a promise only when it has to wait (file data not yet read). */
  apply(entry: TarEntry): Promise<void> | undefined {
    const parts = cleanLayerPath(entry.path);
    if (parts.length === 0) {
      if (entry.type !== 'directory') throw new LayerError(`the layer root must be a directory, not a ${entry.type}`, { entry: entry.path });
      this.chown(this.root, entry);
      this.setXattrs(this.root, entry);
      this.directories.set(this.root, { mode: entry.mode, mtime: entry.mtime });
      this.plain.forget(this.root);
      return undefined;
    }
    const name = parts[parts.length - 1]!;
    const parentParts = parts.slice(0, -1);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      if (name === OPAQUE_WHITEOUT) this.opaque(parentParts, entry);
      else if (!name.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
        // (names starting .wh..wh. are aufs metadata: .wh..wh.plnk, ...)
        const target = name.slice(WHITEOUT_PREFIX.length);
        if (target === '' || target === '.' || target === '..') {
          throw new LayerError('invalid whiteout name', { entry: entry.path });
        }
        this.whiteout(parentParts, target, entry);
      }
      return undefined;
    }
    const parent = this.resolver.resolveDir(parentParts, true, entry.path)!;
    const abs = this.resolver.join(parent, name);
    this.keepTimes(parent);
    this.specials.forget(abs);
    let pending: Promise<void> | undefined;
    switch (entry.type) {
      case 'directory':
        this.directory(abs, entry);
        break;
      case 'file':
        pending = this.file(abs, parent, entry);
        break;
      case 'symlink':
        this.symlink(abs, entry);
        break;
      case 'hardlink':
        pending = this.hardlink(abs, entry);
        break;
      case 'char':
      case 'block':
      case 'fifo':
        this.node(abs, entry);
        break;
    }
    if (pending === undefined) {
      this.created.add(abs);
      return undefined;
    }
    return pending.then(() => {
      this.created.add(abs);
    });
  }

  /**
   * Creates what is still queued, then sets directory modes and mtimes (after every child is written, so nothing
   * changes them again). Only real directories are touched: a path that is no longer one is skipped.
   */
  async finish(): Promise<void> {
    await this.createSpecialFiles();
    const isDirectory = (abs: string): boolean => lstatOrUndefined(abs)?.isDirectory() ?? false;
    for (const [abs, stat] of this.untouchedTimes) {
      if (!this.directories.has(abs) && isDirectory(abs)) utimesSync(abs, stat.atime, stat.mtime);
    }
    for (const [abs, times] of this.directories) {
      if (!isDirectory(abs)) continue;
      chmodSync(abs, times.mode);
      utimesSync(abs, times.mtime, times.mtime);
    }
  }

  /**
   * Remembers the times of a directory about to change (a child added or removed) unless this layer names it, so
   * a layer only changes the metadata of directories it carries.
   */
  private keepTimes(dir: string): void {
    if (this.directories.has(dir) || this.untouchedTimes.has(dir)) return;
    const stat = lstatOrUndefined(dir);
    if (stat !== undefined) this.untouchedTimes.set(dir, stat);
  }

  private async createSpecialFiles(): Promise<void> {
    if (this.specials.size === 0) return;
    this.keepTimes(this.root);
    for (const { abs, header } of await this.specials.create(this.root)) {
      this.chown(abs, header);
      chmodSync(abs, header.mode);
      this.setXattrs(abs, header);
      utimesSync(abs, header.mtime, header.mtime);
    }
  }

  /** Removes whatever is at `abs` (never following a symlink), keeping the caches right. */
  private remove(abs: string, stat: Stats | undefined = lstatOrUndefined(abs)): void {
    if (stat === undefined) return;
    if (stat.isDirectory()) {
      this.specials.forgetUnder(abs);
      for (const map of [this.directories, this.untouchedTimes]) {
        map.delete(abs);
        for (const dir of map.keys()) if (dir.startsWith(`${abs}/`)) map.delete(dir);
      }
      rmSync(abs, { recursive: true, force: true });
      this.resolver.invalidate();
      this.plain.clear();
    } else {
      unlinkSync(abs);
      if (stat.isSymbolicLink()) this.resolver.invalidate();
    }
  }

  /** Sets the owner (as root; never following a symlink). */
  private chown(abs: string, header: TarHeader): void {
    if (!this.privileged) {
      if (!this.warnedOwner && (header.uid !== process.getuid?.() || header.gid !== process.getgid?.())) {
        this.warnedOwner = true;
        this.onWarning?.({ code: 'OWNER_SKIPPED', path: header.path, message: 'not running as root: file owners are not restored' });
      }
      return;
    }
    lchownSync(abs, header.uid, header.gid);
  }

  private setXattrs(abs: string, header: TarHeader): void {
    if (header.xattrs === undefined) return;
    for (const [name, value] of header.xattrs) {
      if (isOverlayXattr(name)) {
        this.onWarning?.({ code: 'XATTR_SKIPPED', path: header.path, message: `${header.path}: overlay attribute ${name} in a layer ignored` });
        continue;
      }
      try {
        setXattr(abs, name, value);
      } catch (error) {
        const code = xattrErrorCode(error);
        if (code === 'EOPNOTSUPP' || code === 'EPERM' || code === 'EACCES') {
          this.onWarning?.({
            code: 'XATTR_SKIPPED',
            path: header.path,
            message: `${header.path}: extended attribute ${name} not set (${code})`,
          });
          continue;
        }
        throw new LayerError(`setting extended attribute ${name} failed: ${error instanceof Error ? error.message : String(error)}`, {
          entry: header.path,
          cause: error,
        });
      }
    }
  }

  private directory(abs: string, entry: TarEntry): void {
    const stat = lstatOrUndefined(abs);
    if (stat === undefined || !stat.isDirectory()) {
      this.remove(abs, stat);
      mkdirSync(abs, 0o700);
    }
    this.resolver.noteDirectory(abs);
    this.chown(abs, entry);
    this.setXattrs(abs, entry);
    this.plain.forget(abs);
    this.directories.set(abs, { mode: entry.mode, mtime: entry.mtime });
  }

  /**
   * Writes a regular file, always as a new file (`O_EXCL`, replacing whatever was there). In a plain directory
   * (see {@link PlainDirectories}) the new file already has the process's owner, and the mode passed to `open`
   * less the umask: when that is what the entry asks for, `fchown` and `fchmod` are skipped. Data already in
   * memory is written without waiting; a promise is returned only when the rest must be read first.
   */
  private file(abs: string, parent: string, entry: TarEntry): Promise<void> | undefined {
    const plain = this.plain.isPlain(parent);
    const exactMode = plain && this.umask !== undefined && (entry.mode & ~0o777) === 0 && (entry.mode & this.umask) === 0;
    const ownerNeeded = this.privileged && !(plain && entry.uid === this.euid && entry.gid === this.egid);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const createMode = exactMode ? entry.mode : 0o600;
    let fd: number;
    try {
      fd = openSync(abs, flags, createMode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      this.remove(abs);
      fd = openSync(abs, flags, createMode);
    }
    const finish = (): void => {
      if (ownerNeeded) fchownSync(fd, entry.uid, entry.gid);
      else if (!this.privileged) this.chown(abs, entry);
      if (!exactMode) fchmodSync(fd, entry.mode);
      this.setXattrs(abs, entry);
      futimesSync(fd, entry.mtime, entry.mtime);
    };
    let closing = true;
    try {
      const data = entry.takeBuffered();
      if (data === undefined) {
        closing = false;
        return this.writeBody(fd, entry).then(finish).finally(() => closeSync(fd));
      }
      if (data.length > 0) {
        writeAll(fd, data);
        this.onData?.(data.length);
      }
      finish();
      return undefined;
    } finally {
      if (closing) closeSync(fd);
    }
  }

  private async writeBody(fd: number, entry: TarEntry): Promise<void> {
    for await (const chunk of entry.body) {
      writeAll(fd, chunk);
      this.onData?.(chunk.length);
    }
  }

  private symlink(abs: string, entry: TarEntry): void {
    const target = entry.linkname ?? '';
    try {
      symlinkSync(target, abs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      this.remove(abs);
      symlinkSync(target, abs);
    }
    this.chown(abs, entry);
    this.setXattrs(abs, entry);
    lutimesSync(abs, entry.mtime, entry.mtime);
  }

  private async hardlink(abs: string, entry: TarEntry): Promise<void> {
    const linkname = entry.linkname ?? '';
    const parts = cleanLayerPath(linkname, 'hardlink target', entry.path);
    if (parts.length === 0) throw new LayerError('hardlink to the layer root', { entry: entry.path });
    const dir = this.resolver.resolveDir(parts.slice(0, -1), false, entry.path);
    const target = dir === undefined ? undefined : this.resolver.join(dir, parts[parts.length - 1]!);
    if (target !== undefined && this.specials.has(target)) await this.createSpecialFiles();
    const stat = target === undefined ? undefined : lstatOrUndefined(target);
    if (target === undefined || stat === undefined) {
      throw new LayerError(`hardlink to ${JSON.stringify(linkname)}, which does not exist in the layer or below it`, { entry: entry.path });
    }
    if (stat.isDirectory()) throw new LayerError(`hardlink to the directory ${JSON.stringify(linkname)}`, { entry: entry.path });
    if (target === abs) return;
    try {
      linkSync(target, abs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const existing = lstatOrUndefined(abs);
      if (existing !== undefined && existing.ino === stat.ino && existing.dev === stat.dev) return;
      this.remove(abs, existing);
      linkSync(target, abs);
    }
  }

  private node(abs: string, entry: TarEntry): void {
    this.remove(abs);
    if (entry.type !== 'fifo' && !this.privileged) {
      this.onWarning?.({ code: 'DEVICE_SKIPPED', path: entry.path, message: `${entry.path}: device nodes need root; not created` });
      return;
    }
    this.specials.addNode(abs, entry);
  }

  private whiteout(parentParts: string[], name: string, entry: TarEntry): void {
    const snapshot = this.mode === 'snapshot';
    const parent = this.resolver.resolveDir(parentParts, snapshot, entry.path);
    if (parent === undefined) return; // nothing below to delete
    const abs = this.resolver.join(parent, name);
    if (this.created.has(abs)) return; // this layer's own entry wins
    this.keepTimes(parent);
    this.remove(abs);
    this.specials.forget(abs);
    if (snapshot) this.specials.addWhiteout(abs);
  }

  private opaque(dirParts: string[], entry: TarEntry): void {
    if (this.mode === 'snapshot') {
      const dir = this.resolver.resolveDir(dirParts, true, entry.path)!;
      try {
        setXattr(dir, this.opaqueXattr, Buffer.from('y'));
      } catch (error) {
        throw new LayerError(`marking the directory opaque (${this.opaqueXattr}) failed: ${error instanceof Error ? error.message : String(error)}`, {
          entry: entry.path,
          cause: error,
        });
      }
      return;
    }
    const dir = this.resolver.resolveDir(dirParts, false, entry.path);
    if (dir === undefined) return;
    this.keepTimes(dir);
    for (const name of readdirSync(dir)) {
      const abs = this.resolver.join(dir, name);
      if (!this.created.has(abs)) this.remove(abs);
    }
  }
}

/**
 * Applies a layer blob (gzip, zstd or plain tar, found by its magic bytes) to a target directory, streaming: the
 * blob is hashed (digest), decompressed, hashed again (diffID) and unpacked in one pass. Ownership (as root),
 * permission bits including setuid/setgid/sticky, xattrs (including `security.capability`), hardlinks, symlinks,
 * devices and fifos are restored, and directory modes and mtimes are set after their children.
 *
 * Safe by construction: every path is resolved inside `target` (a symlink met on the way is resolved with
 * `target` as `/`, never followed out; the last component is never followed), names and hardlink targets that
 * climb above the root, hardlinks to missing files or directories, and malformed whiteouts are rejected with a
 * {@link LayerError} naming the entry, and a hostile archive cannot make it allocate without bound (see
 * {@link TarReaderLimits}). The target directory is created if missing. Nothing else may write to it meanwhile.
 * On failure the target is left half-written: apply into a staging directory and rename it on success.
 */
export async function applyLayer(
  source: AsyncIterable<Uint8Array> | Readable,
  target: string,
  options: ApplyLayerOptions = {},
): Promise<ApplyLayerResult> {
  options.signal?.throwIfAborted();
  mkdirSync(target, { recursive: true });
  const root = realpathSync(target);
  const applier = new LayerApplier(root, options);

  const blob = new DigestingStream({
    ...(options.expectedDigest !== undefined ? { digest: options.expectedDigest } : {}),
    what: 'layer blob',
  });
  pipeline(source as Readable, blob, () => undefined);
  if (options.signal !== undefined) addAbortSignal(options.signal, blob);
  let compression: Compression = 'none';
  let decompressError: Error | undefined;
  let current: string | undefined;
  let entries = 0;
  let reported = 0;
  let diff: HashedChunks | undefined;
  const tarBytes = (): number => diff?.size ?? 0;
  if (options.onProgress !== undefined) {
    const onProgress = options.onProgress;
    applier.onData = () => {
      if (tarBytes() - reported >= 8 << 20) {
        reported = tarBytes();
        onProgress({ entries, bytes: reported });
      }
    };
  }
  try {
    const opened = await openUncompressed(blob, { ...(options.zstd !== undefined ? { zstd: options.zstd } : {}), readAhead: READ_AHEAD });
    compression = opened.compression;
    if (compression !== 'none') opened.stream.once('error', (error) => (decompressError = error));
    const tar = new HashedChunks(opened.stream, options.expectedDiffID, 'uncompressed layer (diffID)');
    diff = tar;
    for await (const entry of readTar(tar, options.limits)) {
      options.signal?.throwIfAborted();
      current = entry.path;
      const pending = applier.apply(entry);
      if (pending !== undefined) await pending;
      current = undefined;
      entries++;
      if (options.onProgress !== undefined && entries % 256 === 0) {
        reported = tarBytes();
        options.onProgress({ entries, bytes: reported });
      }
    }
    await applier.finish();
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (!(error instanceof TsbuildError) && decompressError !== undefined && !(decompressError instanceof TsbuildError)) {
      throw new LayerError(`the layer's ${compression} data is corrupt or truncated: ${decompressError.message}`, { cause: decompressError });
    }
    throw asLayerError(error, current);
  }
  options.onProgress?.({ entries, bytes: tarBytes() });
  return {
    diffID: diff!.digest!,
    digest: blob.digest!,
    compression,
    size: blob.size,
    uncompressedSize: tarBytes(),
    entries,
  };
}
