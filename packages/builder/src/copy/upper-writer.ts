import { chmodSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { isWhiteout, LayerStack, type DirNode, type StackNode, type StackResolution } from '../context/layer-stack.js';
import { isOverlayXattr, type XattrIo } from '../context/xattr-io.js';
import { CopyError } from './errors.js';
import { createSpecialNodes, type SpecialNode } from './special-nodes.js';

/** Owner, mode, time and extended attributes an entry gets in the upper dir. */
export interface EntryMeta {
  /** Numeric owner. */
  readonly uid: number;
  /** Numeric group. */
  readonly gid: number;
  /** Permission bits (ignored for symlinks). */
  readonly mode: number;
  /** Modification (and access) time, milliseconds since the epoch. */
  readonly mtimeMs: number;
  /** Copy the extended attributes of this host path (overlay ones left out). */
  readonly xattrsFrom?: string;
  /** Set these extended attributes (from an archive). */
  readonly xattrs?: ReadonlyMap<string, Buffer>;
}

/** Something a copy left out or could not carry over. */
export interface CopyWarning {
  /** `SOCKET_SKIPPED`, `XATTR_SKIPPED`. */
  readonly code: string;
  /** The entry concerned. */
  readonly path: string;
  /** A sentence for the user. */
  readonly message: string;
}

/** Options of {@link UpperWriter}. */
export interface UpperWriterOptions {
  /** The fresh upper dir the copy writes into. */
  readonly upperDir: string;
  /** The image's snapshot dirs, top first. */
  readonly lowerDirs: readonly string[];
  /** Extended attribute access. */
  readonly xattrs: XattrIo;
  /** Namespace of the opaque mark (`trusted` unless the overlay is mounted with `userxattr`). */
  readonly overlayXattrNamespace: 'trusted' | 'user';
  /** `COPY` or `ADD`, for messages. */
  readonly instruction: string;
  /** Told about what was left out. */
  readonly onWarning?: ((warning: CopyWarning) => void) | undefined;
}

/** Attributes that describe the host, not the file, and are never copied. */
function skipXattr(name: string): boolean {
  return isOverlayXattr(name) || name === 'security.selinux';
}

function depth(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 0x2f) n++;
  return n;
}

/**
 * Writes a COPY/ADD result into a fresh overlay upper dir exactly as overlayfs would have left it: every change
 * is made in the upper dir, directories of the lower layers that receive new entries are copied up first (with
 * their owner, mode, time and xattrs), new directories are created, and a directory that replaces a non-directory
 * is marked opaque so nothing below it in the lower layers shows through. Lookups go through the merged view of
 * the upper dir over the lower snapshot dirs, with symlinks resolved inside the image; nothing is ever written
 * outside the upper dir. Directory times and device nodes are applied by {@link finish}.
 */
export class UpperWriter {
  /** The merged view: the upper dir (index 0, being written) over the lower snapshot dirs. */
  readonly stack: LayerStack;
  private readonly options: UpperWriterOptions;
  private readonly dirTimes = new Map<string, number>();
  private readonly specials = new Map<string, { node: SpecialNode; meta: EntryMeta }>();
  private readonly warnedXattrs = new Set<string>();

  constructor(options: UpperWriterOptions) {
    this.options = options;
    this.stack = new LayerStack([options.upperDir, ...options.lowerDirs], { xattrs: options.xattrs, writableTop: true });
  }

  private fail(message: string, path: string): CopyError {
    return new CopyError('COPY_DESTINATION', `${this.options.instruction} failed: ${message}`, { path });
  }

  /** Host path in the upper dir of real container path components. */
  upperPath(components: readonly string[]): string {
    return this.stack.hostPath(0, components);
  }

  /** The entry `name` of a directory in the merged view (upper over lowers). */
  child(dir: DirNode, name: string): StackNode | undefined {
    return this.stack.child(dir, name);
  }

  /** Looks a container path up in the merged view (see {@link LayerStack.resolve}). */
  resolve(path: string | readonly string[], followFinal: boolean, floor?: StackResolution): StackResolution {
    return this.stack.resolve(path, followFinal, floor);
  }

  /**
   * Sets owner, then mode (a chown clears setuid bits), then xattrs (a chown clears `security.capability`), then the
   * time — directories' times at the end, once nothing more is written into them.
   */
  private applyMeta(host: string, kind: 'directory' | 'symlink' | 'other', meta: EntryMeta): void {
    lchownSync(host, meta.uid, meta.gid);
    if (kind !== 'symlink') chmodSync(host, meta.mode & 0o7777);
    if (meta.xattrsFrom !== undefined) this.copyXattrs(host, this.options.xattrs.read(meta.xattrsFrom));
    if (meta.xattrs !== undefined) this.copyXattrs(host, meta.xattrs);
    if (kind === 'directory') this.dirTimes.set(host, meta.mtimeMs);
    else lutimesSync(host, meta.mtimeMs / 1000, meta.mtimeMs / 1000);
  }

