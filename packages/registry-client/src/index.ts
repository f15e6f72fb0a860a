/**
 * `@tsbuild/registry-client`: an OCI distribution-spec client. Manifests and blobs by repository, streamed and
 * verified; anonymous, Basic and Bearer-token auth with credentials from `--creds`, auth files and credential helpers;
 * retries with backoff; cross-repository mounts; `login`/`logout`; and {@link resolveImage} to pick a platform.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './challenge.js';
export * from './retry.js';
export * from './scope.js';
export * from './registry-host.js';
export * from './credentials.js';
export * from './auth-store.js';
export * from './tls.js';
export { RegistryClient, MANIFEST_ACCEPT } from './client.js';
export type {
  RegistryClientOptions,
  BlobProgress,
  CallOptions,
  BlobTransferOptions,
  UploadBlobOptions,
  UploadResult,
  BlobDescriptor,
  FetchedManifest,
  ManifestHead,
} from './client.js';
export type { BlobFetcher, BlobFetchRequest, BlobFetchResult, BlobBodyEnd } from './blob-fetch.js';
export type { DispatcherProfile } from './session.js';
export * from './resolve.js';
export * from './login.js';
