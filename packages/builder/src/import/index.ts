/**
 * `tsbuild import`: a root filesystem (directory or tarball) as a one-layer image.
 * @module
 */
export { importImage, type ImportOptions, type ImportResult } from './import-image.js';
