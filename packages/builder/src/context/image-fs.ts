import { constants, readlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { UserDbReader } from '../run/user.js';
import { ContextError } from './errors.js';
import { cleanContainerPath, LayerStack, type LayerStackOptions, type StackNode } from './layer-stack.js';
import { selectFromTree, type SourceTree, type TreeNodeBase } from './select.js';
import { entryTypeOf, sourceEntryOf, type SelectedSource, type SourceEntry, type SourceEntryType } from './source.js';

/** `/etc/passwd` or `/etc/group` bigger than this is refused rather than read into memory. */
const MAX_USER_DB_BYTES = 32 * 1024 * 1024;

/** What {@link ImageFs.lstat} and {@link ImageFs.stat} say about a path. */
export interface ImageStat {
  /** The path with symlinks resolved inside the image (absolute, e.g. `/usr/bin/sh`). */
  readonly path: string;
  /** What the entry is. */
  readonly type: SourceEntryType;
  /** Permission bits (`0o7777` at most). */
  readonly mode: number;
  /** Numeric owner. */
  readonly uid: number;
  /** Numeric group. */
  readonly gid: number;
  /** Size in bytes (files only). */
  readonly size: number;
  /** Modification time, milliseconds since the epoch. */
  readonly mtimeMs: number;
  /** Target of a symlink, verbatim. */
  readonly linkTarget?: string;
  /** Where the entry lives on the host (in one of the snapshot dirs). */
  readonly hostPath: string;
  /** Index of the snapshot dir (top first) the entry comes from. */
  readonly layer: number;
}

/** Options of {@link ImageFs}. */
export interface ImageFsOptions extends Pick<LayerStackOptions, 'xattrs'> {
  /** How error messages name the filesystem (e.g. `stage build`); default `the image`. */
  name?: string;
  /** Instruction named in error messages of {@link ImageFs.select} (default `COPY`). */
  instruction?: string;
}

interface ImageNode extends TreeNodeBase {
  readonly node: StackNode;
}

/**
 * The filesystem of a stage or image, read from its snapshot dirs (top first) without mounting them: whiteouts and
 * opaque directories are honoured and symlinks resolve with the image root as `/`, never outside. Used for
 * `COPY --from`, for resolving COPY destinations and for `--chown=name` lookups in the image's `/etc/passwd`.
 * The snapshot dirs must not change while it is used (snapshots never do).
 */
export class ImageFs {
  /** The merged view underneath (shared with the COPY engine). */
  readonly stack: LayerStack;
  private readonly name: string;
  private readonly instruction: string;

  constructor(snapshotDirs: readonly string[], options: ImageFsOptions = {}) {
    this.stack = new LayerStack(snapshotDirs, options.xattrs !== undefined ? { xattrs: options.xattrs } : {});
    this.name = options.name ?? 'the image';
    this.instruction = options.instruction ?? 'COPY';
  }

  private statOf(node: StackNode): ImageStat {
    const stats = node.stats;
    const type = entryTypeOf(stats);
    return {
      path: `/${node.components.join('/')}`,
      type,
      mode: stats.mode & 0o7777,
      uid: stats.uid,
      gid: stats.gid,
      size: type === 'file' ? stats.size : 0,
      mtimeMs: stats.mtimeMs,
      hostPath: node.hostPath,
      layer: node.layer,
      ...(type === 'symlink' ? { linkTarget: readlinkSync(node.hostPath) } : {}),
    };
  }

  private missing(path: string, why = 'no such file or directory'): ContextError {
    return new ContextError('IMAGE_PATH', `${path}: ${why} in ${this.name}`, { path });
  }

  /** The entry at a path, not following a final symlink; undefined when it does not exist. */
  async lstat(path: string): Promise<ImageStat | undefined> {
    const found = this.stack.resolve(path, false);
    return found.node === undefined ? undefined : this.statOf(found.node);
  }

  /** The entry at a path, following symlinks (inside the image); undefined when it does not exist or dangles. */
  async stat(path: string): Promise<ImageStat | undefined> {
    const found = this.stack.resolve(path, true);
    return found.node === undefined ? undefined : this.statOf(found.node);
  }

  /** Whether a path exists (following symlinks). */
  async exists(path: string): Promise<boolean> {
    return this.stack.resolve(path, true).node !== undefined;
  }

  /** The names in a directory (following symlinks), in byte order. @throws {ContextError} if it is not a directory. */
  async readdir(path: string): Promise<string[]> {
    const found = this.stack.resolve(path, true);
    if (found.node === undefined) throw this.missing(path);
    if (found.node.kind !== 'directory') throw this.missing(path, 'not a directory');
    return this.stack.names(found.node);
  }

  /** The target of a symlink. @throws {ContextError} if the path is not a symlink. */
  async readlink(path: string): Promise<string> {
    const found = this.stack.resolve(path, false);
    if (found.node === undefined) throw this.missing(path);
    if (!found.node.stats.isSymbolicLink()) throw this.missing(path, 'not a symbolic link');
    return readlinkSync(found.node.hostPath);
  }

  /**
   * Opens a regular file for reading (following symlinks inside the image).
   * @throws {ContextError} if it does not exist or is not a regular file.
   */
  async open(path: string): Promise<FileHandle> {
    const found = this.stack.resolve(path, true);
    if (found.node === undefined) throw this.missing(path);
    if (!found.node.stats.isFile()) throw this.missing(path, 'not a regular file');
    return open(found.node.hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  }

  /** The content of a regular file, or undefined when there is none at that path. */
  async readFile(path: string, maxBytes = MAX_USER_DB_BYTES): Promise<Buffer | undefined> {
    const found = this.stack.resolve(path, true);
    if (found.node === undefined || !found.node.stats.isFile()) return undefined;
    if (found.node.stats.size > maxBytes) throw this.missing(path, `larger than ${maxBytes} bytes`);
    const handle = await open(found.node.hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /** A reader of the image's `/etc/passwd` and `/etc/group` for `resolveUser` (`--chown=app:app`, `USER app`). */
  userDbReader(): UserDbReader {
    return async (file) => (await this.readFile(`/etc/${file}`))?.toString('utf8');
  }

  /**
   * Selects COPY/ADD sources (`COPY --from`): paths from the image root (a relative path is relative to `/`),
   * wildcards as in the context; a symlink selected is followed inside the image; owners are kept.
   * @throws {ContextError} `SOURCE_NOT_FOUND` or `NO_SOURCE_FILES`.
   */
  select(patterns: readonly string[]): SelectedSource[] {
    return selectFromTree(this.tree(), patterns);
  }

  private tree(): SourceTree<ImageNode> {
    const stack = this.stack;
    const prefix = `${this.instruction} failed: `;
    const name = this.name;
    const toNode = (node: StackNode): ImageNode => ({
      rel: node.components.join('/'),
      stats: node.stats,
      hostPath: node.hostPath,
      hostRoot: stack.dirs[node.layer]!,
      node,
    });
    return {
      origin: 'image',
      instruction: this.instruction,
      components: (pattern) => cleanContainerPath(pattern),
      resolve: (components) => {
        const found = stack.resolve(components, true);
        return found.node === undefined ? undefined : toNode(found.node);
      },
      children: (dir) => (dir.node.kind === 'directory' ? stack.list(dir.node).map(toNode) : []),
      walk: (node, signal) => walkStack(stack, node.node, signal),
      notFound: (pattern) =>
        new ContextError('SOURCE_NOT_FOUND', `${prefix}${pattern}: no such file or directory in ${name}`, { path: pattern }),
    };
  }
}

/** The entries of a node of the merged view: the node, then everything below it, parents first, in byte order. */
export function* walkStack(stack: LayerStack, node: StackNode, signal?: AbortSignal): Generator<SourceEntry> {
  const entryOf = (rel: string, n: StackNode): SourceEntry =>
    sourceEntryOf(rel, n.stats, n.hostPath, stack.dirs[n.layer]!, n.stats.isSymbolicLink() ? readlinkSync(n.hostPath) : undefined);
  yield entryOf('', node);
  if (node.kind !== 'directory') return;
  const frames: Array<{ sub: string; nodes: StackNode[]; next: number }> = [{ sub: '', nodes: stack.list(node), next: 0 }];
  let count = 0;
  while (frames.length > 0) {
    const top = frames[frames.length - 1]!;
    if (top.next >= top.nodes.length) {
      frames.pop();
      continue;
    }
    const child = top.nodes[top.next++]!;
    if ((++count & 255) === 0) signal?.throwIfAborted();
    const name = child.components[child.components.length - 1]!;
    const sub = top.sub === '' ? name : `${top.sub}/${name}`;
    yield entryOf(sub, child);
    if (child.kind === 'directory') frames.push({ sub, nodes: stack.list(child), next: 0 });
  }
}
