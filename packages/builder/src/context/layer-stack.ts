import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { ContextError } from './errors.js';
import { byName, MAX_SYMLINKS } from './source.js';
import { layersXattrIo, type XattrIo } from './xattr-io.js';

export { MAX_SYMLINKS };

/** A directory of the merged view: the layers that contribute to it, top first. */
export interface DirNode {
  readonly kind: 'directory';
  /** Real path components below the image root (no symlinks). */
  readonly components: readonly string[];
  /** Indices (into the stack's dirs) of the layers whose directory merges into this one, top first. */
  readonly layers: readonly number[];
  /** The top-most layer's directory: its metadata is the directory's. */
  readonly layer: number;
  /** `lstat` of the top-most directory. */
  readonly stats: Stats;
  /** Host path of the top-most directory. */
  readonly hostPath: string;
}

/** Anything but a directory in the merged view: it comes from exactly one layer. */
export interface LeafNode {
  readonly kind: 'leaf';
  readonly components: readonly string[];
  readonly layer: number;
  readonly stats: Stats;
  readonly hostPath: string;
}

/** A node of the merged view. */
export type StackNode = DirNode | LeafNode;

/** A container path looked up in the merged view, with the image root as `/`. */
export interface StackResolution {
  /** Real path components (symlinks resolved inside the image); missing components are kept at the end. */
  readonly components: readonly string[];
  /** How many leading components exist. */
  readonly existing: number;
  /** The node of the whole path when it exists (a symlink only when the last one was not to be followed). */
  readonly node: StackNode | undefined;
  /** Directory nodes of the existing prefix: `dirs[i]` is the directory holding `components[i]`. */
  readonly dirs: readonly DirNode[];
  /** Set when an existing component before the last is not a directory. */
  readonly notDirectory: boolean;
}

/** Options of {@link LayerStack}. */
export interface LayerStackOptions {
  /** Reads overlay opaque marks (default: `@tsbuild/layers`). */
  xattrs?: XattrIo;
  /**
   * The first dir is being written by the caller (a COPY's upper dir): its contents are always looked up afresh and
   * its opaque marks are the ones the caller reports with {@link LayerStack.markOpaque}.
   */
  writableTop?: boolean;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Whether `lstat` results are an overlay whiteout (a char device 0/0). */
export function isWhiteout(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0;
}

/** Splits a container path into clean components: `.` dropped, `..` applied, never above the root. */
export function cleanContainerPath(path: string): string[] {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts;
}

/**
 * The merged filesystem of overlay snapshot dirs (top first), read the way overlayfs reads them: the top-most
 * entry of a name wins; a whiteout (char 0/0) hides the name in the layers below; directories merge with the
 * directories of the same name below them, unless one carries the opaque mark, which hides everything below it;
 * a non-directory ends the merge. Lookups resolve symlinks with the image root as `/`: an absolute target starts
 * again at the root and `..` stops there, so nothing outside the snapshot dirs is ever looked at.
 */
export class LayerStack {
  /** Snapshot dirs, top first. */
  readonly dirs: readonly string[];
  private readonly xattrs: XattrIo;
  private readonly writableTop: boolean;
  /** Host path of a directory → whether it is opaque (snapshots never change, so this is never stale). */
  private readonly opaqueKnown = new Map<string, boolean>();
  private rootNode: DirNode | undefined;

  constructor(dirs: readonly string[], options: LayerStackOptions = {}) {
    if (dirs.length === 0) throw new ContextError('IMAGE_PATH', 'an image filesystem needs at least one snapshot dir');
    this.dirs = dirs.map((dir) => dir.replace(/\/+$/, '') || '/');
    this.xattrs = options.xattrs ?? layersXattrIo;
    this.writableTop = options.writableTop ?? false;
  }

  /** Host path of `components` in one layer. */
  hostPath(layer: number, components: readonly string[]): string {
    const dir = this.dirs[layer]!;
    return components.length === 0 ? dir : `${dir}/${components.join('/')}`;
  }

  /** The root directory of the merged view. */
  root(): DirNode {
    if (this.rootNode !== undefined && !this.writableTop) return this.rootNode;
    const layers = this.truncateAtOpaque(
      this.dirs.map((_, i) => i),
      [],
    );
    const top = layers[0]!;
    this.rootNode = { kind: 'directory', components: [], layers, layer: top, stats: lstatSync(this.dirs[top]!), hostPath: this.dirs[top]! };
    return this.rootNode;
  }

  /** Records the opaque mark of a directory of the writable top layer (which is never read back). */
  markOpaque(hostPath: string, opaque: boolean): void {
    this.opaqueKnown.set(hostPath, opaque);
  }

  /** Keeps the layers of a directory down to (and including) the first one whose directory is opaque. */
  private truncateAtOpaque(layers: readonly number[], components: readonly string[]): number[] {
    // The opaque mark of the last directory hides nothing, and the writable top's marks are the caller's.
    for (let i = 0; i < layers.length - 1; i++) {
      const layer = layers[i]!;
      const host = this.hostPath(layer, components);
      let opaque = this.opaqueKnown.get(host);
      if (opaque === undefined) {
        opaque = this.writableTop && layer === 0 ? false : this.xattrs.isOpaque(host);
        this.opaqueKnown.set(host, opaque);
      }
      if (opaque) return layers.slice(0, i + 1);
    }
    return [...layers];
  }

