import { z } from 'zod';

/**
 * zod schemas for the OCI image-spec and Docker Image Manifest V2 Schema 2 documents. Every object schema is loose:
 * unknown fields are kept, so a document can be validated without losing anything. Never re-serialise a parsed
 * manifest to compute its digest: keep the bytes it came as.
 */

const digestString = z.string().regex(/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'not a digest');
const annotations = z.record(z.string(), z.string());

/** `os/architecture[/variant]` as it appears in descriptors and configs. */
export const PlatformSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});
export type PlatformSpec = z.infer<typeof PlatformSchema>;

/** An OCI content descriptor. */
export const DescriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: digestString,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotations.optional(),
  data: z.string().optional(),
  platform: PlatformSchema.optional(),
  artifactType: z.string().optional(),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

/** An OCI image manifest (`application/vnd.oci.image.manifest.v1+json`) or Docker schema 2 manifest. */
export const ImageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: annotations.optional(),
});
export type ImageManifest = z.infer<typeof ImageManifestSchema>;

/** An OCI image index or Docker manifest list. */
export const ImageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: annotations.optional(),
});
export type ImageIndex = z.infer<typeof ImageIndexSchema>;

/** A HEALTHCHECK as stored in an image config (durations in nanoseconds). */
export const HealthcheckSchema = z.looseObject({
  Test: z.array(z.string()).optional(),
  Interval: z.number().optional(),
  Timeout: z.number().optional(),
  StartPeriod: z.number().optional(),
  StartInterval: z.number().optional(),
  Retries: z.number().optional(),
});
export type Healthcheck = z.infer<typeof HealthcheckSchema>;

const emptyObjectMap = z.record(z.string(), z.looseObject({}));

/** The execution parameters of an image config (`config` in the OCI config, `container_config` in Docker's). */
export const ContainerConfigSchema = z.looseObject({
  User: z.string().optional(),
  ExposedPorts: emptyObjectMap.nullish(),
  Env: z.array(z.string()).nullish(),
  Entrypoint: z.array(z.string()).nullish(),
  Cmd: z.array(z.string()).nullish(),
  Volumes: emptyObjectMap.nullish(),
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).nullish(),
  StopSignal: z.string().optional(),
  ArgsEscaped: z.boolean().optional(),
  Healthcheck: HealthcheckSchema.nullish(),
  OnBuild: z.array(z.string()).nullish(),
  Shell: z.array(z.string()).nullish(),
});
export type ContainerConfig = z.infer<typeof ContainerConfigSchema>;

/** One entry of an image's history. */
export const HistorySchema = z.looseObject({
  created: z.string().optional(),
  created_by: z.string().optional(),
  author: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});
export type History = z.infer<typeof HistorySchema>;

/** An image config (`application/vnd.oci.image.config.v1+json` or Docker's `container.image.v1+json`). */
export const ImageConfigSchema = z.looseObject({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  config: ContainerConfigSchema.optional(),
  rootfs: z.looseObject({
    type: z.string(),
    diff_ids: z.array(digestString),
  }),
  history: z.array(HistorySchema).optional(),
});
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

/** The `oci-layout` file of an OCI image layout. */
export const OciLayoutSchema = z.looseObject({ imageLayoutVersion: z.string() });

/** One entry of a `docker save` archive's `manifest.json`. */
export const DockerArchiveEntrySchema = z.looseObject({
  Config: z.string(),
  RepoTags: z.array(z.string()).nullish(),
  Layers: z.array(z.string()),
  LayerSources: z.record(z.string(), DescriptorSchema).nullish(),
});
export type DockerArchiveEntry = z.infer<typeof DockerArchiveEntrySchema>;

/** A `docker save` archive's `manifest.json`. */
export const DockerArchiveManifestSchema = z.array(DockerArchiveEntrySchema);
