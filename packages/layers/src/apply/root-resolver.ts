import { chmodSync, lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { LayerError } from '../errors.js';

const MAX_SYMLINKS = 40;

/** lstat, or undefined when nothing is there (without the cost of an exception). */
function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

/**
 * Resolves directories of a layer inside a target root, the way a chroot would: every component is looked at
 * with `lstat`; a symlink met on the way is read and its target resolved with the root as `/` (an absolute target
 * restarts at the root, `..` stops at the root), so nothing ever leads outside. Results are cached; the cache must
 * be dropped ({@link invalidate}) whenever a directory or symlink inside the root is removed or replaced.
 */
export class RootResolver {
  private readonly root: string;
  /** Literal directory path in the layer → real absolute path. */
  private readonly literal = new Map<string, string>();
  /** Real absolute paths known to be directories. */
  private readonly realDirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Forgets everything cached (after a directory or symlink was removed). */
  invalidate(): void {
    this.literal.clear();
    this.realDirs.clear();
  }

  /** Records that `abs` (inside the root, no symlinks) is now a directory. */
  noteDirectory(abs: string): void {
    this.realDirs.add(abs);
  }

  /** The absolute path of `parts` joined under the root (no resolution). */
  join(dir: string, name: string): string {
    return dir === this.root ? `${this.root}/${name}` : `${dir}/${name}`;
  }

  /**
   * The real absolute path of the directory `parts` (components relative to the root), following symlinks inside
   * the root. Missing directories are created (mode 0755) when `create` is set; otherwise the result is undefined.
   * @throws LayerError when a component is not a directory or symlinks loop.
   */
  resolveDir(parts: readonly string[], create: boolean, entry: string): string | undefined {
    if (parts.length === 0) return this.root;
    const key = parts.join('/');
    const cached = this.literal.get(key);
    if (cached !== undefined) return cached;
    const resolved: string[] = [];
    const queue = [...parts];
    let links = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      resolved.push(part);
      const abs = `${this.root}/${resolved.join('/')}`;
      if (this.realDirs.has(abs)) continue;
      const stat = lstatOrUndefined(abs);
      if (stat === undefined) {
        if (!create) return undefined;
        mkdirSync(abs, 0o755);
        chmodSync(abs, 0o755);
        this.realDirs.add(abs);
        continue;
      }
      if (stat.isDirectory()) {
        this.realDirs.add(abs);
        continue;
      }
      if (stat.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw new LayerError('too many levels of symbolic links in its parent path', { entry });
        const target = readlinkSync(abs);
        resolved.pop();
        if (target.startsWith('/')) resolved.length = 0;
        queue.unshift(...target.split('/'));
        continue;
      }
      throw new LayerError(`parent ${resolved.join('/')} is not a directory`, { entry });
    }
    const real = resolved.length === 0 ? this.root : `${this.root}/${resolved.join('/')}`;
    this.literal.set(key, real);
    return real;
  }
}
