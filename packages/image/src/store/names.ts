import { familiarReference, parseReference, withDefaultTag, type ImageReference } from '@tsbuild/oci';

/**
 * The name an image is stored under: the familiar form of the normalised reference with its tag, e.g. `app:1`,
 * `busybox:latest`, `localhost:5000/app:1`. It is what `org.opencontainers.image.ref.name` holds in the store's
 * `index.json`, so `skopeo copy oci:$ROOT/oci:app:1 ...` finds it.
 * @throws InvalidReferenceError for an invalid reference or one that names a digest.
 */
export function storeName(input: string | ImageReference): string {
  const ref = typeof input === 'string' ? parseReference(input) : input;
  const tagged = withDefaultTag(ref);
  return familiarReference({ domain: tagged.domain, path: tagged.path, ...(tagged.tag !== undefined ? { tag: tagged.tag } : {}) });
}

/** The fully qualified form of a store name, as containerd's `io.containerd.image.name` holds it: `docker.io/library/app:1`. */
export function fullReferenceName(name: string): string {
  const ref = withDefaultTag(parseReference(name));
  return `${ref.domain}/${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ''}`;
}

/** Splits a stored name into repository and tag, as `docker images` shows them. */
export function splitStoreName(name: string): { repository: string; tag: string } {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repository: name, tag: '' };
}
