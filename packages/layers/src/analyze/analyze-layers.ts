import type { Readable } from 'node:stream';
import type { Digest } from '@tsbuild/oci';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from '../create/tree-entries.js';
import { openUncompressed } from '../compression/streams.js';
import { LayerError } from '../errors.js';
import { readTar, type TarReaderLimits } from '../tar/reader.js';
import { cleanLayerPath } from '../apply/layer-path.js';

/** A layer to analyse: its digest, the step that made it, and a way to read its blob (any compression). */
export interface AnalyzeLayerInput {
  /** The layer's descriptor digest (reported back as is). */
  digest: Digest;
  /** The history `created_by` of the step that made the layer. */
  createdBy?: string;
  /** Opens the layer blob (compressed or not; sniffed). */
  open(): Promise<Readable | AsyncIterable<Uint8Array>>;
}

/** Files and their bytes. */
export interface FileCount {
  /** Non-directory entries. */
  files: number;
  /** Sum of their sizes. */
  bytes: number;
}

/** What one layer does to the image. */
export interface LayerChanges {
  /** Position in the image, 0 for the base layer. */
  index: number;
  /** The layer's digest. */
  digest: Digest;
  /** The step that made it, if known. */
  createdBy?: string;
  /** Tar entries in the layer (whiteouts included). */
  entries: number;
  /** Sum of the sizes of the files in the layer. */
  bytes: number;
  /** Paths the layer adds (not present below). */
  added: FileCount;
  /** Paths the layer replaces (present below); bytes are the new versions'. */
  changed: FileCount;
  /** Paths the layer deletes with whiteouts; bytes are the deleted versions'. */
  removed: FileCount;
  /** Bytes of this layer's files that later layers replace or delete. */
  wastedBytes: number;
}

/** A path whose bytes are carried by the image without being visible in it. */
export interface WastedPath {
  /** The path (no leading `/`). */
  path: string;
  /** Wasted bytes summed over every hidden version of the path. */
  bytes: number;
  /** How many hidden versions the image carries. */
  versions: number;
  /** Indexes of the layers holding those versions. */
  layers: number[];
}

/** The analysis of an image's layers (what `tsbuild analyze` prints). */
export interface LayerAnalysis {
  /** Per layer, base first. */
  layers: LayerChanges[];
  /** Sum of the file bytes of every layer. */
  totalBytes: number;
  /** Bytes of the files visible in the final filesystem. */
  imageBytes: number;
  /** Bytes carried by layers but replaced or deleted by a later one: `totalBytes - imageBytes`. */
  wastedBytes: number;
  /** Share of the layer bytes that are visible, in percent (100 when nothing is wasted or the image is empty). */
  efficiency: number;
  /** The paths wasting the most bytes, largest first. */
  largestWasted: WastedPath[];
}

/** Options of {@link analyzeLayers}. */
export interface AnalyzeOptions {
  /** How many paths {@link LayerAnalysis.largestWasted} lists (default 20). */
  top?: number;
  /** Abort the analysis. */
  signal?: AbortSignal;
  /** Bounds for each layer's tar (see {@link TarReaderLimits}). */
  limits?: TarReaderLimits;
}

/** A node of the merged filesystem as the layers build it. */
interface Node {
  /** Size of the file version present (0 for directories). */
  size: number;
  /** Layer that wrote the present version. */
  layer: number;
  directory: boolean;
  children?: Map<string, Node>;
}

interface PendingEntry {
  parts: string[];
  size: number;
  directory: boolean;
}

class MergedTree {
  readonly root: Node = { size: 0, layer: -1, directory: true, children: new Map() };
  readonly wasted = new Map<string, WastedPath>();

  constructor(private readonly perLayerWaste: number[]) {}

