/** Media types of the OCI image-spec and of Docker's Image Manifest V2, Schema 2. */
export const MediaType = {
  ociDescriptor: 'application/vnd.oci.descriptor.v1+json',
  ociLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** One of the media types in {@link MediaType}. */
export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType];

/** How a layer blob is compressed. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** Media types of single-image manifests. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];

/** Media types of multi-platform indexes (manifest lists). */
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];

/** Media types of image configs. */
export const CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.ociConfig, MediaType.dockerConfig];

const LAYER_COMPRESSION: Readonly<Record<string, Compression>> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.ociLayerNondistributable]: 'none',
  [MediaType.ociLayerNondistributableGzip]: 'gzip',
  [MediaType.ociLayerNondistributableZstd]: 'zstd',
  [MediaType.dockerLayerGzip]: 'gzip',
  [MediaType.dockerLayer]: 'none',
  [MediaType.dockerForeignLayerGzip]: 'gzip',
};

/** Whether `mediaType` is a layer media type tsbuild knows (OCI or Docker, any compression). */
export function isLayerMediaType(mediaType: string): boolean {
  return mediaType in LAYER_COMPRESSION;
}

/**
 * The compression a layer media type declares, or `undefined` for a media type that is not a known layer type.
 * Docker's `rootfs.diff.tar.gzip` is sometimes used for uncompressed data; readers should sniff magic bytes.
 */
export function layerCompression(mediaType: string): Compression | undefined {
  return LAYER_COMPRESSION[mediaType];
}

/** The layer media type to write for a compression, in OCI or Docker flavour. */
export function layerMediaType(compression: Compression, flavour: 'oci' | 'docker' = 'oci'): string {
  if (flavour === 'docker') {
    if (compression === 'zstd') return MediaType.ociLayerZstd; // Docker has no zstd type; its engine accepts OCI's.
    return compression === 'gzip' ? MediaType.dockerLayerGzip : MediaType.dockerLayer;
  }
  if (compression === 'gzip') return MediaType.ociLayerGzip;
  if (compression === 'zstd') return MediaType.ociLayerZstd;
  return MediaType.ociLayer;
}
