import type { z } from 'zod';
import { InvalidManifestError, UnsupportedMediaTypeError } from './errors.js';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from './media-types.js';
import {
  ImageConfigSchema,
  ImageIndexSchema,
  ImageManifestSchema,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from './schemas.js';

/** Manifests larger than this are refused (the distribution spec's suggested limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A parsed single-image manifest together with the media type it was identified as. */
export interface ParsedImageManifest {
  kind: 'manifest';
  mediaType: string;
  manifest: ImageManifest;
}

/** A parsed multi-platform index together with the media type it was identified as. */
export interface ParsedImageIndex {
  kind: 'index';
  mediaType: string;
  index: ImageIndex;
}

/** Either kind of manifest document. */
export type ParsedManifest = ParsedImageManifest | ParsedImageIndex;

/** Image configs larger than this are refused. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

function parseJson(bytes: Uint8Array, what: string, limit: number): unknown {
  if (bytes.length > limit) {
    throw new InvalidManifestError(`${what} is ${bytes.length} bytes, more than the ${limit}-byte limit`);
  }
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (err) {
    throw new InvalidManifestError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function schemaError(what: string, error: z.ZodError): InvalidManifestError {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  return new InvalidManifestError(`${what} is invalid${where}: ${issue?.message ?? 'schema mismatch'}`);
}

/**
 * Parses a manifest or index document. The media type comes from the document's own `mediaType` field, else from
 * `mediaTypeHint` (e.g. an HTTP Content-Type or a descriptor), else from its shape.
 * @throws InvalidManifestError for bad JSON or a schema mismatch; UnsupportedMediaTypeError for other media types.
 */
export function parseManifest(bytes: Uint8Array, mediaTypeHint?: string, what = 'manifest'): ParsedManifest {
  const json = parseJson(bytes, what, MAX_MANIFEST_BYTES);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidManifestError(`${what} is not a JSON object`);
  }
  const record = json as Record<string, unknown>;
  let mediaType = typeof record.mediaType === 'string' ? record.mediaType : undefined;
  if (mediaType === undefined && mediaTypeHint && mediaTypeHint !== 'application/json') mediaType = mediaTypeHint;
  if (mediaType === undefined) {
    if (Array.isArray(record.manifests)) mediaType = MediaType.ociIndex;
    else if (record.config !== undefined && Array.isArray(record.layers)) mediaType = MediaType.ociManifest;
  }
  if (mediaType !== undefined && INDEX_MEDIA_TYPES.includes(mediaType)) {
    const result = ImageIndexSchema.safeParse(json);
    if (!result.success) throw schemaError(what, result.error);
    return { kind: 'index', mediaType, index: result.data };
  }
  if (mediaType !== undefined && MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    const result = ImageManifestSchema.safeParse(json);
    if (!result.success) throw schemaError(what, result.error);
    return { kind: 'manifest', mediaType, manifest: result.data };
  }
  if (record.schemaVersion === 1) {
    throw new UnsupportedMediaTypeError(`${what} uses Docker schema 1, which is not supported`);
  }
  throw new UnsupportedMediaTypeError(`${what} has unsupported media type ${mediaType ?? '(none)'}`);
}

/**
 * Parses and validates an image config.
 * @throws InvalidManifestError for bad JSON or a schema mismatch.
 */
export function parseImageConfig(bytes: Uint8Array, what = 'image config'): ImageConfig {
  const json = parseJson(bytes, what, MAX_CONFIG_BYTES);
  const result = ImageConfigSchema.safeParse(json);
  if (!result.success) throw schemaError(what, result.error);
  return result.data;
}
