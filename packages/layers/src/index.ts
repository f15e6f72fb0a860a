/**
 * `@tsbuild/layers`: the layer engine.
 *
 * - **Create** a layer from a directory ({@link createLayerFromDirectory}), from an overlayfs upper directory
 *   ({@link createLayerFromUpperDir}: whiteouts and opaque directories converted, mount points excluded), or from
 *   entries you write yourself ({@link createLayer}); the tar is hashed (diffID), compressed (gzip on several
 *   cores, zstd, or none) and hashed again (digest) in one streaming pass into any `Writable`.
 * - **Apply** a layer to a directory ({@link applyLayer}) as a flattened rootfs or as an overlay-ready snapshot,
 *   safely: nothing is ever written outside the target.
 * - **Analyse** an image's layers ({@link analyzeLayers}): what each layer adds, changes and removes, and the
 *   bytes wasted.
 * - The tar codec ({@link readTar}, {@link TarWriter}) and compression streams ({@link compressStream},
 *   {@link decompressStream}, {@link openUncompressed}, {@link detectCompression}) these are built on, and
 *   extended-attribute access ({@link readXattrs}, {@link setXattr}, {@link isOpaqueDirectory}) that never follows
 *   symlinks.
 *
 * Errors are {@link LayerError}s naming the entry; progress and warnings arrive through callbacks; every long
 * operation takes an `AbortSignal`.
 * @packageDocumentation
 */
export { LayerError, type LayerWarning, type WarningHandler } from './errors.js';
export * from './tar/index.js';
export * from './compression/index.js';
export {
  createLayer,
  createLayerFromDirectory,
  createLayerFromUpperDir,
  type CreateLayerOptions,
  type DirectoryLayerOptions,
  type LayerProgress,
  type LayerResult,
  type UpperDirLayerOptions,
} from './create/create-layer.js';
export { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, writeTreeEntries, type TreeEntriesOptions } from './create/tree-entries.js';
export { walkTree, type TreeNode, type TreeWalkOptions } from './create/tree-walk.js';
export { applyLayer, type ApplyLayerOptions, type ApplyLayerResult, type ApplyMode } from './apply/apply-layer.js';
export { cleanLayerPath } from './apply/layer-path.js';
export { getXattr, isOpaqueDirectory, isOverlayXattr, listXattrs, readXattrs, setXattr } from './xattrs.js';
export {
  analyzeLayers,
  type AnalyzeLayerInput,
  type AnalyzeOptions,
  type FileCount,
  type LayerAnalysis,
  type LayerChanges,
  type WastedPath,
} from './analyze/analyze-layers.js';
