import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** One node of a tree written by {@link writeTree}. */
export type NodeSpec =
  | string
  | Buffer
  | { file: string | Buffer; mode?: number; mtime?: number; uid?: number; gid?: number; xattrs?: Record<string, string> }
  | { dir: true; mode?: number; mtime?: number; uid?: number; gid?: number; opaque?: boolean }
  | { symlink: string }
  | { whiteout: true }
  | { fifo: true }
  | { hardlink: string };

const made: string[] = [];

/** A fresh temporary directory, removed by {@link cleanupTemp}. */
export function tempDir(prefix = 'tsbuild-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory {@link tempDir} made. */
export function cleanupTemp(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes nodes (paths relative to `root`, parents created 0755); order matters for hardlinks. */
export function writeTree(root: string, spec: Record<string, NodeSpec>): string {
  mkdirSync(root, { recursive: true });
  for (const [rel, node] of Object.entries(spec)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof node === 'string' || Buffer.isBuffer(node)) {
      writeFileSync(path, node);
      continue;
    }
    if ('file' in node) {
      writeFileSync(path, node.file);
      if (node.mode !== undefined) chmodSync(path, node.mode);
      if (node.uid !== undefined || node.gid !== undefined) lchownSync(path, node.uid ?? 0, node.gid ?? 0);
      for (const [name, value] of Object.entries(node.xattrs ?? {})) execFileSync('setfattr', ['-h', '-n', name, '-v', value, path]);
      if (node.mtime !== undefined) lutimesSync(path, node.mtime, node.mtime);
    } else if ('dir' in node) {
      mkdirSync(path, { recursive: true });
      if (node.mode !== undefined) chmodSync(path, node.mode);
      if (node.uid !== undefined || node.gid !== undefined) lchownSync(path, node.uid ?? 0, node.gid ?? 0);
      if (node.opaque === true) execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path]);
      if (node.mtime !== undefined) lutimesSync(path, node.mtime, node.mtime);
    } else if ('symlink' in node) {
      symlinkSync(node.symlink, path);
    } else if ('whiteout' in node) {
      execFileSync('mknod', [path, 'c', '0', '0']);
    } else if ('fifo' in node) {
      execFileSync('mkfifo', [path]);
    } else {
      execFileSync('ln', [join(root, node.hardlink), path]);
    }
  }
  return root;
}

/** A line per entry of a tree: `path type mode uid:gid [content|-> target] [opaque] [xattrs]`, sorted. */
export function describeTree(root: string, options: { mtime?: boolean; xattrs?: boolean } = {}): string[] {
  const lines: string[] = [];
  const xattrDump = options.xattrs === true ? execFileSync('getfattr', ['-R', '-P', '-d', '-m', '-', '--absolute-names', root]).toString() : '';
  const xattrs = new Map<string, string[]>();
  let current = '';
  for (const line of xattrDump.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice(8);
    else if (line !== '') xattrs.set(current, [...(xattrs.get(current) ?? []), line]);
  }
  const visit = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const sub = rel === '' ? name : `${rel}/${name}`;
      const stats = lstatSync(path);
      const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
      let line = `${sub} `;
      if (stats.isSymbolicLink()) line += `symlink ${mode} ${stats.uid}:${stats.gid} -> ${readlinkSync(path)}`;
      else if (stats.isDirectory()) line += `dir ${mode} ${stats.uid}:${stats.gid}`;
      else if (stats.isFile()) line += `file ${mode} ${stats.uid}:${stats.gid} ${JSON.stringify(readFileSync(path, 'utf8'))}`;
      else if (stats.isCharacterDevice()) line += `char ${stats.rdev === 0 ? 'whiteout' : stats.rdev}`;
      else if (stats.isFIFO()) line += `fifo ${mode} ${stats.uid}:${stats.gid}`;
      else line += 'other';
      if (options.mtime === true && !stats.isSymbolicLink()) line += ` mtime=${Math.floor(stats.mtimeMs / 1000)}`;
      const attrs = xattrs.get(path);
      if (attrs !== undefined) line += ` [${attrs.join(' ')}]`;
      lines.push(line);
      if (stats.isDirectory()) visit(path, sub);
    }
  };
  visit(root, '');
  return lines;
}

/** An entry for {@link buildTar}: header fields (size taken from data) and optional file data. */
export type TarSpec = Partial<import('@tsbuild/layers').TarHeader> & { path: string; data?: Buffer | string };

/** Builds an uncompressed tar in memory with tsbuild's writer (hostile entries included: nothing is checked). */
export async function buildTar(specs: readonly TarSpec[]): Promise<Buffer> {
  const { TarWriter } = await import('@tsbuild/layers');
  const parts: Buffer[] = [];
  const writer = new TarWriter((chunk) => {
    parts.push(Buffer.from(chunk));
  });
  for (const spec of specs) {
    const data = spec.data === undefined ? undefined : Buffer.from(spec.data);
    const type = spec.type ?? (spec.path.endsWith('/') ? 'directory' : 'file');
    const { data: _data, ...rest } = spec;
    await writer.add(
      { mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 1_600_000_000, ...rest, type, size: type === 'file' ? (data?.length ?? 0) : 0 },
      type === 'file' ? (data ?? Buffer.alloc(0)) : undefined,
    );
  }
  await writer.finish();
  return Buffer.concat(parts);
}
