import type { Descriptor } from '@tsbuild/oci';

/** One image of an `index.json`: its manifest descriptor and every name its entries give it. */
export interface IndexImage {
  readonly descriptor: Descriptor;
  readonly names: string[];
}

/**
 * Groups the entries of an image index by manifest digest: an OCI layout names an image once per entry (one per
 * `org.opencontainers.image.ref.name`), and an entry without a name is a dangling image. `nameOf` reads an entry's
 * name (or undefined).
 */
export function groupIndexEntries(manifests: readonly Descriptor[], nameOf: (descriptor: Descriptor) => string | undefined): IndexImage[] {
  const byDigest = new Map<string, IndexImage>();
  for (const descriptor of manifests) {
    const entry = byDigest.get(descriptor.digest) ?? { descriptor, names: [] };
    const name = nameOf(descriptor);
    if (name !== undefined && !entry.names.includes(name)) entry.names.push(name);
    byDigest.set(descriptor.digest, entry);
  }
  return [...byDigest.values()];
}
