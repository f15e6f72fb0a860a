import { sha256Digest, type Digest } from '@tsbuild/oci';

/**
 * The chain IDs of a list of diffIDs (image-spec `config.md`): the first is the first diffID, each next one is
 * `sha256(previous + " " + diffID)`. A chain ID names a layer *together with everything below it*, so it names an
 * extracted snapshot unambiguously.
 */
export function chainIDs(diffIDs: readonly Digest[]): Digest[] {
  const ids: Digest[] = [];
  for (const diffID of diffIDs) {
    const previous = ids.at(-1);
    ids.push(previous === undefined ? diffID : sha256Digest(`${previous} ${diffID}`));
  }
  return ids;
}
