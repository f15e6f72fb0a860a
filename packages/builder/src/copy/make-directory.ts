import { cleanContainerPath } from '../context/layer-stack.js';
import { layersXattrIo, type XattrIo } from '../context/xattr-io.js';
import { CopyError } from './errors.js';
import { UpperWriter } from './upper-writer.js';

/** Options of {@link makeDirectoryInUpper}. */
export interface MakeDirectoryOptions {
  /** Absolute container path (e.g. the expanded WORKDIR). */
  path: string;
  /** The image's snapshot dirs, top first. */
  lowerDirs: readonly string[];
  /** A fresh upper dir. */
  upperDir: string;
  /** Owner of the directories created (default root; BuildKit gives WORKDIR's to the current USER). */
  owner?: { uid: number; gid: number };
  /** Their modification time (default: now). */
  timestamp?: Date;
  /** The instruction named in errors (default `WORKDIR`). */
  instruction?: string;
  /** Extended attribute access (default: `@tsbuild/layers`'). */
  xattrs?: XattrIo;
}

/**
 * Makes sure a directory exists in the image (WORKDIR): when the merged view lacks it, it is created in the upper
 * dir (mode 0755), with symlinks on the way resolved inside the image and the lower directories on the way copied
 * up. Returns whether anything was written (false when the directory already exists, even through a symlink).
 * @throws {CopyError} when something on the way is not a directory.
 */
export async function makeDirectoryInUpper(options: MakeDirectoryOptions): Promise<boolean> {
  const instruction = options.instruction ?? 'WORKDIR';
  const writer = new UpperWriter({
    upperDir: options.upperDir,
    lowerDirs: options.lowerDirs,
    xattrs: options.xattrs ?? layersXattrIo,
    overlayXattrNamespace: 'trusted',
    instruction,
  });
  const components = cleanContainerPath(options.path);
  const found = writer.resolve(components, true);
  if (found.node?.kind === 'directory') return false;
  if (found.node !== undefined) {
    throw new CopyError('COPY_DESTINATION', `${instruction} failed: ${options.path} exists and is not a directory`, { path: options.path });
  }
  const { uid, gid } = options.owner ?? { uid: 0, gid: 0 };
  writer.ensureDirectory(components, { uid, gid, mode: 0o755, mtimeMs: options.timestamp?.getTime() ?? Date.now() });
  await writer.finish();
  return true;
}
