import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr';

/**
 * Extended attributes through `@napi-rs/xattr` (l*xattr calls: symlinks are never followed). Attributes of the
 * overlay filesystem (`trusted.overlay.*`, `user.overlay.*`) describe how a directory sits in an overlay mount,
 * not the file: they are never written into a layer, and never applied from one.
 */

/** Whether an attribute belongs to overlayfs and must stay out of layers. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** The errno name in an error from the addon (`Operation not supported (os error 95)` → `EOPNOTSUPP`). */
export function xattrErrorCode(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const match = /\(os error (\d+)\)/.exec(message);
  if (match === null) return undefined;
  const code: Record<string, string> = { '1': 'EPERM', '2': 'ENOENT', '13': 'EACCES', '28': 'ENOSPC', '34': 'ERANGE', '61': 'ENODATA', '95': 'EOPNOTSUPP', '7': 'E2BIG' };
  return code[match[1]!] ?? `errno ${match[1]}`;
}

/** Names of the attributes of `path` (not following a symlink); empty where the filesystem has none. */
export function listXattrs(path: string): string[] {
  try {
    return listAttributesSync(path);
  } catch (error) {
    if (xattrErrorCode(error) === 'EOPNOTSUPP') return [];
    throw error;
  }
}

/** One attribute's value, or undefined if it is not set. */
export function getXattr(path: string, name: string): Buffer | undefined {
  try {
    return getAttributeSync(path, name) ?? undefined;
  } catch (error) {
    if (xattrErrorCode(error) === 'ENODATA') return undefined;
    throw error;
  }
}

/** Sets one attribute on `path` (not following a symlink). */
export function setXattr(path: string, name: string, value: Uint8Array): void {
  setAttributeSync(path, name, value);
}

/** Every extended attribute of `path` (not following a symlink), optionally only those `keep` accepts. */
export function readXattrs(path: string, keep: (name: string) => boolean = () => true): Map<string, Buffer> {
  const attrs = new Map<string, Buffer>();
  for (const name of listXattrs(path).sort()) {
    if (!keep(name)) continue;
    const value = getXattr(path, name);
    if (value !== undefined) attrs.set(name, value);
  }
  return attrs;
}

/** Whether a directory carries overlayfs's opaque mark (`trusted.overlay.opaque=y` or `user.overlay.opaque=y`). */
export function isOpaqueDirectory(path: string): boolean {
  for (const name of ['trusted.overlay.opaque', 'user.overlay.opaque']) {
    if (getXattr(path, name)?.toString('latin1') === 'y') return true;
  }
  return false;
}