  /** The entry `name` of a merged directory, or undefined when no layer has it (or a whiteout hides it). */
  child(dir: DirNode, name: string): StackNode | undefined {
    const components = [...dir.components, name];
    const dirLayers: number[] = [];
    let top: Stats | undefined;
    for (const layer of dir.layers) {
      const host = this.hostPath(layer, components);
      const stats = lstatOrUndefined(host);
      if (stats === undefined) continue;
      if (isWhiteout(stats)) break;
      if (!stats.isDirectory()) {
        if (dirLayers.length === 0) return { kind: 'leaf', components, layer, stats, hostPath: host };
        break;
      }
      dirLayers.push(layer);
      top ??= stats;
    }
    if (top === undefined) return undefined;
    const layers = this.truncateAtOpaque(dirLayers, components);
    return { kind: 'directory', components, layers, layer: layers[0]!, stats: top, hostPath: this.hostPath(layers[0]!, components) };
  }

  /** The names of a merged directory, in byte order, without whiteouts and what they hide. */
  names(dir: DirNode): string[] {
    const seen = new Set<string>();
    const names: string[] = [];
    for (const layer of dir.layers) {
      const host = this.hostPath(layer, dir.components);
      for (const dirent of readdirSync(host, { withFileTypes: true })) {
        if (seen.has(dirent.name)) continue;
        seen.add(dirent.name);
        if (dirent.isCharacterDevice()) {
          const stats = lstatOrUndefined(`${host}/${dirent.name}`);
          if (stats !== undefined && isWhiteout(stats)) continue;
        }
        names.push(dirent.name);
      }
    }
    return names.sort(byName);
  }

  /** The entries of a merged directory, in byte order. */
  list(dir: DirNode): StackNode[] {
    const nodes: StackNode[] = [];
    for (const name of this.names(dir)) {
      const node = this.child(dir, name);
      if (node !== undefined) nodes.push(node);
    }
    return nodes;
  }

  /**
   * Looks a container path up. `..` is applied lexically first (never above the root); then each component is
   * looked up, and symlinks are followed with the image root as `/` — the last one only when `followFinal` is set.
   * Missing components are kept so a caller can create them. With a `floor` (an existing directory, as resolved
   * before), the path is relative to it and the floor acts as the root: absolute symlink targets start again at
   * it and `..` stops at it (how ADD extracts an archive into its destination).
   * @throws {ContextError} `IMAGE_PATH` when symlinks loop.
   */
  resolve(path: string | readonly string[], followFinal: boolean, floor?: StackResolution): StackResolution {
    let pending = typeof path === 'string' ? cleanContainerPath(path) : [...path];
    const base = floor?.components ?? [];
    const baseDirs = floor?.dirs ?? [this.root()];
    if (floor !== undefined && (floor.node?.kind !== 'directory' || floor.existing !== base.length)) {
      throw new ContextError('IMAGE_PATH', `/${base.join('/')} is not an existing directory`);
    }
    const resolved: string[] = [...base];
    const dirs: DirNode[] = [...baseDirs];
    let existing = resolved.length;
    let node: StackNode | undefined = dirs[existing];
    let links = 0;
    while (pending.length > 0) {
      const [name, ...rest] = pending as [string, ...string[]];
      pending = rest;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        if (resolved.length > base.length) resolved.pop();
        if (existing > resolved.length) {
          existing = resolved.length;
          dirs.length = existing + 1;
        }
        node = existing === resolved.length ? dirs[existing] : undefined;
        continue;
      }
      if (existing < resolved.length) {
        resolved.push(name);
        node = undefined;
        continue;
      }
      const parent = dirs[existing]!;
      const found = this.child(parent, name);
      if (found === undefined) {
        resolved.push(name);
        node = undefined;
        continue;
      }
      const isLast = pending.every((part) => part === '' || part === '.');
      if (found.kind === 'leaf' && found.stats.isSymbolicLink() && (!isLast || followFinal)) {
        if (++links > MAX_SYMLINKS) {
          throw new ContextError('IMAGE_PATH', `too many levels of symbolic links in ${typeof path === 'string' ? path : `/${path.join('/')}`}`);
        }
        const target = readlinkSync(found.hostPath);
        if (target.startsWith('/')) {
          resolved.length = base.length;
          existing = base.length;
          dirs.length = base.length + 1;
        }
        pending = [...target.split('/'), ...pending];
        node = existing === resolved.length ? dirs[existing] : undefined;
        continue;
      }
      resolved.push(name);
      existing++;
      node = found;
      if (found.kind === 'directory') dirs.push(found);
      else if (!isLast) {
        return { components: resolved, existing, node: undefined, dirs, notDirectory: true };
      }
    }
    const whole = existing === resolved.length;
    return { components: resolved, existing, node: whole ? node : undefined, dirs, notDirectory: false };
  }
}
