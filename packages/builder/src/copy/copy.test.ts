import { execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { cleanupTemp, describeTree, tempDir, writeTree, type NodeSpec } from '../context/__fixtures__/tree.js';
import { openBuildContext } from '../context/build-context.js';
import { ImageFs } from '../context/image-fs.js';
import type { SelectedSource } from '../context/source.js';
import { resolveUser } from '../run/user.js';
import { copyToUpperDir, type CopyToUpperOptions } from './copy-to-upper.js';
import { makeDirectoryInUpper } from './make-directory.js';
import { CopyError } from './errors.js';

afterAll(cleanupTemp);

const buildah = fileURLToPath(new URL('../../testdata/buildah/', import.meta.url));
const T0 = 1_500_000_000; // a fixed mtime for lower-layer directories

async function contextSources(spec: Record<string, NodeSpec>, patterns: string[], instruction?: 'COPY' | 'ADD'): Promise<SelectedSource[]> {
  const context = await openBuildContext(writeTree(tempDir('ctx-'), spec));
  return context.select(patterns, instruction !== undefined ? { instruction } : {});
}

/** Runs a COPY into a fresh upper dir and returns it. */
async function copy(options: Omit<CopyToUpperOptions, 'upperDir' | 'lowerDirs'> & { lowerDirs?: string[] }): Promise<string> {
  const upperDir = tempDir('upper-');
  await copyToUpperDir({ lowerDirs: [], ...options, upperDir });
  return upperDir;
}

async function failure(run: Promise<unknown>): Promise<CopyError> {
  try {
    await run;
  } catch (error) {
    if (error instanceof CopyError) return error;
    throw error;
  }
  throw new Error('expected a CopyError');
}

describe('COPY semantics', () => {
  test('a directory source copies its contents; a missing destination is created 0755 root', async () => {
    const sources = await contextSources(
      { 'src/a.txt': { file: 'a', mtime: T0 }, 'src/sub/b.txt': { file: 'b', mode: 0o600 }, 'src/run.sh': { file: '#!', mode: 0o755 } },
      ['src'],
    );
    const upper = await copy({ sources, dest: '/app' });
    expect(describeTree(upper)).toEqual([
      'app dir 0755 0:0',
      'app/a.txt file 0644 0:0 "a"',
      'app/run.sh file 0755 0:0 "#!"',
      'app/sub dir 0755 0:0',
      'app/sub/b.txt file 0600 0:0 "b"',
    ]);
    expect(Math.floor(lstatSync(join(upper, 'app/a.txt')).mtimeMs / 1000)).toBe(T0);
  });

  test('the destination is relative to WORKDIR; `.`, `..` and a trailing slash name a directory', async () => {
    const sources = await contextSources({ 'a.txt': 'a' }, ['a.txt']);
    expect(describeTree(await copy({ sources, dest: '.', workdir: '/w' }))).toEqual(['w dir 0755 0:0', 'w/a.txt file 0644 0:0 "a"']);
    expect(describeTree(await copy({ sources, dest: 'rel/', workdir: '/w' }))).toContain('w/rel/a.txt file 0644 0:0 "a"');
    expect(describeTree(await copy({ sources, dest: 'renamed', workdir: '/w' }))).toEqual(['w dir 0755 0:0', 'w/renamed file 0644 0:0 "a"']);
    expect(describeTree(await copy({ sources, dest: '../../../x/', workdir: '/w' }))).toContain('x/a.txt file 0644 0:0 "a"');
    expect(describeTree(await copy({ sources, dest: 'sub/..', workdir: '/w' }))).toContain('w/a.txt file 0644 0:0 "a"');
  });

  test('several sources need a destination ending with /; one wildcard match does not', async () => {
    const context = await openBuildContext(writeTree(tempDir(), { 'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c' }));
    const error = await failure(copy({ sources: context.select(['a.txt', 'b.txt']), dest: '/dst' }));
    expect(error.message).toBe('When using COPY with more than one source file, the destination must be a directory and end with a /');
    const wildcard = await failure(copy({ sources: context.select(['*.txt']), dest: '/dst', isAdd: true }));
    expect(wildcard.message).toBe('When using ADD with more than one source file, the destination must be a directory and end with a /');
    expect(describeTree(await copy({ sources: context.select(['*.txt']), dest: '/dst/' }))).toEqual([
      'dst dir 0755 0:0',
      'dst/a.txt file 0644 0:0 "a"',
      'dst/b.txt file 0644 0:0 "b"',
    ]);
    expect(describeTree(await copy({ sources: context.select(['*.md']), dest: '/dst' }))).toEqual(['dst file 0644 0:0 "c"']);
  });

  test('lower directories on the way are copied up with their metadata; new ones belong to root or --chown', async () => {
    const lower = writeTree(tempDir(), { 'usr/local/keep': 'untouched' });
    writeTree(lower, { usr: { dir: true, mode: 0o755, mtime: T0 }, 'usr/local': { dir: true, mode: 0o700, uid: 5, gid: 6, mtime: T0 + 1 } });
    const sources = await contextSources({ 'a.txt': 'a' }, ['a.txt']);
    const upper = await copy({ sources, dest: '/usr/local/new/deep/', lowerDirs: [lower], chown: { uid: 1000, gid: 1001 } });
    expect(describeTree(upper, { mtime: true }).map((line) => line.replace(/ mtime=\d+$/, (m) => (line.includes('new') ? '' : m)))).toEqual([
      `usr dir 0755 0:0 mtime=${T0}`,
      `usr/local dir 0700 5:6 mtime=${T0 + 1}`,
      'usr/local/new dir 0755 1000:1001',
      'usr/local/new/deep dir 0755 1000:1001',
      'usr/local/new/deep/a.txt file 0644 1000:1001 "a"',
    ]);
  });

  test('owners: 0:0 from the context, kept from an image, --chown for both; --chmod sets modes (not symlinks)', async () => {
    const spec: Record<string, NodeSpec> = {
      'd/f': { file: 'f', uid: 33, gid: 44, mode: 0o640 },
      'd/x': { file: 'x', mode: 0o4755 },
      'd/l': { symlink: 'f' },
    };
    const ctx = await contextSources(spec, ['d']);
    expect(describeTree(await copy({ sources: ctx, dest: '/o/' }))).toEqual([
      'o dir 0755 0:0',
      'o/f file 0640 0:0 "f"',
      'o/l symlink 0777 0:0 -> f',
      'o/x file 4755 0:0 "x"',
    ]);
    const image = new ImageFs([writeTree(tempDir(), spec)]).select(['/d']);
    expect(describeTree(await copy({ sources: image, dest: '/o/' }))).toContain('o/f file 0640 33:44 "f"');
    expect(describeTree(await copy({ sources: image, dest: '/o/', chown: { uid: 7, gid: 8 }, chmod: 0o600 }))).toEqual([
      'o dir 0755 7:8',
      'o/f file 0600 7:8 "f"',
      'o/l symlink 0777 7:8 -> f',
      'o/x file 0600 7:8 "x"',
    ]);
  });

  test('mtimes, hardlinks and xattrs are kept; overlay marks of a source are not', async () => {
    const dir = writeTree(tempDir(), {
      'src/a': { file: 'aaa', mtime: T0, xattrs: { 'user.note': 'hello' } },
      'src/b': { hardlink: 'src/a' },
      'src/opaque-in-source': { dir: true, opaque: true },
      'src/opaque-in-source/f': 'f',
    });
    execFileSync('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', join(dir, 'src/a')]);
    const sources = (await openBuildContext(dir)).select(['src']);
    const upper = await copy({ sources, dest: '/x', chown: { uid: 1, gid: 1 } });
    const a = lstatSync(join(upper, 'x/a'));
    expect(lstatSync(join(upper, 'x/b')).ino).toBe(a.ino);
    expect(Math.floor(a.mtimeMs / 1000)).toBe(T0);
    const lines = describeTree(upper, { xattrs: true });
    expect(lines.find((line) => line.startsWith('x/a '))).toContain('user.note="hello"');
    expect(lines.find((line) => line.startsWith('x/a '))).toContain('security.capability='); // kept after the chown
    expect(lines.find((line) => line.startsWith('x/opaque-in-source '))).toBe('x/opaque-in-source dir 0755 1:1');
  });

  test('destination symlinks resolve inside the image, never on the host', async () => {
    const lower = writeTree(tempDir(), {
      'srv/app': { dir: true },
      app: { symlink: '/srv/app' },
      up: { symlink: '../../../../../../srv' },
    });
    const sources = await contextSources({ 'a.txt': 'a' }, ['a.txt']);
    expect(describeTree(await copy({ sources, dest: '/app/', lowerDirs: [lower] }))).toEqual(['srv dir 0755 0:0', 'srv/app dir 0755 0:0', 'srv/app/a.txt file 0644 0:0 "a"']);
    expect(describeTree(await copy({ sources, dest: '/app', lowerDirs: [lower] }))).toContain('srv/app/a.txt file 0644 0:0 "a"');
    expect(describeTree(await copy({ sources, dest: '/up/app/b', lowerDirs: [lower] }))).toContain('srv/app/b file 0644 0:0 "a"');
  });

  test('a file replaces a symlink at the destination instead of writing through it', async () => {
    const lower = writeTree(tempDir(), { 'bin/busybox': { file: 'busybox', mode: 0o755 }, 'bin/sh': { symlink: 'busybox' } });
    const sources = await contextSources({ sh: { file: 'my shell', mode: 0o755 } }, ['sh']);
    const upper = await copy({ sources, dest: '/bin/sh', lowerDirs: [lower] });
    expect(describeTree(upper)).toEqual(['bin dir 0755 0:0', 'bin/sh file 0755 0:0 "my shell"']);
    expect(readFileSync(join(lower, 'bin/busybox'), 'utf8')).toBe('busybox');
  });

  test('add/parent-dangling: a dangling symlink in a destination ending with / leads to a new directory', async () => {
    const lower = writeTree(tempDir(), { symlink: { symlink: 'symlink-target' } });
    const sources = await contextSources({ 'Dockerfile': 'x' }, ['.'], 'ADD');
    const upper = await copy({ sources, dest: '/symlink/subdirectory/', lowerDirs: [lower], isAdd: true });
    expect(describeTree(upper)).toEqual([
      'symlink-target dir 0755 0:0',
      'symlink-target/subdirectory dir 0755 0:0',
      'symlink-target/subdirectory/Dockerfile file 0644 0:0 "x"',
    ]);
  });

  test('add/parent-clean: `/symlink/..` is cleaned before symlinks are looked at', async () => {
    const lower = writeTree(tempDir(), { symlink: { symlink: '/symlink-target/subdirectory' } });
    const sources = await contextSources({ 'f': 'x' }, ['.'], 'ADD');
    const upper = await copy({ sources, dest: '/symlink/..', lowerDirs: [lower], isAdd: true });
    expect(describeTree(upper)).toEqual(['f file 0644 0:0 "x"']);
  });

  test('copyrename, copydir and copysymlink (buildah)', async () => {
    const rename = await contextSources({ file1: 'one' }, ['file1']);
    const lower = writeTree(tempDir(), { 'usr/bin': { dir: true } });
    expect(describeTree(await copy({ sources: rename, dest: '/usr/bin/file2', lowerDirs: [lower] }))).toEqual(['usr dir 0755 0:0', 'usr/bin dir 0755 0:0', 'usr/bin/file2 file 0644 0:0 "one"']);

    const dir = (await openBuildContext(join(buildah, 'copydir'))).select(['dir']);
    expect(describeTree(await copy({ sources: dir, dest: '/dir' }))).toEqual(['dir dir 0755 0:0', 'dir/file file 0644 0:0 ""']);

    const linkCtx = join(tempDir(), 'copysymlink');
    cpSync(join(buildah, 'copysymlink'), linkCtx, { recursive: true });
    unlinkSync(join(linkCtx, 'file-link.tar.gz'));
    symlinkSync('file.tar.gz', join(linkCtx, 'file-link.tar.gz')); // a symlink in buildah's repository
    const link = (await openBuildContext(linkCtx)).select(['file-link.tar.gz']);
    expect(describeTree(await copy({ sources: link, dest: '/' }))).toEqual(['file-link.tar.gz file 0644 0:0 "hello, world\\n"']);
  });

  test('copy-symlink-2 (buildah): COPY --from of a symlink copies its target under the link name', async () => {
    const stage = writeTree(tempDir(), { 'file.tar.gz': 'hello, world', 'file-link.tar.gz': { symlink: 'file.tar.gz' } });
    const sources = new ImageFs([stage]).select(['/file-link.tar.gz']);
    expect(describeTree(await copy({ sources, dest: '/' }))).toEqual(['file-link.tar.gz file 0644 0:0 "hello, world"']);
  });

  test('copychown (buildah): numeric ids and names from the image', async () => {
    const image = writeTree(tempDir(), {
      'etc/passwd': 'root:x:0:0::/root:/bin/sh\nbin:x:1:1::/bin:/sbin/nologin\nlp:x:4:7::/var/spool/lpd:/sbin/nologin\n',
      'etc/group': 'root:x:0:\nbin:x:1:\ndaemon:x:2:\nadm:x:4:\nlp:x:7:\nmail:x:12:\n',
      'usr/bin': { dir: true },
    });
    const fs = new ImageFs([image]);
    const sources = await contextSources({ script: { file: '#!', mode: 0o755 } }, ['script']);
    const cases: Array<[spec: string, owner: string]> = [
      ['1:2', '1:2'],
      ['1:adm', '1:4'],
      ['1', '1:1'],
      ['lp:adm', '4:4'],
      ['2:mail', '2:12'],
      ['2', '2:0'],
      ['bin', '1:1'],
      ['lp', '4:7'],
    ];
    for (const [spec, owner] of cases) {
      const user = await resolveUser(fs.userDbReader(), spec);
      const upper = await copy({ sources, dest: '/usr/bin/script', lowerDirs: [image], chown: { uid: user.uid, gid: user.gid } });
      expect(describeTree(upper), spec).toContain(`usr/bin/script file 0755 ${owner} "#!"`);
    }
  });

  test('copyblahblub (buildah): a directory copied onto an existing one merges into it', async () => {
    const lower = writeTree(tempDir(), { var: { dir: true, mtime: T0 }, 'var/spool/mail': 'm' });
    writeTree(lower, { var: { dir: true, mtime: T0 } });
    const sources = (await openBuildContext(join(buildah, 'copyblahblub'))).select(['/firstdir/seconddir']);
    const upper = await copy({ sources, dest: '/var', lowerDirs: [lower] });
    expect(describeTree(upper)).toEqual([
      'var dir 0755 0:0',
      'var/dir-a dir 0755 0:0',
      'var/dir-a/file-a file 0644 0:0 "file-a\\n"',
      'var/dir-b dir 0755 0:0',
      'var/dir-b/file-b file 0644 0:0 "file-b\\n"',
    ]);
    expect(Math.floor(lstatSync(join(upper, 'var')).mtimeMs / 1000)).toBe(T0);
    expect(await new ImageFs([upper, lower]).readdir('/var')).toEqual(['dir-a', 'dir-b', 'spool']);
    // Dockerfile3: COPY --from=0 /var/dir-a /var
    const fromStage = new ImageFs([upper, lower]).select(['/var/dir-a']);
    expect(describeTree(await copy({ sources: fromStage, dest: '/var', lowerDirs: [lower] }))).toEqual(['var dir 0755 0:0', 'var/file-a file 0644 0:0 "file-a\\n"']);
  });

  test('overlapdir with and without slash (buildah): nested directories merge with the image', async () => {
    for (const name of ['overlapdirwithslash', 'overlapdirwithoutslash']) {
      const lower = writeTree(tempDir(), { 'etc/passwd': 'root', 'etc/group': 'root' });
      const sources = (await openBuildContext(join(buildah, name))).select([name === 'overlapdirwithslash' ? 'existing/' : 'existing']);
      const upper = await copy({ sources, dest: '.', workdir: '/', lowerDirs: [lower] });
      expect(describeTree(upper)).toEqual(['etc dir 0755 0:0', 'etc/file-in-existing-dir file 0644 0:0 ""']);
      expect(await new ImageFs([upper, lower]).readdir('/etc')).toEqual(['file-in-existing-dir', 'group', 'passwd']);
    }
  });
});