  /** Sets the attributes that describe the file (not overlay's, not the host's SELinux label); failures are warnings. */
  private copyXattrs(host: string, attrs: ReadonlyMap<string, Buffer>): void {
    for (const [name, value] of attrs) {
      if (skipXattr(name)) continue;
      try {
        this.options.xattrs.write(host, name, value);
      } catch (error) {
        if (this.warnedXattrs.has(name)) continue;
        this.warnedXattrs.add(name);
        this.options.onWarning?.({
          code: 'XATTR_SKIPPED',
          path: host,
          message: `extended attribute ${name} could not be set (${(error as Error).message}); left out`,
        });
      }
    }
  }

  /** Forgets what was pending for a path (and below) that is being removed. */
  private purge(host: string): void {
    const prefix = `${host}/`;
    for (const map of [this.dirTimes, this.specials] as Array<Map<string, unknown>>) {
      for (const key of map.keys()) if (key === host || key.startsWith(prefix)) map.delete(key);
    }
  }

  private removeFromUpper(host: string): void {
    rmSync(host, { recursive: true, force: true });
    this.purge(host);
  }

  /** Whether the lower layers show anything under `name` in `parent` (that a new upper directory must hide). */
  private lowerHas(parent: DirNode, name: string): boolean {
    for (const layer of parent.layers) {
      if (layer === 0) continue;
      let stats;
      try {
        stats = lstatSync(this.stack.hostPath(layer, [...parent.components, name]));
      } catch {
        continue;
      }
      return !isWhiteout(stats);
    }
    return false;
  }

  private markOpaque(host: string): void {
    this.options.xattrs.write(host, `${this.options.overlayXattrNamespace}.overlay.opaque`, Buffer.from('y'));
    this.stack.markOpaque(host, true);
  }

  /** Refuses names a layer would read as whiteouts (`.wh.*`): copied, they would delete files of lower layers. */
  private checkName(parent: DirNode, name: string): void {
    if (name.startsWith('.wh.')) {
      const path = `/${[...parent.components, name].join('/')}`;
      throw new CopyError('COPY_SOURCE', `${this.options.instruction} failed: ${path}: a file named like a layer whiteout (.wh.*) cannot be stored in an image`, {
        path,
      });
    }
  }

  private requireUpper(dir: DirNode): void {
    if (dir.layer !== 0) throw new Error(`internal: /${dir.components.join('/')} is not in the upper dir yet`);
  }

  /**
   * Makes `name` in `parent` a directory with `meta`: an existing directory (in the upper dir or below) keeps its
   * contents and takes the new metadata; anything else there is replaced, and the new directory is opaque when the
   * lower layers have something under that name.
   */
  makeDirectory(parent: DirNode, name: string, meta: EntryMeta): DirNode {
    this.requireUpper(parent);
    this.checkName(parent, name);
    const components = [...parent.components, name];
    const host = this.upperPath(components);
    const existing = this.child(parent, name);
    if (existing?.kind === 'directory') {
      if (existing.layer !== 0) mkdirSync(host);
    } else {
      if (existing !== undefined && existing.layer === 0) this.removeFromUpper(host);
      mkdirSync(host);
      if (existing !== undefined && this.lowerHas(parent, name)) this.markOpaque(host);
    }
    this.applyMeta(host, 'directory', meta);
    return this.child(parent, name) as DirNode;
  }

  /** Clears the way for a non-directory `name` in `parent` and returns its host path. */
  private clearForLeaf(parent: DirNode, name: string): string {
    this.requireUpper(parent);
    this.checkName(parent, name);
    const host = this.upperPath([...parent.components, name]);
    const existing = this.child(parent, name);
    if (existing !== undefined && existing.layer === 0) this.removeFromUpper(host);
    return host;
  }

  /** Creates a regular file: `fill` writes it at the host path it is given (exclusively), then `meta` is applied. */
  makeFile(parent: DirNode, name: string, meta: EntryMeta, fill: (host: string) => void): string {
    const host = this.clearForLeaf(parent, name);
    fill(host);
    this.applyMeta(host, 'other', meta);
    return host;
  }

  /** {@link makeFile} with an asynchronous `fill`. */
  async makeFileAsync(parent: DirNode, name: string, meta: EntryMeta, fill: (host: string) => Promise<void>): Promise<string> {
    const host = this.clearForLeaf(parent, name);
    await fill(host);
    this.applyMeta(host, 'other', meta);
    return host;
  }

  /** Creates a symlink with a verbatim target. */
  makeSymlink(parent: DirNode, name: string, target: string, meta: EntryMeta): void {
    const host = this.clearForLeaf(parent, name);
    symlinkSync(target, host);
    this.applyMeta(host, 'symlink', meta);
  }

