import { InvalidReferenceError } from './errors.js';

/**
 * An image reference split into its parts, normalised the way Docker does it: `busybox` is
 * `docker.io/library/busybox`. A reference may name a tag, a digest, both, or neither.
 */
export interface ImageReference {
  /** The registry host and optional port, e.g. `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** The repository path inside the registry, e.g. `library/busybox`, `a/b`. */
  readonly path: string;
  /** The tag, if the reference names one. */
  readonly tag?: string;
  /** The manifest digest, if the reference names one. */
  readonly digest?: string;
}

/** The default registry for names without a domain. */
export const DEFAULT_DOMAIN = 'docker.io';
/** The namespace Docker Hub puts one-component names in. */
export const OFFICIAL_NAMESPACE = 'library';
/** The tag a reference without tag and digest means. */
export const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const MAX_NAME_LENGTH = 255;

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const PATH_RE = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const HEX64_RE = /^[a-f0-9]{64}$/;
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

function fail(input: string, why: string): never {
  throw new InvalidReferenceError(`invalid reference "${input}": ${why}`);
}

function checkDigest(input: string, digest: string): void {
  if (!DIGEST_RE.test(digest)) fail(input, `"${digest}" is not a valid digest`);
  const [algorithm, hex] = digest.split(':') as [string, string];
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) fail(input, `unsupported digest algorithm "${algorithm}"`);
  if (hex.length !== length || hex !== hex.toLowerCase()) {
    fail(input, `a ${algorithm} digest has ${length} lowercase hex digits`);
  }
}

/** Splits `name` into domain and path the way Docker does (the first component is a domain if it looks like one). */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `${OFFICIAL_NAMESPACE}/${path}`;
  return [domain, path];
}

/**
 * Parses an image reference as docker/distribution defines it and normalises it: `busybox` becomes
 * `docker.io/library/busybox`, `index.docker.io` becomes `docker.io`. No default tag is added (see
 * {@link withDefaultTag}).
 * @throws InvalidReferenceError with the reason (uppercase repository, empty tag, bad digest, ...).
 */
export function parseReference(input: string): ImageReference {
  if (input.length === 0) fail(input, 'empty reference');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigest(input, digest);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1 && colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag.length === 0) fail(input, 'empty tag');
    if (!TAG_RE.test(tag)) fail(input, `invalid tag "${tag}" (letters, digits, _ . -, up to 128, not starting with . or -)`);
  }
  if (rest.length === 0) fail(input, 'empty repository name');
  if (HEX64_RE.test(rest)) fail(input, 'a 64-character hexadecimal string is an image ID, not a repository name');
  const [domain, path] = splitDomain(rest);
  if (!DOMAIN_RE.test(domain)) fail(input, `invalid registry host "${domain}"`);
  if (!PATH_RE.test(path)) {
    if (PATH_RE.test(path.toLowerCase())) fail(input, 'repository name must be lowercase');
    fail(input, `invalid repository name "${rest}"`);
  }
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) fail(input, `repository name is longer than ${MAX_NAME_LENGTH} characters`);
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Whether `input` parses as an image reference. */
export function isReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}

/** The reference with tag `latest` when it names neither tag nor digest. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** `domain/path`, e.g. `docker.io/library/busybox`. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The repository as Docker shows it: `busybox`, `user/app`, `localhost:5000/app`. */
export function familiarRepositoryName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  const officialPrefix = `${OFFICIAL_NAMESPACE}/`;
  if (ref.path.startsWith(officialPrefix) && !ref.path.slice(officialPrefix.length).includes('/')) {
    return ref.path.slice(officialPrefix.length);
  }
  return ref.path;
}

function suffix(ref: ImageReference): string {
  return `${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The fully qualified reference, e.g. `docker.io/library/busybox:latest`. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${suffix(ref)}`;
}

/** The reference as Docker shows it, e.g. `busybox:latest`, `localhost:5000/app:1`. */
export function familiarReference(ref: ImageReference): string {
  return `${familiarRepositoryName(ref)}${suffix(ref)}`;
}
