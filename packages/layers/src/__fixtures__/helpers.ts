import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { lchownSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { listXattrs, getXattr, setXattr } from '../xattrs.js';
import { walkTree } from '../create/tree-walk.js';
import { TarWriter } from '../tar/writer.js';
import type { TarHeader } from '../tar/entry.js';

/** A fresh temporary directory; remove it with {@link removeTemp}. */
export function makeTemp(prefix = 'tsbuild-layers-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a temporary directory (unmounting nothing: callers unmount first). */
export function removeTemp(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs a command and returns its stdout; throws with stderr on failure. */
export function run(command: string, args: string[], options: { cwd?: string; input?: Buffer | string } = {}): string {
  return execFileSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A Writable collecting everything written into one Buffer. */
export class BufferSink extends Writable {
  private readonly parts: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.parts.push(chunk);
    callback();
  }

  /** Everything written so far. */
  get data(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** An entry for {@link buildTar}: a header (size taken from data) and optional file data. */
export type TarSpec = Partial<TarHeader> & { path: string; data?: Buffer | string };

/** Builds an uncompressed tar in memory with tsbuild's writer (hostile cases included: nothing is validated). */
export async function buildTar(specs: readonly TarSpec[], options: { end?: boolean } = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  const writer = new TarWriter((chunk) => {
    parts.push(Buffer.from(chunk));
  });
  for (const spec of specs) {
    const data = spec.data === undefined ? undefined : Buffer.from(spec.data);
    const type = spec.type ?? (spec.path.endsWith('/') ? 'directory' : 'file');
    const header: TarHeader = {
      mode: type === 'directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      mtime: 1_600_000_000,
      ...spec,
      type,
      size: type === 'file' ? (data?.length ?? 0) : 0,
    };
    delete (header as { data?: unknown }).data;
    await writer.add(header, type === 'file' ? (data ?? Buffer.alloc(0)) : undefined);
  }
  if (options.end !== false) await writer.finish();
  else await writer.flush();
  return Buffer.concat(parts);
}

/** A readable stream of `data` in chunks of `chunkSize` bytes (to exercise chunk boundaries). */
export function streamOf(data: Buffer, chunkSize = 65536): PassThrough {
  const stream = new PassThrough();
  for (let i = 0; i < data.length; i += chunkSize) stream.write(data.subarray(i, i + chunkSize));
  stream.end();
  return stream;
}

/** Description of one node of a tree, for comparing trees. */
export interface NodeDescription {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime?: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
  /** For files sharing an inode with another path of the tree: the first such path in sorted order. */
  linkGroup?: string;
}

/**
 * Describes every node under `root` (not `root` itself): type, mode, owners, whole-second mtime (optional),
 * content hash, link target, device number, xattrs (hex, overlay attributes left out) and hardlink groups.
 */
export function describeTree(root: string, options: { mtimes?: boolean; dirMtimes?: boolean } = {}): Record<string, NodeDescription> {
  const result: Record<string, NodeDescription> = {};
  const inodes = new Map<string, string>();
  for (const { rel, abs, stat } of walkTree(root)) {
    const type = stat.isFile()
      ? 'file'
      : stat.isDirectory()
        ? 'dir'
        : stat.isSymbolicLink()
          ? 'symlink'
          : stat.isCharacterDevice()
            ? 'char'
            : stat.isBlockDevice()
              ? 'block'
              : stat.isFIFO()
                ? 'fifo'
                : 'other';
    const node: NodeDescription = { type, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
    if (type === 'symlink') delete (node as { mode?: number }).mode;
    if ((options.mtimes ?? true) && (type !== 'dir' || (options.dirMtimes ?? true))) node.mtime = Math.floor(stat.mtimeMs / 1000);
    if (type === 'file') {
      node.size = stat.size;
      node.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
      if (stat.nlink > 1) {
        const key = `${stat.dev}:${stat.ino}`;
        const first = inodes.get(key);
        if (first === undefined) inodes.set(key, rel);
        node.linkGroup = first ?? rel;
      }
    }
    if (type === 'symlink') node.target = readlinkSync(abs);
    if (type === 'char' || type === 'block') node.rdev = stat.rdev;
    const names = listXattrs(abs).filter((name) => !name.startsWith('trusted.overlay.') && !name.startsWith('user.overlay.'));
    if (names.length > 0) {
      node.xattrs = {};
      for (const name of names.sort()) node.xattrs[name] = getXattr(abs, name)?.toString('hex') ?? '';
    }
    result[rel] = node;
  }
  // A group is a set of paths sharing an inode; a file alone (its other links elsewhere) is no group.
  const sizes = new Map<string, number>();
  for (const node of Object.values(result)) if (node.linkGroup !== undefined) sizes.set(node.linkGroup, (sizes.get(node.linkGroup) ?? 0) + 1);
  for (const node of Object.values(result)) if (node.linkGroup !== undefined && sizes.get(node.linkGroup) === 1) delete node.linkGroup;
  return result;
}

/** lstat fields that change if anything touches a file: for sentinels. */
export function fingerprint(path: string): string {
  const stat = lstatSync(path);
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.mode}:${readFileSync(path, 'hex')}`;
}

/** Whether this process may mount, mknod and chown (the tests that need root check it and fail loudly if not). */
export const isRoot = process.getuid?.() === 0;

/** A capability set with bit 0x80 set (cap_setuid,cap_net_raw+ep): not valid UTF-8, as `setcap` writes it. */
export const CAPABILITY = Buffer.from('0100000281200000000000000000000000000000', 'hex');

/**
 * Makes a tree with every kind of node a layer carries: files with setuid/setgid/sticky bits and odd modes,
 * owners (including a uid above 2^21), empty and large files, a long and a non-ASCII name, hardlinks, symlinks
 * (relative, absolute, dangling, long, to a directory), xattrs (text, binary, `security.capability` written
 * directly, `trusted.*` on a symlink), char and block devices, a fifo and empty directories. Directory mtimes are
 * set last. Needs root.
 */
export function makeRichTree(root: string): void {
  const { mkdirSync: mkdir, writeFileSync: write, chmodSync: chmod, chownSync: chown, linkSync: link, symlinkSync: symlink, utimesSync: utimes, lutimesSync: lutimes } = fs;
  const dirs = ['bin', 'etc', 'home/user', 'tmp', 'empty', 'sg', 'dev', 'deep', `deep/${'d'.repeat(90)}`, 'var/lib/data'];
  for (const dir of dirs) mkdir(join(root, dir), { recursive: true });
  const file = (rel: string, content: string | Buffer, mode = 0o644, uid = 0, gid = 0, mtime = 1_650_000_000): void => {
    const abs = join(root, rel);
    write(abs, content);
    chown(abs, uid, gid);
    chmod(abs, mode);
    utimes(abs, mtime, mtime);
  };
  file('bin/su', '#!/bin/sh\nexec id\n', 0o4755);
  file('bin/wall', 'wall', 0o2711, 0, 5);
  file('bin/ping', 'ping', 0o755);
  setXattr(join(root, 'bin/ping'), 'security.capability', CAPABILITY);
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n', 0o644, 0, 0, 1_600_000_000);
  file('etc/shadow', 'root:*:1::::::\n', 0o000);
  file('etc/empty-file', '', 0o644);
  file('home/user/.profile', 'export A=1\n', 0o600, 1234, 5678);
  file('home/user/big-owner', 'x', 0o640, 3_000_000, 3_000_001);
  file('var/lib/data/blob.bin', Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7919) % 251)), 0o644);
  file(`deep/${'d'.repeat(90)}/${'f'.repeat(120)}.txt`, 'long path', 0o644);
  file('etc/ünïcødé ☃.txt', 'unicode', 0o644);
  file('etc/xattrs', 'attrs', 0o644);
  setXattr(join(root, 'etc/xattrs'), 'user.note', Buffer.from('plain text'));
  setXattr(join(root, 'etc/xattrs'), 'user.bin', Buffer.from([0, 0x80, 0xff, 0x0a, 0x3d]));
  setXattr(join(root, 'home/user'), 'trusted.dir-attr', Buffer.from('on a dir'));
  link(join(root, 'bin/su'), join(root, 'bin/su-hardlink'));
  link(join(root, 'bin/su'), join(root, 'home/user/su-third-link'));
  symlink('su', join(root, 'bin/sh'));
  symlink('/etc/passwd', join(root, 'etc/abs-link'));
  symlink('../nowhere/at/all', join(root, 'etc/dangling'));
  symlink(`../${'t'.repeat(250)}`, join(root, 'etc/long-target'));
  symlink('home/user', join(root, 'userdir'));
  setXattr(join(root, 'bin/sh'), 'trusted.link-attr', Buffer.from('on a symlink'));
  lchownSync(join(root, 'userdir'), 1234, 5678);
  for (const link of ['bin/sh', 'etc/abs-link', 'etc/dangling', 'etc/long-target', 'userdir']) lutimes(join(root, link), 1_640_000_000, 1_640_000_000);
  execFileSync('mknod', ['-m', '0666', join(root, 'dev/null'), 'c', '1', '3']);
  execFileSync('mknod', ['-m', '0660', join(root, 'dev/loop0'), 'b', '7', '0']);
  execFileSync('mknod', ['-m', '0600', join(root, 'dev/zero-zero'), 'c', '0', '0']);
  execFileSync('mkfifo', ['-m', '0620', join(root, 'tmp/fifo')]);
  chown(join(root, 'dev/loop0'), 0, 6);
  utimes(join(root, 'dev/null'), 1_630_000_000, 1_630_000_000);
  utimes(join(root, 'tmp/fifo'), 1_630_000_000, 1_630_000_000);
  chmod(join(root, 'tmp'), 0o1777);
  chmod(join(root, 'sg'), 0o2775);
  chown(join(root, 'sg'), 0, 50);
  chmod(join(root, 'home/user'), 0o700);
  chown(join(root, 'home/user'), 1234, 5678);
  for (const dir of [...dirs].reverse()) utimes(join(root, dir), 1_620_000_000, 1_620_000_000);
  for (const dir of ['home', 'var', 'var/lib']) utimes(join(root, dir), 1_620_000_000, 1_620_000_000);
}

/** A default ACL `u::rwx,g::---,o::---` in the kernel's xattr format (version 2, then tag, perm, id entries). */
export function defaultAcl(): Buffer {
  const entries: Array<[number, number]> = [
    [0x01, 7], // ACL_USER_OBJ rwx
    [0x04, 0], // ACL_GROUP_OBJ ---
    [0x20, 0], // ACL_OTHER ---
  ];
  const acl = Buffer.alloc(4 + entries.length * 8);
  acl.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm], i) => {
    acl.writeUInt16LE(tag, 4 + i * 8);
    acl.writeUInt16LE(perm, 6 + i * 8);
    acl.writeUInt32LE(0xffffffff, 8 + i * 8);
  });
  return acl;
}

/** Sets a default ACL on `dir`; false where the filesystem has no ACLs. */
export function trySetDefaultAcl(dir: string): boolean {
  try {
    setXattr(dir, 'system.posix_acl_default', defaultAcl());
    return true;
  } catch {
    return false;
  }
}
