/**
 * `@tsbuild/oci`: the OCI and Docker image formats as types, with no I/O. Schemas (zod) for descriptors,
 * manifests, indexes and configs; media types; sha256 digests and verifying streams; image references; platforms.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './media-types.js';
export * from './digest.js';
export * from './schemas.js';
export * from './manifest.js';
export * from './reference.js';
export * from './platform.js';
