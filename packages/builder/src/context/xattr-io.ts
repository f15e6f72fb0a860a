import { isOpaqueDirectory, isOverlayXattr, readXattrs, setXattr } from '@tsbuild/layers';

/**
 * Extended attribute access for COPY and for reading overlay opaque marks, as an interface so tests can count or
 * replace it. The default is `@tsbuild/layers`' access (l*xattr calls: symlinks are never followed).
 */
export interface XattrIo {
  /** Every attribute of a path (not following a symlink); empty where the filesystem has none. */
  read(path: string): Map<string, Buffer>;
  /** Sets one attribute on a path (not following a symlink). */
  write(path: string, name: string, value: Uint8Array): void;
  /** Whether a directory carries the overlay opaque mark (`trusted.overlay.opaque=y` or `user.overlay.opaque=y`). */
  isOpaque(path: string): boolean;
}

/** The {@link XattrIo} of `@tsbuild/layers`. */
export const layersXattrIo: XattrIo = {
  read: (path) => readXattrs(path),
  write: (path, name, value) => setXattr(path, name, value),
  isOpaque: (path) => isOpaqueDirectory(path),
};

export { isOverlayXattr };
