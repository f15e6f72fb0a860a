import {
  formatPlatform,
  hostPlatform,
  isDigest,
  MANIFEST_MEDIA_TYPES,
  normalizePlatform,
  parseManifest,
  parsePlatform,
  parseReference,
  platformMatches,
  SizeMismatchError,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type ImageReference,
  type Platform,
} from '@tsbuild/oci';
import type { CallOptions, FetchedManifest, RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

/** Options of {@link resolveImage}. */
export interface ResolveImageOptions extends CallOptions {
  /** The platform to pick from an index (`linux/arm64` or a {@link Platform}); default the host's. */
  platform?: Platform | string;
}

/** A reference resolved to one image manifest (and the index it was picked from, if any). */
export interface ResolvedImage {
  /** The repository inside the registry, e.g. `library/busybox`. */
  repository: string;
  /** The tag or digest that was asked for. */
  reference: string;
  /** The image manifest, exact bytes. */
  manifest: FetchedManifest;
  /** The image manifest, parsed. */
  parsed: ImageManifest;
  /** The index or manifest list the reference named, when it named one. */
  index?: FetchedManifest & { parsed: ImageIndex };
  /** The platform the manifest was picked for, when it came from an index. */
  platform?: Platform;
}

function descriptorPlatform(descriptor: Descriptor): Platform | undefined {
  const platform = descriptor.platform;
  if (!platform) return undefined;
  return normalizePlatform({ os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) });
}

/**
 * Picks the manifest for `platform` from an index. Entries that are not image manifests, or have no platform, are
 * skipped (attestations use `unknown/unknown`).
 * @returns the descriptor, or undefined with none matching.
 */
export function selectPlatformManifest(index: ImageIndex, platform: Platform): Descriptor | undefined {
  return index.manifests.find((descriptor) => {
    const candidate = descriptorPlatform(descriptor);
    return candidate !== undefined && MANIFEST_MEDIA_TYPES.includes(descriptor.mediaType) && platformMatches(platform, candidate);
  });
}

/** The platforms an index offers, as `os/arch[/variant]`, attestation entries left out. */
export function indexPlatforms(index: ImageIndex): string[] {
  const names = index.manifests
    .map(descriptorPlatform)
    .filter((platform): platform is Platform => platform !== undefined && platform.os !== 'unknown')
    .map(formatPlatform);
  return [...new Set(names)];
}

/**
 * Resolves a reference (tag or digest) to an image manifest: fetches it, and when it is an index or manifest list,
 * picks the manifest for the platform (default the host's) and fetches that.
 * @throws RegistryError PLATFORM_NOT_FOUND listing the platforms the index has; MANIFEST_UNKNOWN; ...
 */
export async function resolveImage(client: RegistryClient, ref: ImageReference | string, options: ResolveImageOptions = {}): Promise<ResolvedImage> {
  const reference = typeof ref === 'string' ? parseReference(ref) : ref;
  if (reference.domain !== client.registry) {
    throw new RegistryError('PROTOCOL', `reference ${reference.domain}/${reference.path} is not on registry ${client.registry}`, { registry: client.registry });
  }
  const repository = reference.path;
  const tagOrDigest = reference.digest ?? reference.tag ?? 'latest';
  const name = `${client.registry}/${repository}${isDigest(tagOrDigest) ? '@' : ':'}${tagOrDigest}`;
  const call = options.signal ? { signal: options.signal } : {};
  const top = await client.getManifest(repository, tagOrDigest, call);
  const parsedTop = parseManifest(top.bytes, top.mediaType, `manifest ${name}`);
  if (parsedTop.kind === 'manifest') {
    return { repository, reference: tagOrDigest, manifest: top, parsed: parsedTop.manifest };
  }
  const wanted = options.platform === undefined ? hostPlatform() : typeof options.platform === 'string' ? parsePlatform(options.platform) : normalizePlatform(options.platform);
  const descriptor = selectPlatformManifest(parsedTop.index, wanted);
  if (descriptor === undefined) {
    const available = indexPlatforms(parsedTop.index);
    throw new RegistryError(
      'PLATFORM_NOT_FOUND',
      `no image for ${formatPlatform(wanted)} in ${name}; it has ${available.length > 0 ? available.join(', ') : 'no platform-specific images'} (choose one with --platform)`,
      { registry: client.registry, repository },
    );
  }
  const child = await client.getManifest(repository, descriptor.digest, call);
  if (child.bytes.length !== descriptor.size) throw new SizeMismatchError(`manifest ${client.registry}/${repository}@${descriptor.digest}`, descriptor.size, child.bytes.length);
  const parsedChild = parseManifest(child.bytes, descriptor.mediaType, `manifest ${client.registry}/${repository}@${descriptor.digest}`);
  if (parsedChild.kind !== 'manifest') {
    throw new RegistryError('PROTOCOL', `${name}: the entry for ${formatPlatform(wanted)} is itself an index, which is not supported`, { registry: client.registry, repository });
  }
  return {
    repository,
    reference: tagOrDigest,
    manifest: child,
    parsed: parsedChild.manifest,
    index: { ...top, parsed: parsedTop.index },
    platform: descriptorPlatform(descriptor) ?? wanted,
  };
}