describe('replacing files, directories and symlinks', () => {
  /** Applies COPYs one after another, each upper dir becoming the next snapshot; returns the snapshots, top first. */
  async function build(steps: Array<{ sources: SelectedSource[]; dest: string }>): Promise<string[]> {
    const snapshots: string[] = [];
    for (const step of steps) snapshots.unshift(await copy({ ...step, lowerDirs: [...snapshots] }));
    return snapshots;
  }

  async function trees(): Promise<{ tree1: SelectedSource[]; tree2: SelectedSource[] }> {
    const dir = join(tempDir(), 'symlink-with-directory');
    cpSync(join(buildah, 'replace/symlink-with-directory'), dir, { recursive: true });
    unlinkSync(join(dir, 'tree1/maybe-directory'));
    symlinkSync('directory', join(dir, 'tree1/maybe-directory')); // a symlink in buildah's repository
    const context = await openBuildContext(dir);
    return { tree1: context.select(['tree1/']), tree2: context.select(['tree2/']) };
  }

  test('replace/symlink-with-directory (buildah, Dockerfile and .3): a directory replaces a symlink, opaque', async () => {
    const { tree1, tree2 } = await trees();
    for (const dest of ['/', '/tree/']) {
      const snapshots = await build([
        { sources: tree1, dest },
        { sources: tree2, dest },
      ]);
      const fs = new ImageFs(snapshots);
      const base = dest === '/' ? '' : '/tree';
      expect((await fs.lstat(`${base}/maybe-directory`))?.type).toBe('directory');
      expect(await fs.readdir(`${base}/maybe-directory`)).toEqual(['file-in-maybe-directory']);
      expect(await fs.readdir(`${base}/directory`)).toEqual(['file-in-directory']);
      const top = describeTree(snapshots[0]!, { xattrs: true });
      expect(top.find((line) => line.includes('maybe-directory dir'))).toContain('trusted.overlay.opaque="y"');
    }
  });

  test('replace/symlink-with-directory (Dockerfile.2 and .4): a symlink replaces a directory', async () => {
    const { tree1, tree2 } = await trees();
    for (const dest of ['/', '/tree/']) {
      const snapshots = await build([
        { sources: tree2, dest },
        { sources: tree1, dest },
      ]);
      const fs = new ImageFs(snapshots);
      const base = dest === '/' ? '' : '/tree';
      expect(await fs.readlink(`${base}/maybe-directory`)).toBe('directory');
      expect(await fs.readdir(`${base}/maybe-directory`)).toEqual(['file-in-directory']); // through the link
    }
  });

  test('a file replacing a lower directory hides everything below it; a directory replacing a file is opaque', async () => {
    const lower = writeTree(tempDir(), { 'data/old/a': 'a', 'data/old/b': 'b', 'data/file': 'f' });
    const sources = await contextSources({ 'src/old': 'now a file', 'src/file/new': 'now a dir' }, ['src']);
    const upper = await copy({ sources, dest: '/data', lowerDirs: [lower] });
    const fs = new ImageFs([upper, lower]);
    expect((await fs.readFile('/data/old'))?.toString()).toBe('now a file');
    expect(await fs.readdir('/data/file')).toEqual(['new']);
    expect(describeTree(upper, { xattrs: true }).find((line) => line.startsWith('data/file dir'))).toContain('opaque');
    expect(describeTree(upper).some((line) => line.includes('whiteout'))).toBe(false);
  });

  test('a directory source onto an existing file destination replaces it; onto a file in the middle fails', async () => {
    const lower = writeTree(tempDir(), { target: 'file', 'blocker': 'file' });
    const sources = await contextSources({ 'd/x': 'x' }, ['d']);
    const upper = await copy({ sources, dest: '/target', lowerDirs: [lower] });
    expect(await new ImageFs([upper, lower]).readdir('/target')).toEqual(['x']);
    const error = await failure(copy({ sources, dest: '/blocker/sub', lowerDirs: [lower] }));
    expect(error.message).toBe('COPY failed: cannot create directory /blocker/sub: /blocker is not a directory');
  });

  test('two sources writing the same name: the later one wins', async () => {
    const lower = writeTree(tempDir(), { 'out/x/deep': 'lower' });
    const context = await openBuildContext(writeTree(tempDir(), { 'one/x': 'file', 'two/x/y': 'dir' }));
    const upper = await copy({ sources: context.select(['one', 'two']), dest: '/out/', lowerDirs: [lower] });
    const fs = new ImageFs([upper, lower]);
    expect(await fs.readdir('/out/x')).toEqual(['y']); // the lower /out/x/deep stays hidden
  });
});