  /** Creates a hardlink to a file already in the upper dir. */
  makeHardlink(parent: DirNode, name: string, existingHost: string): void {
    const host = this.clearForLeaf(parent, name);
    linkSync(existingHost, host);
  }

  /** Queues a device node or fifo (created by {@link finish}). A char 0/0 device would be a whiteout: refused. */
  makeSpecial(parent: DirNode, name: string, type: 'char' | 'block' | 'fifo', major: number, minor: number, meta: EntryMeta): void {
    const path = `/${[...parent.components, name].join('/')}`;
    this.checkName(parent, name);
    if (type === 'char' && major === 0 && minor === 0) {
      throw new CopyError('COPY_SOURCE', `${this.options.instruction} failed: ${path} is a 0/0 character device, which a layer can only hold as a whiteout`, {
        path,
      });
    }
    const host = this.clearForLeaf(parent, name);
    this.specials.set(host, { node: { path: host, type, major, minor }, meta });
  }

  /**
   * Makes sure a container directory exists in the upper dir and returns its resolution (usable as a `floor`):
   * the path is resolved in the merged view following symlinks inside the image (or inside `floor`); directories
   * of the lower layers on the way are copied up with their metadata; missing ones are created with `created`
   * (the last one with `createdLast` when given). A non-directory in the middle is an error; one at the end is
   * replaced by a directory only when `replaceLeaf` is set.
   */
  ensureDirectory(
    components: readonly string[],
    created: EntryMeta,
    options: { replaceLeaf?: boolean; floor?: StackResolution; createdLast?: EntryMeta } = {},
  ): StackResolution {
    const { floor } = options;
    const res = this.resolve(components, true, floor);
    const shown = `/${[...(floor?.components ?? []), ...components].join('/')}`;
    if (res.notDirectory) throw this.fail(`cannot create directory ${shown}: /${res.components.slice(0, res.existing).join('/')} is not a directory`, shown);
    const start = floor?.components.length ?? 0;
    let dir: DirNode = start === 0 ? this.stack.root() : (res.dirs[start] as DirNode);
    this.requireUpper(dir);
    for (let i = start; i < res.components.length; i++) {
      const name = res.components[i]!;
      const last = i === res.components.length - 1;
      const node = this.child(dir, name);
      const host = this.upperPath(res.components.slice(0, i + 1));
      if (node?.kind === 'directory') {
        if (node.layer !== 0) {
          mkdirSync(host);
          const stats = node.stats;
          this.applyMeta(host, 'directory', { uid: stats.uid, gid: stats.gid, mode: stats.mode & 0o7777, mtimeMs: stats.mtimeMs, xattrsFrom: node.hostPath });
          dir = this.child(dir, name) as DirNode;
        } else dir = node;
      } else if (node === undefined) {
        this.checkName(dir, name);
        mkdirSync(host);
        this.applyMeta(host, 'directory', last && options.createdLast !== undefined ? options.createdLast : created);
        dir = this.child(dir, name) as DirNode;
      } else {
        if (!last || options.replaceLeaf !== true) {
          throw this.fail(`cannot create directory ${shown}: /${res.components.slice(0, i + 1).join('/')} is not a directory`, shown);
        }
        dir = this.makeDirectory(dir, name, options.createdLast ?? created);
      }
    }
    return this.resolve(res.components, false);
  }

  /**
   * Copies a file of the lower layers up into the upper dir (content, owner, mode, time, xattrs), as overlayfs does
   * before a hardlink is made to it. Returns its host path in the upper dir.
   */
  copyUpFile(resolution: StackResolution, copy: (from: string, to: string) => void): string {
    const node = resolution.node;
    if (node === undefined || node.kind !== 'leaf') throw new Error('internal: copy-up of a missing file');
    if (node.layer === 0) return node.hostPath;
    const parent = this.ensureDirectory(resolution.components.slice(0, -1), { uid: 0, gid: 0, mode: 0o755, mtimeMs: Date.now() });
    const stats = node.stats;
    return this.makeFile(parent.node as DirNode, resolution.components.at(-1)!, { uid: stats.uid, gid: stats.gid, mode: stats.mode & 0o7777, mtimeMs: stats.mtimeMs, xattrsFrom: node.hostPath }, (host) =>
      copy(node.hostPath, host),
    );
  }

  /** Creates queued device nodes and fifos, then sets directory times (deepest first). */
  async finish(signal?: AbortSignal): Promise<void> {
    const specials = [...this.specials.values()];
    if (specials.length > 0) {
      await createSpecialNodes(
        specials.map((special) => special.node),
        this.options.instruction,
      );
      for (const { node, meta } of specials) this.applyMeta(node.path, 'other', meta);
    }
    signal?.throwIfAborted();
    const dirs = [...this.dirTimes].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [host, mtimeMs] of dirs) lutimesSync(host, mtimeMs / 1000, mtimeMs / 1000);
  }
}
