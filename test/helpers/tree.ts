import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { listXattrs, getXattr } from '@tsbuild/layers';

/**
 * Describes a directory tree completely, one line per entry: type, mode (with setuid/setgid/sticky), owner, size
 * and content hash, symlink target, device numbers, xattrs (values in hex), and which entries are hardlinks of
 * each other. Two trees are the same when their descriptions are equal. `skip` leaves out paths (and below).
 */
export async function describeTree(root: string, options: { skip?: readonly string[]; mtimes?: boolean } = {}): Promise<string[]> {
  const lines: string[] = [];
  const inodes = new Map<string, string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (options.skip?.includes(path)) continue;
      const full = join(dir, name);
      const info = await lstat(full, { bigint: true });
      const mode = (Number(info.mode) & 0o7777).toString(8).padStart(4, '0');
      const owner = `${info.uid}:${info.gid}`;
      const xattrs = info.isSymbolicLink()
        ? ''
        : listXattrs(full)
            .filter((key) => !key.startsWith('trusted.overlay.') && !key.startsWith('user.overlay.'))
            .sort()
            .map((key) => ` ${key}=${getXattr(full, key)?.toString('hex') ?? ''}`)
            .join('');
      const time = options.mtimes ? ` mtime=${info.mtimeMs}` : '';
      let what: string;
      if (info.isDirectory()) what = 'dir';
      else if (info.isSymbolicLink()) what = `symlink -> ${await readlink(full)}`;
      else if (info.isFile()) {
        const key = `${info.dev}:${info.ino}`;
        const first = info.nlink > 1n ? inodes.get(key) : undefined;
        if (info.nlink > 1n && first === undefined) inodes.set(key, path);
        what = first !== undefined ? `hardlink -> ${first}` : `file ${info.size} ${createHash('sha256').update(await readFile(full)).digest('hex').slice(0, 16)}`;
      } else if (info.isCharacterDevice()) what = `char ${Number(info.rdev >> 8n) & 0xfff}:${Number(info.rdev & 0xffn)}`;
      else if (info.isBlockDevice()) what = `block ${Number(info.rdev >> 8n) & 0xfff}:${Number(info.rdev & 0xffn)}`;
      else if (info.isFIFO()) what = 'fifo';
      else what = 'other';
      lines.push(`${path} ${what} ${info.isSymbolicLink() ? '' : `${mode} `}${owner}${xattrs}${time}`);
      if (info.isDirectory()) await walk(full, path);
    }
  };
  await walk(root, '');
  return lines;
}
