/**
 * The build context and the filesystems COPY/ADD read from.
 *
 * - {@link openBuildContext}: a context directory read in place, filtered by `.dockerignore` (or
 *   `<Dockerfile>.dockerignore`), with source selection ({@link BuildContext.select}).
 * - {@link ImageFs}: the filesystem of a stage or image from its snapshot dirs (whiteouts, opaque dirs, symlinks
 *   resolved inside the image), for `COPY --from`, destination lookups and `--chown=name`.
 * - {@link checksumSources}: the content checksum of selected sources for the step cache key, backed by a
 *   persistent git-index-like record so a no-op rebuild does not read unchanged files.
 * @packageDocumentation
 */
export { ContextError, type ContextErrorCode } from './errors.js';
export { BuildContext, openBuildContext, type BuildContextOptions, type SelectOptions } from './build-context.js';
export { parseIgnoreRules, loadIgnoreRules, type IgnoreRules } from './dockerignore.js';
export { ImageFs, type ImageFsOptions, type ImageStat } from './image-fs.js';
export { checksumSources, forgetLoadedHashRecords, type ChecksumOptions, type ChecksumResult } from './checksum.js';
export { HashIndex, RACY_WINDOW_MS } from './hash-index.js';
export { hasWildcards, compileComponent } from './wildcard.js';
export { layersXattrIo, isOverlayXattr, type XattrIo } from './xattr-io.js';
export type { RemoteSource, SelectedSource, SourceEntry, SourceEntryType, SourceOrigin } from './source.js';
