import { lstatSync } from 'node:fs';
import { getXattr, xattrErrorCode } from '../xattrs.js';

const S_ISGID = 0o2000;
const DEFAULT_ACL = 'system.posix_acl_default';

/**
 * Knows which directories are "plain": a file created in one gets exactly the owner (the process's user and
 * group) and permission bits (those asked for, less the umask) its creator asks for. A directory is not plain if
 * it is setgid (new files take its group) or carries a default POSIX ACL (which replaces the umask). Lets the
 * applier skip `fchown` and `fchmod` for files it has just created when they would change nothing.
 *
 * Each directory is looked at once (`lstat` and one `getxattr`) and the answer kept: call {@link forget} when a
 * directory's mode bits or ACL change, or it is removed or replaced.
 */
export class PlainDirectories {
  private readonly known = new Map<string, boolean>();

  /** Whether `dir` (a real path: no symlinks in it) is a plain directory. Anything unclear counts as not plain. */
  isPlain(dir: string): boolean {
    let plain = this.known.get(dir);
    if (plain === undefined) {
      plain = inspect(dir);
      this.known.set(dir, plain);
    }
    return plain;
  }

  /** Forgets what is known about `dir`. */
  forget(dir: string): void {
    this.known.delete(dir);
  }

  /** Forgets everything. */
  clear(): void {
    this.known.clear();
  }
}

function inspect(dir: string): boolean {
  try {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || (stat.mode & S_ISGID) !== 0) return false;
  } catch {
    return false;
  }
  try {
    return getXattr(dir, DEFAULT_ACL) === undefined;
  } catch (error) {
    return xattrErrorCode(error) === 'EOPNOTSUPP'; // no ACLs on this filesystem
  }
}
