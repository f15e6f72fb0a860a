import { storeName } from '../store/names.js';
import { CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION } from '../layout/oci-layout.js';

/**
 * The store name an OCI index descriptor's annotations give an image: containerd's/Docker's full name if present,
 * else `org.opencontainers.image.ref.name` read as a reference (`app:1`, `busybox` → `busybox:latest`). A
 * ref name that is not a valid reference gives no name.
 */
export function nameFromAnnotations(annotations: Record<string, string> | undefined): string | undefined {
  const candidates = [annotations?.[CONTAINERD_NAME_ANNOTATION], annotations?.[REF_NAME_ANNOTATION]];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      return storeName(candidate);
    } catch {
      // not a reference (e.g. a bare tag): try the next one
    }
  }
  return undefined;
}
