/**
 * The COPY/ADD engine: writes what a COPY or ADD changes into a fresh overlay upper dir (the next layer and
 * snapshot), with docker's semantics for destinations, owners, modes, symlinks, hardlinks, archives and URLs, and
 * without ever writing outside that dir.
 * @packageDocumentation
 */
export { CopyError, type CopyErrorCode } from './errors.js';
export { copyToUpperDir, type CopySource, type CopyToUpperOptions, type UrlSource } from './copy-to-upper.js';
export type { CopyProgress } from './progress.js';
export { copyFileContent } from './entry-writer.js';
export { resolveDestination, type Destination } from './destination.js';
export { makeDirectoryInUpper, type MakeDirectoryOptions } from './make-directory.js';
export { fetchRemoteSource, isRemoteUrl, parseChecksum, remoteFileName, type FetchRemoteOptions } from './remote.js';
export { openArchive, isTarHeader } from './archive.js';
export type { CopyWarning, EntryMeta } from './upper-writer.js';
