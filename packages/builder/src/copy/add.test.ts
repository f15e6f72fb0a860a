import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildTar, cleanupTemp, describeTree, tempDir, writeTree, type NodeSpec } from '../context/__fixtures__/tree.js';
import { openBuildContext } from '../context/build-context.js';
import { checksumSources } from '../context/checksum.js';
import { ImageFs } from '../context/image-fs.js';
import type { SelectedSource } from '../context/source.js';
import { copyToUpperDir, type CopyToUpperOptions } from './copy-to-upper.js';
import { CopyError } from './errors.js';
import { fetchRemoteSource, parseChecksum, remoteFileName } from './remote.js';

afterAll(cleanupTemp);

const buildah = fileURLToPath(new URL('../../testdata/buildah/', import.meta.url));

async function select(spec: Record<string, NodeSpec>, patterns: string[]): Promise<SelectedSource[]> {
  return (await openBuildContext(writeTree(tempDir('ctx-'), spec))).select(patterns, { instruction: 'ADD' });
}

async function add(options: Omit<CopyToUpperOptions, 'upperDir' | 'lowerDirs' | 'isAdd'> & { lowerDirs?: string[] }): Promise<string> {
  const upperDir = tempDir('upper-');
  await copyToUpperDir({ lowerDirs: [], ...options, upperDir, isAdd: true });
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

/** A small tree archived with GNU tar, owners 1000:1000 recorded. */
function gnuTar(): Buffer {
  const src = writeTree(tempDir(), { 'top/a.txt': { file: 'a', mode: 0o640, mtime: 1_600_000_000 }, 'top/bin/run': { file: '#!', mode: 0o755 } });
  return execFileSync('tar', ['-C', src, '--owner=1000', '--group=1000', '--numeric-owner', '--sort=name', '-cf', '-', 'top']);
}

const EXTRACTED = [
  'dst dir 0755 0:0',
  'dst/top dir 0755 1000:1000',
  'dst/top/a.txt file 0640 1000:1000 "a"',
  'dst/top/bin dir 0755 1000:1000',
  'dst/top/bin/run file 0755 1000:1000 "#!"',
];

describe('ADD of local archives', () => {
  const compressors: Array<[name: string, compress: (tar: Buffer) => Buffer]> = [
    ['plain', (tar) => tar],
    ['gzip', (tar) => gzipSync(tar)],
    ['bzip2', (tar) => execFileSync('bzip2', ['-c'], { input: tar })],
    ['xz', (tar) => execFileSync('xz', ['-c'], { input: tar })],
    ['zstd', (tar) => execFileSync('zstd', ['-c', '-q'], { input: tar })],
  ];
  test.each(compressors)('%s: recognised by content and extracted with the owners it records', async (_name, compress) => {
    const sources = await select({ 'archive.dat': compress(gnuTar()) }, ['archive.dat']);
    const upper = await add({ sources, dest: '/dst' });
    expect(describeTree(upper)).toEqual(EXTRACTED);
    expect(Math.floor(lstatSync(join(upper, 'dst/top/a.txt')).mtimeMs / 1000)).toBe(1_600_000_000);
  });

  test('--chown replaces the owners of the archive; COPY and COPY --from never extract', async () => {
    const chowned = await add({ sources: await select({ 'a.tar': gnuTar() }, ['a.tar']), dest: '/dst', chown: { uid: 5, gid: 6 } });
    expect(describeTree(chowned)).toContain('dst/top/a.txt file 0640 5:6 "a"');
    const upperDir = tempDir();
    await copyToUpperDir({ sources: await select({ 'a.tar': gnuTar() }, ['a.tar']), dest: '/dst/', lowerDirs: [], upperDir });
    expect(describeTree(upperDir).map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual(['dst dir', 'dst/a.tar file']);
    const fromImage = new ImageFs([writeTree(tempDir(), { 'a.tar': gnuTar() })]).select(['/a.tar']);
    expect(describeTree(await add({ sources: fromImage, dest: '/dst/' })).map((line) => line.split(' ')[0])).toEqual(['dst', 'dst/a.tar']);
  });

  test('what is not a tar archive is copied as it is, whatever its name', async () => {
    const gzipText = gzipSync(Buffer.from('just text'));
    const sources = await select({ 'fake.tar.gz': 'hello', 'text.gz': gzipText, 'empty.tar': Buffer.alloc(1024), 'broken.gz': Buffer.from([0x1f, 0x8b, 1, 2, 3]) }, ['*']);
    const upper = await add({ sources, dest: '/dst/' });
    expect(describeTree(upper).map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([
      'dst dir',
      'dst/broken.gz file',
      'dst/empty.tar file',
      'dst/fake.tar.gz file',
      'dst/text.gz file',
    ]);
    expect(readFileSync(join(upper, 'dst/text.gz')).equals(gzipText)).toBe(true);
  });

  test('add/archive (buildah): archives in a copied directory stay archives; selected ones are extracted', async () => {
    const context = await openBuildContext(join(buildah, 'add/archive'));
    const dir = await add({ sources: context.select(['sub/'], { instruction: 'ADD' }), dest: '/' });
    expect(describeTree(dir).map((line) => line.split(' ')[0])).toEqual(['subdirectory.tar.gz']);
    const file = await add({ sources: context.select(['sub/subdirectory.tar.gz'], { instruction: 'ADD' }), dest: '/' });
    expect(describeTree(file).map((line) => line.split(' ').slice(0, 4).join(' '))).toEqual([
      'subdirectory dir 0775 2510:2516',
      'subdirectory/archival.txt file 0664 2510:2516',
      'subdirectory/archived.txt file 0664 2510:2516',
    ]);
    const glob = await add({ sources: context.select(['sub/*'], { instruction: 'ADD' }), dest: '/sub/' });
    expect(describeTree(glob).map((line) => line.split(' ')[0])).toEqual(['sub', 'sub/subdirectory', 'sub/subdirectory/archival.txt', 'sub/subdirectory/archived.txt']);
  });

  test('add/parent-symlink (buildah): `symldir1 -> ..` cannot lead out of the destination', async () => {
    const sources = (await openBuildContext(join(buildah, 'add/parent-symlink'))).select(['foobar.tar'], { instruction: 'ADD' });
    const upper = await add({ sources, dest: '/testsubdir' });
    expect(describeTree(upper).map((line) => line.replace(/ \d+:\d+/, ''))).toEqual([
      'testsubdir dir 0755',
      'testsubdir/etc dir 0755',
      'testsubdir/etc/myfile file 0664 "hello\\n"',
      'testsubdir/symldir1 symlink 0777 -> ..',
    ]);
  });

  test('add/not-dir-dir and add/populated-dir-not-dir (buildah): archive entries replace what the image has', async () => {
    const notDirDir = writeTree(tempDir(), { 'new-directory': 'a file' });
    const sources1 = (await openBuildContext(join(buildah, 'add/not-dir-dir'))).select(['test.tar'], { instruction: 'ADD' });
    const upper1 = await add({ sources: sources1, dest: '/', lowerDirs: [notDirDir] });
    expect((await new ImageFs([upper1, notDirDir]).lstat('/new-directory'))?.type).toBe('directory');

    const populated = writeTree(tempDir(), { 'dirone/onefile.txt': 'one', 'dirone/twofile.txt': 'two' });
    const sources2 = (await openBuildContext(join(buildah, 'add/populated-dir-not-dir'))).select(['test.tar'], { instruction: 'ADD' });
    const upper2 = await add({ sources: sources2, dest: '/', lowerDirs: [populated] });
    const fs = new ImageFs([upper2, populated]);
    expect((await fs.lstat('/dirone'))?.type).toBe('file');
    expect(await fs.exists('/dirone/onefile.txt')).toBe(false);
  });

  test('add/dir-not-dir (buildah): a file entry replaces a directory', async () => {
    // the same entries as buildah's test.tar, without its leading empty-named entry (see the next test)
    const lower = writeTree(tempDir(), { fileone: { dir: true }, 'fileone/inside': 'x' });
    const tar = await buildTar([
      { path: 'app/', uid: 1001 },
      { path: 'app/content/', uid: 1001 },
      { path: 'app/content/file', data: 'file in app/content\n', uid: 1001 },
      { path: 'fileone', data: 'file one content\n', uid: 1001 },
      { path: 'filetwo', data: 'file two content\n', uid: 1001 },
    ]);
    const upper = await add({ sources: await select({ 'test.tar': tar }, ['test.tar']), dest: '/', lowerDirs: [lower] });
    const fs = new ImageFs([upper, lower]);
    expect((await fs.readFile('/fileone'))?.toString()).toBe('file one content\n');
    expect(await fs.exists('/fileone/inside')).toBe(false);
  });

  test('an archive entry with an empty name is skipped, as docker does (buildah add/dir-not-dir)', async () => {
    const lower = writeTree(tempDir(), { fileone: { dir: true }, 'fileone/inside': 'x' });
    const sources = (await openBuildContext(join(buildah, 'add/dir-not-dir'))).select(['test.tar'], { instruction: 'ADD' });
    const upper = await add({ sources, dest: '/', lowerDirs: [lower] });
    const fs = new ImageFs([upper, lower]);
    expect((await fs.readFile('/fileone'))?.toString()).toBe(execFileSync('tar', ['-xOf', join(buildah, 'add/dir-not-dir/test.tar'), 'fileone']).toString());
    expect(await fs.exists('/fileone/inside')).toBe(false);
    expect((await fs.lstat('/app/content/file'))?.uid).toBe(1001);
  });
});

describe('hostile archives', () => {
  async function addTar(specs: Parameters<typeof buildTar>[0], lowerDirs: string[] = [], dest = '/dst'): Promise<string> {
    return add({ sources: await select({ 'evil.tar': await buildTar(specs) }, ['evil.tar']), dest, lowerDirs });
  }

  test('`..` climbing out is an error naming the entry', async () => {
    const error = await failure(addTar([{ path: '../../evil', data: 'x' }]));
    expect(error.code).toBe('ADD_ARCHIVE');
    expect(error.message).toContain('entry "../../evil" leads outside the destination');
    expect((await failure(addTar([{ path: 'ok/../../evil', data: 'x' }]))).code).toBe('ADD_ARCHIVE');
  });

  test('absolute names and symlinks made by the archive resolve inside the destination', async () => {
    const outside = tempDir('victim-');
    const upper = await addTar([
      { path: '/etc/passwd', data: 'abs' },
      { path: 'hostetc', type: 'symlink', linkname: '/etc' },
      { path: 'hostetc/shadow', data: 'through an absolute link' },
      { path: 'up', type: 'symlink', linkname: '../../../../..' },
      { path: 'up/escaped', data: 'through ..' },
      { path: 'victim', type: 'symlink', linkname: outside },
      { path: 'victim/pwned', data: 'x' },
    ]);
    expect(describeTree(upper).filter((line) => line.includes(' file '))).toEqual([
      'dst/escaped file 0644 0:0 "through .."',
      'dst/etc/passwd file 0644 0:0 "abs"',
      'dst/etc/shadow file 0644 0:0 "through an absolute link"',
      `dst${outside}/pwned file 0644 0:0 "x"`,
    ]);
    expect(describeTree(outside)).toEqual([]);
  });

  test('hardlinks: out of the destination refused; to a file of a lower layer, copied up first', async () => {
    expect((await failure(addTar([{ path: 'h', type: 'hardlink', linkname: '../../etc/shadow' }]))).message).toContain('points outside the destination');
    expect((await failure(addTar([{ path: 'h', type: 'hardlink', linkname: 'missing' }]))).message).toContain('which is not a file');
    const lower = writeTree(tempDir(), { 'dst/base.txt': { file: 'from the image', uid: 3, gid: 3 } });
    const upper = await addTar([{ path: 'link.txt', type: 'hardlink', linkname: 'base.txt' }], [lower]);
    expect(lstatSync(join(upper, 'dst/link.txt')).ino).toBe(lstatSync(join(upper, 'dst/base.txt')).ino);
    expect(describeTree(upper)).toContain('dst/link.txt file 0644 3:3 "from the image"');
    expect(readFileSync(join(lower, 'dst/base.txt'), 'utf8')).toBe('from the image');
  });

  test('whiteout names and 0/0 devices are refused', async () => {
    expect((await failure(addTar([{ path: '.wh.etc', data: '' }]))).message).toContain('named like a layer whiteout');
    expect((await failure(addTar([{ path: 'dev/null0', type: 'char', devmajor: 0, devminor: 0 }]))).message).toContain('0/0 character device');
  });

  test('CVE-2025-45582: a symlink from one layer and a write through it in the next stay in the image', async () => {
    const first = await addTar([{ path: 'x', type: 'symlink', linkname: '/root/.ssh' }], [], '/');
    const second = await addTar([{ path: 'x/authorized_keys', data: 'ssh-ed25519 attacker' }], [first], '/');
    expect(describeTree(second)).toEqual(['root dir 0755 0:0', 'root/.ssh dir 0755 0:0', 'root/.ssh/authorized_keys file 0644 0:0 "ssh-ed25519 attacker"']);
  });
});

describe('ADD of URLs', () => {
  let server: Server;
  let base: string;
  const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
  const tar = gnuTar();
  beforeAll(async () => {
    server = createServer((request, response) => {
      const url = request.url ?? '/';
      if (url === '/files/hello.txt' || url === '/') {
        response.writeHead(200, { 'Last-Modified': lastModified, 'Content-Type': 'text/plain' });
        response.end('hello from http\n');
      } else if (url === '/download') {
        response.writeHead(200, { 'Content-Disposition': 'attachment; filename="named.bin"' });
        response.end('named');
      } else if (url === '/archive.tar') {
        response.writeHead(200);
        response.end(tar);
      } else if (url === '/moved') {
        response.writeHead(302, { Location: '/files/hello.txt' });
        response.end();
      } else {
        response.writeHead(404, 'Not Found');
        response.end('no');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const sha = (text: string | Buffer): string => execFileSync('sha256sum', { input: text }).toString().slice(0, 64);

  test('downloads into a directory under the URL file name: mode 0600, mtime from Last-Modified', async () => {
    const upper = await add({ sources: [{ kind: 'url', url: `${base}/files/hello.txt` }], dest: '/dl/' });
    expect(describeTree(upper)).toEqual(['dl dir 0755 0:0', 'dl/hello.txt file 0600 0:0 "hello from http\\n"']);
    expect(lstatSync(join(upper, 'dl/hello.txt')).mtimeMs).toBe(Date.parse(lastModified));
    const named = await add({ sources: [{ kind: 'url', url: `${base}/files/hello.txt` }], dest: '/dl/renamed', chown: { uid: 9, gid: 9 } });
    expect(describeTree(named)).toContain('dl/renamed file 0600 9:9 "hello from http\\n"');
    expect(describeTree(await add({ sources: [{ kind: 'url', url: `${base}/moved` }], dest: '/r/' }))).toContain('r/moved file 0600 0:0 "hello from http\\n"');
    expect(describeTree(await add({ sources: [{ kind: 'url', url: `${base}/download` }], dest: '/d/' }))).toContain('d/download file 0600 0:0 "named"');
  });

  test('an archive URL is never extracted', async () => {
    const upper = await add({ sources: [{ kind: 'url', url: `${base}/archive.tar` }], dest: '/a/' });
    expect(readFileSync(join(upper, 'a/archive.tar')).equals(tar)).toBe(true);
  });

  test('--checksum is verified; a bad status is a clear error', async () => {
    const ok = await add({ sources: [{ kind: 'url', url: `${base}/files/hello.txt` }], dest: '/c/', checksum: `sha256:${sha('hello from http\n')}` });
    expect(describeTree(ok)).toContain('c/hello.txt file 0600 0:0 "hello from http\\n"');
    const wrong = `sha256:${'0'.repeat(64)}`;
    const mismatch = await failure(add({ sources: [{ kind: 'url', url: `${base}/files/hello.txt` }], dest: '/c/', checksum: wrong }));
    expect(mismatch.code).toBe('ADD_CHECKSUM');
    expect(mismatch.message).toBe(`ADD failed: checksum mismatch for ${base}/files/hello.txt: expected ${wrong}, got sha256:${sha('hello from http\n')}`);
    const missing = await failure(add({ sources: [{ kind: 'url', url: `${base}/nope` }], dest: '/c/' }));
    expect(missing.message).toBe(`ADD failed: GET ${base}/nope: 404 Not Found`);
    expect((await failure(add({ sources: [{ kind: 'url', url: 'http://127.0.0.1:1/x' }], dest: '/c/' }))).code).toBe('ADD_DOWNLOAD');
    expect(() => parseChecksum('md5:abc')).toThrow('invalid --checksum');
    expect(parseChecksum(`sha512:${'A'.repeat(128)}`)).toEqual({ algorithm: 'sha512', hex: 'a'.repeat(128) });
  });

  test('a URL without a file name needs a destination file name', async () => {
    expect((await failure(add({ sources: [{ kind: 'url', url: `${base}/` }], dest: '/x/' }))).message).toContain('cannot determine a file name');
    expect(describeTree(await add({ sources: [{ kind: 'url', url: `${base}/` }], dest: '/x/file' }))).toContain('x/file file 0600 0:0 "hello from http\\n"');
    expect(remoteFileName('http://h/a/b%20c.txt?q=1', null)).toBe('b c.txt');
    expect(remoteFileName('http://h/a/%2F', null)).toBe('');
  });

  test('fetched first for the cache key, then copied', async () => {
    const dir = tempDir();
    const remote = await fetchRemoteSource(`${base}/files/hello.txt`, { dir });
    expect(remote).toMatchObject({ name: 'hello.txt', size: 16, digest: `sha256:${sha('hello from http\n')}`, mtimeMs: Date.parse(lastModified) });
    const key = await checksumSources([remote]);
    expect(key.digest).toMatch(/^sha256:/);
    const upper = await add({ sources: [remote], dest: '/k/' });
    expect(describeTree(upper)).toContain('k/hello.txt file 0600 0:0 "hello from http\\n"');
    writeFileSync(join(dir, 'unrelated'), 'x');
  });
});
