/**
 * Structural checks with the same rules as the zod schemas in `schemas.ts`, for documents parsed from JSON. They
 * answer "valid" without loading zod (which costs ~60 ms at start-up); when one says "invalid", zod is asked, for
 * its precise error. `schemas.test.ts` checks both agree on valid, broken and randomly mutated documents.
 */

type Check = (value: unknown) => boolean;

const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString: Check = (value) => typeof value === 'string';
const isDigest: Check = (value) => typeof value === 'string' && DIGEST_RE.test(value);
const isNumber: Check = (value) => typeof value === 'number' && Number.isFinite(value);
const isBoolean: Check = (value) => typeof value === 'boolean';
const arrayOf = (check: Check): Check => (value) => Array.isArray(value) && value.every(check);
const recordOf = (check: Check): Check => (value) => isObject(value) && Object.values(value).every(check);
const optional = (check: Check): Check => (value) => value === undefined || check(value);
const nullish = (check: Check): Check => (value) => value === undefined || value === null || check(value);

/** An object whose listed fields pass their checks (other fields are kept and not checked, like `looseObject`). */
const looseObject =
  (fields: Record<string, Check>): Check =>
  (value) => {
    if (!isObject(value)) return false;
    for (const [name, check] of Object.entries(fields)) if (!check(value[name])) return false;
    return true;
  };

const isPlatform = looseObject({
  architecture: isString,
  os: isString,
  'os.version': optional(isString),
  'os.features': optional(arrayOf(isString)),
  variant: optional(isString),
  features: optional(arrayOf(isString)),
});

const isAnnotations = recordOf(isString);

const isDescriptor = looseObject({
  mediaType: isString,
  digest: isDigest,
  size: (value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0,
  urls: optional(arrayOf(isString)),
  annotations: optional(isAnnotations),
  data: optional(isString),
  platform: optional(isPlatform),
  artifactType: optional(isString),
});

const isImageManifest = looseObject({
  schemaVersion: (value) => value === 2,
  mediaType: optional(isString),
  artifactType: optional(isString),
  config: isDescriptor,
  layers: arrayOf(isDescriptor),
  subject: optional(isDescriptor),
  annotations: optional(isAnnotations),
});

const isImageIndex = looseObject({
  schemaVersion: (value) => value === 2,
  mediaType: optional(isString),
  artifactType: optional(isString),
  manifests: arrayOf(isDescriptor),
  subject: optional(isDescriptor),
  annotations: optional(isAnnotations),
});

const isHealthcheck = looseObject({
  Test: optional(arrayOf(isString)),
  Interval: optional(isNumber),
  Timeout: optional(isNumber),
  StartPeriod: optional(isNumber),
  StartInterval: optional(isNumber),
  Retries: optional(isNumber),
});

const isEmptyObjectMap = recordOf(isObject);

const isContainerConfig = looseObject({
  User: optional(isString),
  ExposedPorts: nullish(isEmptyObjectMap),
  Env: nullish(arrayOf(isString)),
  Entrypoint: nullish(arrayOf(isString)),
  Cmd: nullish(arrayOf(isString)),
  Volumes: nullish(isEmptyObjectMap),
  WorkingDir: optional(isString),
  Labels: nullish(recordOf(isString)),
  StopSignal: optional(isString),
  ArgsEscaped: optional(isBoolean),
  Healthcheck: nullish(isHealthcheck),
  OnBuild: nullish(arrayOf(isString)),
  Shell: nullish(arrayOf(isString)),
});

const isHistory = looseObject({
  created: optional(isString),
  created_by: optional(isString),
  author: optional(isString),
  comment: optional(isString),
  empty_layer: optional(isBoolean),
});

const isImageConfig = looseObject({
  created: optional(isString),
  author: optional(isString),
  architecture: isString,
  os: isString,
  'os.version': optional(isString),
  'os.features': optional(arrayOf(isString)),
  variant: optional(isString),
  config: optional(isContainerConfig),
  rootfs: looseObject({ type: isString, diff_ids: arrayOf(isDigest) }),
  history: optional(arrayOf(isHistory)),
});

const isDockerArchiveEntry = looseObject({
  Config: isString,
  RepoTags: nullish(arrayOf(isString)),
  Layers: arrayOf(isString),
  LayerSources: nullish(recordOf(isDescriptor)),
});

/** One check per schema of `schemas.ts`, by the schema's name. */
export const fastChecks = {
  PlatformSchema: isPlatform,
  DescriptorSchema: isDescriptor,
  ImageManifestSchema: isImageManifest,
  ImageIndexSchema: isImageIndex,
  HealthcheckSchema: isHealthcheck,
  ContainerConfigSchema: isContainerConfig,
  HistorySchema: isHistory,
  ImageConfigSchema: isImageConfig,
  OciLayoutSchema: looseObject({ imageLayoutVersion: isString }),
  DockerArchiveEntrySchema: isDockerArchiveEntry,
  DockerArchiveManifestSchema: arrayOf(isDockerArchiveEntry),
} satisfies Record<string, Check>;
