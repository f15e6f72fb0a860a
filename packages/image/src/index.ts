/**
 * `@tsbuild/image`: the image model, the places images live (the local store, OCI layouts, `docker save` and
 * OCI archives) as transports, and `copyImage` between them.
 *
 * ```ts
 * import { ImageStore, loadArchive, saveImages } from '@tsbuild/image';
 * const store = await ImageStore.open('/tmp/store');
 * const loaded = await loadArchive(store, 'busybox.tar');
 * await saveImages(store, ['busybox:latest'], 'out.tar', { format: 'oci-archive' });
 * ```
 * @packageDocumentation
 */
export * from './errors.js';
export * from './model.js';
export * from './copy.js';
export * from './archive-io.js';
export * from './registry-io.js';
export { OciLayout, REF_NAME_ANNOTATION, CONTAINERD_NAME_ANNOTATION, type OpenBlobOptions } from './layout/oci-layout.js';
export { ImageStore, defaultStoreRoot, type PruneOptions, type StoredImage } from './store/store.js';
export { storeName, splitStoreName, fullReferenceName } from './store/names.js';
export { acquireLock, withLock, type HeldLock, type LockOptions } from './fs/lock.js';
export { writeFileAtomic, tempName } from './fs/atomic.js';
export { removeStaleTemporaries, processAlive } from './store/temporaries.js';
export { StoreSource, StoreDestination } from './transport/store.js';
export { OciLayoutSource, OciLayoutDestination } from './transport/oci-layout.js';
export { OciArchiveSource } from './transport/oci-archive-source.js';
export { OciArchiveDestination } from './transport/oci-archive-destination.js';
export { DockerArchiveSource } from './transport/docker-archive-source.js';
export { DockerArchiveDestination } from './transport/docker-archive-destination.js';
export { RegistrySource, RegistryDestination, registryDescription, type RegistrySourceOptions, type RegistryDestinationOptions } from './transport/registry.js';
export { BlobSources, MAX_LOCATIONS_PER_BLOB, type BlobLocation } from './store/blob-sources.js';
export type * from './transport/types.js';
export { checkStore, type CheckReport } from './store/check.js';
export { diskUsage, type DiskUsage, type UsageRow } from './store/disk-usage.js';
export { unpackImage, type UnpackOptions } from './unpack.js';