describe('special files and refused names', () => {
  test('fifos are copied, sockets left out with a warning, char 0/0 and `.wh.` names refused', async () => {
    const dir = writeTree(tempDir(), { 'd/pipe': { fifo: true }, 'd/f': 'f' });
    const socketServer = createServer();
    await new Promise<void>((resolve) => socketServer.listen(join(dir, 'd/sock'), resolve));
    try {
      const warnings: string[] = [];
      const sources = (await openBuildContext(dir)).select(['d']);
      const upper = await copy({ sources, dest: '/x', onWarning: (w) => warnings.push(w.code) });
      expect(describeTree(upper)).toEqual(['x dir 0755 0:0', 'x/f file 0644 0:0 "f"', 'x/pipe fifo 0644 0:0']);
      expect(warnings).toEqual(['SOCKET_SKIPPED']);
    } finally {
      socketServer.close();
    }
    const whiteout = writeTree(tempDir(), { 'd/w': { whiteout: true } });
    const zero = await failure(copy({ sources: (await openBuildContext(whiteout)).select(['d']), dest: '/x' }));
    expect(zero.message).toContain('/x/w is a 0/0 character device');
    const named = await contextSources({ 'd/.wh.etc': 'x' }, ['d']);
    expect((await failure(copy({ sources: named, dest: '/' }))).message).toContain('/.wh.etc: a file named like a layer whiteout');
    const plain = await contextSources({ a: 'a' }, ['a']);
    expect((await failure(copy({ sources: plain, dest: '/.wh.x' }))).code).toBe('COPY_SOURCE');
  });

  test('a URL is not a COPY source; an aborted copy stops', async () => {
    expect((await failure(copy({ sources: [{ kind: 'url', url: 'http://127.0.0.1:1/x' }], dest: '/' }))).message).toContain("source can't be a URL for COPY");
    const sources = await contextSources({ a: 'a' }, ['a']);
    await expect(copy({ sources, dest: '/', signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });

  test('progress is reported', async () => {
    const spec: Record<string, NodeSpec> = {};
    for (let i = 0; i < 300; i++) spec[`d/f${i}`] = 'xx';
    const sources = await contextSources(spec, ['d']);
    const seen: number[] = [];
    const upperDir = tempDir();
    const result = await copyToUpperDir({ sources, dest: '/d', lowerDirs: [], upperDir, onProgress: (p) => seen.push(p.entries) });
    expect(result).toEqual({ entries: 300, bytes: 600 });
    expect(seen.at(-1)).toBe(300);
    expect(seen.length).toBeGreaterThan(1);
  });
});

describe('never outside the upper dir', () => {
  test('hostile destinations and image symlinks all land inside the upper dir', async () => {
    const outside = tempDir('victim-');
    writeFileSync(join(outside, 'keep'), 'keep');
    const lower = writeTree(tempDir(), {
      etc: { dir: true },
      'app/etc': { symlink: '/etc' },
      'app/up': { symlink: '../../../../../../../..' },
      'app/host': { symlink: outside },
      loop1: { symlink: 'loop2' },
      loop2: { symlink: 'loop1' },
    });
    const sources = await contextSources({ keep: 'evil' }, ['keep']);
    const dests = ['/app/etc/', '/app/up/', '../../../../../../', '/app/up/app/up/../../../'];
    for (const dest of dests) {
      const upper = await copy({ sources, dest, workdir: '/app', lowerDirs: [lower] });
      for (const line of describeTree(upper)) expect(line).not.toContain(outside.slice(1));
    }
    expect(describeTree(await copy({ sources, dest: '/app/host/', lowerDirs: [lower] }))).toContain(`${outside.slice(1)}/keep file 0644 0:0 "evil"`);
    expect(readFileSync(join(outside, 'keep'), 'utf8')).toBe('keep');
    await expect(copy({ sources, dest: '/loop1/', lowerDirs: [lower] })).rejects.toThrow('too many levels of symbolic links');
  });

  test('a context file swapped for a symlink after selection is not followed', async () => {
    const dir = writeTree(tempDir(), { 'd/secret-link': 'innocent' });
    const sources = (await openBuildContext(dir)).select(['d']);
    rmSync(join(dir, 'd/secret-link'));
    symlinkSync('/etc/passwd', join(dir, 'd/secret-link'));
    // The walk happens during the copy: it sees a symlink now, and copies it as one.
    expect(describeTree(await copy({ sources, dest: '/x' }))).toEqual(['x dir 0755 0:0', 'x/secret-link symlink 0777 0:0 -> /etc/passwd']);
    const single = (await openBuildContext(writeTree(tempDir(), { f: 'innocent' }))).select(['f']);
    rmSync(single[0]!.entry.hostPath);
    mkdirSync(join(single[0]!.entry.hostPath, '..', 'elsewhere'), { recursive: true });
    symlinkSync('/etc/passwd', single[0]!.entry.hostPath);
    await expect(copy({ sources: single, dest: '/x' })).rejects.toThrow();
  });

  test('symlinks inside the context are copied verbatim, even when they point out', async () => {
    const sources = await contextSources({ 'd/passwd': { symlink: '/etc/passwd' }, 'd/up': { symlink: '../../../..' } }, ['d']);
    expect(describeTree(await copy({ sources, dest: '/d' }))).toEqual(['d dir 0755 0:0', 'd/passwd symlink 0777 0:0 -> /etc/passwd', 'd/up symlink 0777 0:0 -> ../../../..']);
  });
});

describe('makeDirectoryInUpper (WORKDIR)', () => {
  test('creates what is missing, through image symlinks; nothing when the directory exists', async () => {
    const lower = writeTree(tempDir(), { 'srv/data': { dir: true, mtime: T0 }, app: { symlink: '/srv/data' }, file: 'x' });
    writeTree(lower, { srv: { dir: true, mtime: T0 } });
    const upper = tempDir();
    expect(await makeDirectoryInUpper({ path: '/app', lowerDirs: [lower], upperDir: upper })).toBe(false);
    expect(describeTree(upper)).toEqual([]);
    expect(await makeDirectoryInUpper({ path: '/app/new/deep', lowerDirs: [lower], upperDir: upper, owner: { uid: 10, gid: 10 } })).toBe(true);
    expect(describeTree(upper)).toEqual(['srv dir 0755 0:0', 'srv/data dir 0755 0:0', 'srv/data/new dir 0755 10:10', 'srv/data/new/deep dir 0755 10:10']);
    await expect(makeDirectoryInUpper({ path: '/file', lowerDirs: [lower], upperDir: tempDir() })).rejects.toThrow('WORKDIR failed: /file exists and is not a directory');
    await expect(makeDirectoryInUpper({ path: '/file/sub', lowerDirs: [lower], upperDir: tempDir() })).rejects.toThrow('/file is not a directory');
  });
});