  find(parts: readonly string[]): Node | undefined {
    let node: Node | undefined = this.root;
    for (const part of parts) {
      node = node.children?.get(part);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** Marks every file version in `node`'s subtree as wasted; returns files and bytes. */
  discard(node: Node, path: string, into: FileCount): void {
    if (!node.directory) {
      into.files++;
      into.bytes += node.size;
      this.waste(path, node);
      return;
    }
    if (node.children === undefined) return;
    for (const [name, child] of node.children) this.discard(child, path === '' ? name : `${path}/${name}`, into);
  }

  private waste(path: string, node: Node): void {
    if (node.layer < 0) return;
    this.perLayerWaste[node.layer] = (this.perLayerWaste[node.layer] ?? 0) + node.size;
    const entry = this.wasted.get(path) ?? { path, bytes: 0, versions: 0, layers: [] };
    entry.bytes += node.size;
    entry.versions++;
    entry.layers.push(node.layer);
    this.wasted.set(path, entry);
  }

  /** The directory at `parts`, created (as implied) when missing or replacing a file. */
  directoryAt(parts: readonly string[], layer: number, replaced: FileCount): Node {
    let node = this.root;
    let path = '';
    for (const part of parts) {
      path = path === '' ? part : `${path}/${part}`;
      let child = node.children!.get(part);
      if (child === undefined || !child.directory) {
        if (child !== undefined) this.discard(child, path, replaced);
        child = { size: 0, layer, directory: true, children: new Map() };
        node.children!.set(part, child);
      }
      node = child;
    }
    return node;
  }
}

function sumVisible(node: Node): number {
  if (!node.directory) return node.size;
  let total = 0;
  if (node.children !== undefined) for (const child of node.children.values()) total += sumVisible(child);
  return total;
}

/**
 * Reads every layer of an image (headers only; file data is skipped) and reports, per layer, the files it adds,
 * changes and removes with their bytes, and for the image the bytes wasted by files a later layer replaces or
 * deletes, an efficiency percentage and the largest wasted paths. Whiteouts apply to the layers below only, as the
 * OCI layer format says. A report object: the CLI only formats it.
 */
export async function analyzeLayers(layers: readonly AnalyzeLayerInput[], options: AnalyzeOptions = {}): Promise<LayerAnalysis> {
  const perLayerWaste = layers.map(() => 0);
  const tree = new MergedTree(perLayerWaste);
  const results: LayerChanges[] = [];
  let totalBytes = 0;

  for (const [index, layer] of layers.entries()) {
    options.signal?.throwIfAborted();
    const changes: LayerChanges = {
      index,
      digest: layer.digest,
      ...(layer.createdBy !== undefined ? { createdBy: layer.createdBy } : {}),
      entries: 0,
      bytes: 0,
      added: { files: 0, bytes: 0 },
      changed: { files: 0, bytes: 0 },
      removed: { files: 0, bytes: 0 },
      wastedBytes: 0,
    };
    const whiteouts: string[][] = [];
    const opaques: string[][] = [];
    const additions: PendingEntry[] = [];
    let current: string | undefined;
    try {
      const { stream } = await openUncompressed(await layer.open());
      for await (const entry of readTar(stream, options.limits)) {
        options.signal?.throwIfAborted();
        current = entry.path;
        changes.entries++;
        const parts = cleanLayerPath(entry.path);
        if (parts.length === 0) continue;
        const name = parts[parts.length - 1]!;
        if (name === OPAQUE_WHITEOUT) opaques.push(parts.slice(0, -1));
        else if (name.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) continue;
        else if (name.startsWith(WHITEOUT_PREFIX)) {
          const target = name.slice(WHITEOUT_PREFIX.length);
          if (target === '' || target === '.' || target === '..') throw new LayerError('invalid whiteout name', { entry: entry.path });
          whiteouts.push([...parts.slice(0, -1), target]);
        } else {
          additions.push({ parts, size: entry.size, directory: entry.type === 'directory' });
        }
      }
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') throw error;
      const message = error instanceof Error ? error.message : String(error);
      const where = current !== undefined && !(error instanceof LayerError && error.entry !== undefined) ? `${current}: ` : '';
      throw new LayerError(`layer ${index} (${layer.digest}): ${where}${message}`, { cause: error });
    }

    // Whiteouts hide what the layers below have; this layer's own entries are added after them.
    for (const parts of whiteouts) {
      const parent = tree.find(parts.slice(0, -1));
      const name = parts[parts.length - 1]!;
      const node = parent?.children?.get(name);
      if (parent === undefined || node === undefined) continue;
      tree.discard(node, parts.join('/'), changes.removed);
      parent.children!.delete(name);
    }
    for (const parts of opaques) {
      const dir = tree.find(parts);
      if (dir === undefined || !dir.directory || dir.children === undefined) continue;
      for (const [name, child] of dir.children) tree.discard(child, [...parts, name].join('/'), changes.removed);
      dir.children.clear();
    }
    const replaced: FileCount = { files: 0, bytes: 0 };
    for (const addition of additions) {
      const parent = tree.directoryAt(addition.parts.slice(0, -1), index, replaced);
      const name = addition.parts[addition.parts.length - 1]!;
      const existing = parent.children!.get(name);
      const path = addition.parts.join('/');
      if (addition.directory) {
        if (existing !== undefined && existing.directory) continue;
        if (existing !== undefined) tree.discard(existing, path, replaced);
        parent.children!.set(name, { size: 0, layer: index, directory: true, children: new Map() });
        continue;
      }
      changes.bytes += addition.size;
      totalBytes += addition.size;
      if (existing === undefined) {
        changes.added.files++;
        changes.added.bytes += addition.size;
      } else {
        tree.discard(existing, path, replaced);
        changes.changed.files++;
        changes.changed.bytes += addition.size;
      }
      parent.children!.set(name, { size: addition.size, layer: index, directory: false });
    }
    results.push(changes);
  }

  for (const changes of results) changes.wastedBytes = perLayerWaste[changes.index] ?? 0;
  const imageBytes = sumVisible(tree.root);
  const wastedBytes = totalBytes - imageBytes;
  const top = options.top ?? 20;
  const largestWasted = [...tree.wasted.values()]
    .filter((entry) => entry.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1))
    .slice(0, top);
  return {
    layers: results,
    totalBytes,
    imageBytes,
    wastedBytes,
    efficiency: totalBytes === 0 ? 100 : (imageBytes / totalBytes) * 100,
    largestWasted,
  };
}
