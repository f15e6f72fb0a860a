import { createRequire } from 'node:module';
import type * as zod from 'zod';
import { fastChecks } from './fast-checks.js';

/**
 * zod schemas for the OCI image-spec and Docker Image Manifest V2 Schema 2 documents. Every object schema is loose:
 * unknown fields are kept, so a document can be validated without losing anything. Never re-serialise a parsed
 * manifest to compute its digest: keep the bytes it came as.
 *
 * Loading zod costs ~60 ms, most of a cached build's time, so the schemas are built on first need: each exported
 * schema's `safeParse` first runs a structural check of the same rules (`fast-checks.ts`, kept equal to these by a
 * test) and only asks zod — for its precise error — when that check fails.
 */
function defineSchemas(z: typeof zod.z) {
  const digestString = z.string().regex(/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'not a digest');
  const annotations = z.record(z.string(), z.string());

  const PlatformSchema = z.looseObject({
    architecture: z.string(),
    os: z.string(),
    'os.version': z.string().optional(),
    'os.features': z.array(z.string()).optional(),
    variant: z.string().optional(),
    features: z.array(z.string()).optional(),
  });

  const DescriptorSchema = z.looseObject({
    mediaType: z.string(),
    digest: digestString,
    size: z.number().int().nonnegative(),
    urls: z.array(z.string()).optional(),
    annotations: annotations.optional(),
    data: z.string().optional(),
    platform: PlatformSchema.optional(),
    artifactType: z.string().optional(),
  });

  const ImageManifestSchema = z.looseObject({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: z.string().optional(),
    config: DescriptorSchema,
    layers: z.array(DescriptorSchema),
    subject: DescriptorSchema.optional(),
    annotations: annotations.optional(),
  });

  const ImageIndexSchema = z.looseObject({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: z.string().optional(),
    manifests: z.array(DescriptorSchema),
    subject: DescriptorSchema.optional(),
    annotations: annotations.optional(),
  });

  const HealthcheckSchema = z.looseObject({
    Test: z.array(z.string()).optional(),
    Interval: z.number().optional(),
    Timeout: z.number().optional(),
    StartPeriod: z.number().optional(),
    StartInterval: z.number().optional(),
    Retries: z.number().optional(),
  });

  const emptyObjectMap = z.record(z.string(), z.looseObject({}));

  const ContainerConfigSchema = z.looseObject({
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

  const HistorySchema = z.looseObject({
    created: z.string().optional(),
    created_by: z.string().optional(),
    author: z.string().optional(),
    comment: z.string().optional(),
    empty_layer: z.boolean().optional(),
  });

  const ImageConfigSchema = z.looseObject({
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

  const OciLayoutSchema = z.looseObject({ imageLayoutVersion: z.string() });

  const DockerArchiveEntrySchema = z.looseObject({
    Config: z.string(),
    RepoTags: z.array(z.string()).nullish(),
    Layers: z.array(z.string()),
    LayerSources: z.record(z.string(), DescriptorSchema).nullish(),
  });

  const DockerArchiveManifestSchema = z.array(DockerArchiveEntrySchema);

  return {
    PlatformSchema,
    DescriptorSchema,
    ImageManifestSchema,
    ImageIndexSchema,
    HealthcheckSchema,
    ContainerConfigSchema,
    HistorySchema,
    ImageConfigSchema,
    OciLayoutSchema,
    DockerArchiveEntrySchema,
    DockerArchiveManifestSchema,
  };
}

/** Every schema, by name. */
export type Schemas = ReturnType<typeof defineSchemas>;

let built: Schemas | undefined;

/** The zod schemas themselves (loads zod on first call). */
export function zodSchemas(): Schemas {
  built ??= defineSchemas((createRequire(import.meta.url)('zod') as typeof zod).z);
  return built;
}

/** What an exported schema offers: zod's `safeParse` and `parse`, answered by the fast check when it can. */
export type LazySchema<K extends keyof Schemas> = Pick<Schemas[K], 'safeParse' | 'parse'>;

function lazy<K extends keyof Schemas>(name: K): LazySchema<K> {
  const fast = fastChecks[name];
  const schema = {
    safeParse(value: unknown) {
      if (fast(value)) return { success: true, data: value };
      return zodSchemas()[name].safeParse(value);
    },
    parse(value: unknown) {
      if (fast(value)) return value;
      return zodSchemas()[name].parse(value);
    },
  };
  return schema as unknown as LazySchema<K>;
}

/** `os/architecture[/variant]` as it appears in descriptors and configs. */
export const PlatformSchema = lazy('PlatformSchema');
export type PlatformSpec = zod.z.infer<Schemas['PlatformSchema']>;

/** An OCI content descriptor. */
export const DescriptorSchema = lazy('DescriptorSchema');
export type Descriptor = zod.z.infer<Schemas['DescriptorSchema']>;

/** An OCI image manifest (`application/vnd.oci.image.manifest.v1+json`) or Docker schema 2 manifest. */
export const ImageManifestSchema = lazy('ImageManifestSchema');
export type ImageManifest = zod.z.infer<Schemas['ImageManifestSchema']>;

/** An OCI image index or Docker manifest list. */
export const ImageIndexSchema = lazy('ImageIndexSchema');
export type ImageIndex = zod.z.infer<Schemas['ImageIndexSchema']>;

/** A HEALTHCHECK as stored in an image config (durations in nanoseconds). */
export const HealthcheckSchema = lazy('HealthcheckSchema');
export type Healthcheck = zod.z.infer<Schemas['HealthcheckSchema']>;

/** The execution parameters of an image config (`config` in the OCI config, `container_config` in Docker's). */
export const ContainerConfigSchema = lazy('ContainerConfigSchema');
export type ContainerConfig = zod.z.infer<Schemas['ContainerConfigSchema']>;

/** One entry of an image's history. */
export const HistorySchema = lazy('HistorySchema');
export type History = zod.z.infer<Schemas['HistorySchema']>;

/** An image config (`application/vnd.oci.image.config.v1+json` or Docker's `container.image.v1+json`). */
export const ImageConfigSchema = lazy('ImageConfigSchema');
export type ImageConfig = zod.z.infer<Schemas['ImageConfigSchema']>;

/** The `oci-layout` file of an OCI image layout. */
export const OciLayoutSchema = lazy('OciLayoutSchema');

/** One entry of a `docker save` archive's `manifest.json`. */
export const DockerArchiveEntrySchema = lazy('DockerArchiveEntrySchema');
export type DockerArchiveEntry = zod.z.infer<Schemas['DockerArchiveEntrySchema']>;

/** A `docker save` archive's `manifest.json`. */
export const DockerArchiveManifestSchema = lazy('DockerArchiveManifestSchema');
