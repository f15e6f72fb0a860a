import { cpSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { cleanupTemp, tempDir, writeTree } from './__fixtures__/tree.js';
import { openBuildContext, type BuildContext } from './build-context.js';
import { ContextError } from './errors.js';
import type { SelectedSource } from './source.js';

afterAll(cleanupTemp);

const buildah = fileURLToPath(new URL('../../testdata/buildah/', import.meta.url));

/** A writable copy of a buildah conformance context. */
function buildahContext(name: string): string {
  const dir = join(tempDir(), name.replaceAll('/', '-'));
  cpSync(join(buildah, name), dir, { recursive: true });
  return dir;
}

/** What the selected sources would copy: per source its path, then the relative paths it walks. */
function listing(sources: SelectedSource[]): string[] {
  return sources.flatMap((source) => [...source.walk()].map((entry) => `${source.path || '.'}:${entry.rel || '.'}${entry.type === 'directory' ? '/' : ''}`));
}

function errorOf(run: () => unknown): ContextError {
  try {
    run();
  } catch (error) {
    if (error instanceof ContextError) return error;
    throw error;
  }
  throw new Error('expected a ContextError');
}

describe('openBuildContext', () => {
  test('resolves the context through symlinks and finds the Dockerfile', async () => {
    const real = writeTree(tempDir(), { Dockerfile: 'FROM scratch\n' });
    const link = join(tempDir(), 'ctx-link');
    symlinkSync(real, link);
    const context = await openBuildContext(link);
    expect(context.dir).toBe(real);
    expect(context.dockerfilePath).toBe(join(real, 'Dockerfile'));
    expect(await context.readDockerfile()).toBe('FROM scratch\n');
  });

  test('falls back to a lowercase dockerfile; -f may point outside the context (relative to the cwd)', async () => {
    const context = await openBuildContext(writeTree(tempDir(), { dockerfile: 'FROM a\n' }));
    expect(await context.readDockerfile()).toBe('FROM a\n');
    const outside = writeTree(tempDir(), { 'x.Dockerfile': 'FROM b\n' });
    const other = await openBuildContext(tempDir(), { dockerfile: relative(process.cwd(), join(outside, 'x.Dockerfile')) });
    expect(await other.readDockerfile()).toBe('FROM b\n');
  });

  test('a missing context or Dockerfile is a clear error', async () => {
    await expect(openBuildContext('/nonexistent/ctx')).rejects.toMatchObject({ code: 'CONTEXT_NOT_FOUND' });
    const file = join(tempDir(), 'file');
    writeFileSync(file, 'x');
    await expect(openBuildContext(file)).rejects.toMatchObject({ code: 'CONTEXT_NOT_FOUND' });
    const context = await openBuildContext(tempDir());
    await expect(context.readDockerfile()).rejects.toMatchObject({ code: 'DOCKERFILE_NOT_FOUND' });
  });

  test('the Dockerfile and .dockerignore stay readable but COPY does not see them when excluded', async () => {
    const dir = writeTree(tempDir(), { Dockerfile: 'FROM scratch\n', '.dockerignore': 'Dockerfile\n.dockerignore\n', 'a.txt': 'a' });
    const context = await openBuildContext(dir);
    expect(await context.readDockerfile()).toBe('FROM scratch\n');
    expect(listing(context.select(['.']))).toEqual(['.:./', '.:a.txt']);
    expect(errorOf(() => context.select(['Dockerfile'])).code).toBe('SOURCE_NOT_FOUND');
  });
});

describe('source selection', () => {
  async function open(spec: Parameters<typeof writeTree>[1]): Promise<BuildContext> {
    return openBuildContext(writeTree(tempDir(), spec));
  }

  test('literal paths, the root, absolute paths (context-relative) and the empty path', async () => {
    const context = await open({ 'dir/file': 'f', 'top.txt': 't' });
    expect(listing(context.select(['top.txt']))).toEqual(['top.txt:.']);
    expect(listing(context.select(['dir']))).toEqual(['dir:./', 'dir:file']);
    expect(listing(context.select(['/dir/']))).toEqual(['dir:./', 'dir:file']);
    expect(listing(context.select(['./dir/../top.txt']))).toEqual(['top.txt:.']);
    expect(context.select([''])[0]!.path).toBe('');
    expect(context.select(['.'])[0]!.path).toBe('');
    expect(context.select(['/'])[0]!.path).toBe('');
    expect(context.select(['dir/file'])[0]!.name).toBe('file');
  });

  test('a missing literal source: docker\'s message, naming it', async () => {
    const context = await open({ 'a.txt': 'a' });
    const error = errorOf(() => context.select(['missing.txt']));
    expect(error.code).toBe('SOURCE_NOT_FOUND');
    expect(error.message).toBe('COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist');
    expect(errorOf(() => context.select(['a.txt/x'])).code).toBe('SOURCE_NOT_FOUND');
    expect(errorOf(() => context.select(['missing'], { instruction: 'ADD' })).message).toMatch(/^ADD failed: /);
  });

  test('wildcards: matches in walk order; nothing matched anywhere is an error naming the patterns', async () => {
    const context = await open({ 'b.txt': 'b', 'a.txt': 'a', 'c.md': 'c', 'sub/d.txt': 'd', '.hidden.txt': 'h' });
    expect(context.select(['*.txt']).map((s) => s.path)).toEqual(['.hidden.txt', 'a.txt', 'b.txt']);
    expect(context.select(['*/*.txt']).map((s) => s.path)).toEqual(['sub/d.txt']);
    expect(context.select(['**/*.txt']).map((s) => s.path)).toEqual(['sub/d.txt']); // `**` is one component in COPY
    expect(context.select(['[ab].txt', '?.md']).map((s) => s.path)).toEqual(['a.txt', 'b.txt', 'c.md']);
    // A wildcard that matches nothing is fine while the instruction as a whole selects something (docker and BuildKit).
    expect(context.select(['a.txt', 'nomatch*']).map((s) => s.path)).toEqual(['a.txt']);
    const error = errorOf(() => context.select(['*.nomatch', 'x?']));
    expect(error.code).toBe('NO_SOURCE_FILES');
    expect(error.message).toBe('COPY failed: no source files were specified: nothing matches "*.nomatch", "x?"');
    expect(errorOf(() => context.select(['[bad'])).code).toBe('BAD_SOURCE_PATTERN');
  });

  test('copyglob (buildah): wildcards select directories, whose contents are then copied', async () => {
    const context = await openBuildContext(buildahContext('copyglob'));
    expect(context.select(['?']).map((s) => s.path)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm']);
    expect(context.select(['*.txt']).map((s) => s.path)).toEqual(['Beach.txt', 'pasteups.txt']);
    expect(context.select(['*/.sub']).map((s) => s.path)).toEqual(['b/.sub', 'd/.sub', 'e/.sub', 'f/.sub', 'h/.sub', 'i/.sub', 'l/.sub']);
    expect(listing(context.select(['k']))).toEqual(['k:./', 'k:coembody.txt', 'k:unvoweled.txt']);
  });

  test('copy-escape-glob (buildah): classes and escapes select names with wildcard characters', async () => {
    const dir = buildahContext('copy-escape-glob');
    for (const name of ['jkl?', 'n?pe', 'st*uv']) writeTree(join(dir, 'app'), { [`${name}/file.txt`]: name });
    const context = await openBuildContext(dir);
    expect(context.select(['./app/[[]xyz]/file.txt']).map((s) => s.path)).toEqual(['app/[xyz]/file.txt']);
    expect(context.select(['./app/[[]xyz]/[[]abc]/file.txt']).map((s) => s.path)).toEqual(['app/[xyz]/[abc]/file.txt']);
    expect(context.select(['./app/*']).map((s) => s.path)).toEqual(['app/[xyz]', 'app/jkl?', 'app/n?pe', 'app/nope', 'app/st*uv', 'app/strauv']);
    expect(context.select(['./app/n\\?pe/file.txt']).map((s) => s.path)).toEqual(['app/n?pe/file.txt']);
    expect(context.select(['./app/st\\*uv/file.txt']).map((s) => s.path)).toEqual(['app/st*uv/file.txt']);
    // Unescaped, the same patterns are wildcards that also match the plain names.
    expect(context.select(['./app/n?pe/file.txt']).map((s) => s.path)).toEqual(['app/n?pe/file.txt', 'app/nope/file.txt']);
  });

  test('a source symlink is followed inside the context and copied under its own name', async () => {
    const context = await open({ 'file.tar.gz': 'data', 'file-link.tar.gz': { symlink: 'file.tar.gz' }, 'dir/x': 'x', 'dirlink': { symlink: './dir' } });
    const [file] = context.select(['file-link.tar.gz']);
    expect(file).toMatchObject({ path: 'file.tar.gz', name: 'file-link.tar.gz' });
    expect(file!.entry.type).toBe('file');
    expect(listing(context.select(['dirlink']))).toEqual(['dir:./', 'dir:x']);
    expect(context.select(['dirlink/x'])[0]!.path).toBe('dir/x');
    expect(context.select(['*.gz']).map((s) => [s.name, s.entry.type])).toEqual([
      ['file-link.tar.gz', 'file'],
      ['file.tar.gz', 'file'],
    ]);
  });

  test('symlinks below a selected directory are listed as symlinks, never followed', async () => {
    const context = await open({ 'dir/etc': { symlink: '/etc' }, 'dir/up': { symlink: '../..' } });
    const entries = [...context.select(['dir'])[0]!.walk()];
    expect(entries.map((e) => [e.rel, e.type, e.linkTarget])).toEqual([
      ['', 'directory', undefined],
      ['etc', 'symlink', '/etc'],
      ['up', 'symlink', '../..'],
    ]);
  });
});

describe('hostile contexts', () => {
  test('`../` sources are refused', async () => {
    const context = await openBuildContext(writeTree(tempDir(), { 'a.txt': 'a' }));
    for (const pattern of ['../x', 'a/../../x', '../*', '/../etc/passwd']) {
      const error = errorOf(() => context.select([pattern]));
      expect(error.code).toBe('SOURCE_OUTSIDE_CONTEXT');
      expect(error.message).toContain('forbidden path outside the build context');
    }
  });

  test('a source symlink pointing out of the context (absolute, or climbing) is refused', async () => {
    const context = await openBuildContext(
      writeTree(tempDir(), {
        etc: { symlink: '/etc' },
        passwd: { symlink: '/etc/passwd' },
        up: { symlink: '../../../../../../etc' },
        'sub/deep': { symlink: '../../outside' },
        chain1: { symlink: 'sub/chain2' },
        'sub/chain2': { symlink: '../../x' },
      }),
    );
    // A wildcard does not walk into a symlinked directory (Go's filepath.Walk), but a matched symlink is followed.
    expect(errorOf(() => context.select(['e*/passwd'])).code).toBe('NO_SOURCE_FILES');
    for (const pattern of ['etc', 'etc/passwd', 'passwd', 'up/passwd', 'sub/deep', 'chain1', 'e?c', 'p*']) {
      const error = errorOf(() => context.select([pattern]));
      expect(error.code, pattern).toBe('SOURCE_OUTSIDE_CONTEXT');
      expect(error.message).toContain('points to');
    }
  });

  test('a symlink to an excluded file does not reach it', async () => {
    const context = await openBuildContext(writeTree(tempDir(), { '.dockerignore': 'secret\n', secret: 's', link: { symlink: 'secret' } }));
    expect(errorOf(() => context.select(['link'])).code).toBe('SOURCE_NOT_FOUND');
    expect(errorOf(() => context.select(['secret'])).code).toBe('SOURCE_NOT_FOUND');
  });

  test('symlink loops end with an error', async () => {
    const context = await openBuildContext(writeTree(tempDir(), { a: { symlink: 'b' }, b: { symlink: 'a' } }));
    expect(errorOf(() => context.select(['a'])).message).toContain('too many levels of symbolic links');
  });
});

describe('.dockerignore (buildah conformance contexts)', () => {
  async function context(name: string): Promise<BuildContext> {
    return openBuildContext(buildahContext(`dockerignore/${name}`));
  }

  test('exceptions-weirdness-1: `subdir` + `!*/sub1*` keeps only subdir/sub1.txt (and its directory)', async () => {
    const ctx = await context('exceptions-weirdness-1');
    expect(listing(ctx.select(['./']))).toEqual(['.:./', '.:.dockerignore', '.:Dockerfile', '.:subdir/', '.:subdir/sub1.txt']);
  });

  test('exceptions-weirdness-2: a second exception adds sub3.txt', async () => {
    const ctx = await context('exceptions-weirdness-2');
    expect(listing(ctx.select(['./']))).toEqual(['.:./', '.:.dockerignore', '.:Dockerfile', '.:subdir/', '.:subdir/sub1.txt', '.:subdir/sub3.txt']);
  });

  test('exceptions-skip: `volume/` + `!**/oneline.txt` walks into the excluded directory', async () => {
    const ctx = await context('exceptions-skip');
    expect(listing(ctx.select(['./']))).toEqual([
      '.:./',
      '.:.dockerignore',
      '.:Dockerfile',
      '.:volume/',
      '.:volume/data/',
      '.:volume/data/oneline.txt',
    ]);
  });

  test('integration1: `*`, `!test2*`, `!*/sub1*`: COPY subdir works, only the re-included files come', async () => {
    const ctx = await context('integration1');
    expect(listing(ctx.select(['./']))).toEqual(['.:./', '.:subdir/', '.:subdir/sub1.txt', '.:test2.txt']);
    expect(listing(ctx.select(['subdir']))).toEqual(['subdir:./', 'subdir:sub1.txt']);
  });

  test('integration3: allowlist with re-exclusions; COPY test1.txt fails (line 4 of its Dockerfile)', async () => {
    const ctx = await context('integration3');
    expect(listing(ctx.select(['.']))).toEqual([
      '.:./',
      '.:README.md',
      '.:src/',
      '.:src/Makefile',
      '.:src/cmd/',
      '.:src/cmd/Makefile',
      '.:src/lib/',
      '.:src/lib/Makefile',
      '.:test2.txt',
      '.:test3.txt',
    ]);
    expect(listing(ctx.select(['src']))).toEqual(['src:./', 'src:Makefile', 'src:cmd/', 'src:cmd/Makefile', 'src:lib/', 'src:lib/Makefile']);
    expect(errorOf(() => ctx.select(['test1.txt'])).code).toBe('SOURCE_NOT_FOUND');
  });

  test('minimal_test: `stuff/huge/*` + `!stuff/huge/usr/bin/*`', async () => {
    const ctx = await context('minimal_test');
    expect(listing(ctx.select(['stuff']))).toEqual([
      'stuff:./',
      'stuff:huge/',
      'stuff:huge/usr/',
      'stuff:huge/usr/bin/',
      'stuff:huge/usr/bin/file1',
      'stuff:huge/usr/bin/file2',
    ]);
  });

  test('allowlist/alternating: every level of alternating rules can be selected', async () => {
    const ctx = await context('allowlist/alternating');
    const levels = ['subdir', 'subdir/subdir1', 'subdir/subdir1/subdir2', 'subdir/subdir1/subdir2/subdir3'];
    for (const level of levels) expect(ctx.select([level]).length).toBe(1);
    expect(listing(ctx.select(['subdir/subdir1/subdir2/subdir3/subdir4/subdir5']))).toEqual([
      'subdir/subdir1/subdir2/subdir3/subdir4/subdir5:./',
      'subdir/subdir1/subdir2/subdir3/subdir4/subdir5:file',
    ]);
    expect(ctx.select(['subdir/subdir1/subdir2/subdir3/subdir4/subdir5/file']).length).toBe(1);
  });

  test('allowlist/alternating-nothing and -other: an excluded directory with nothing re-included is not there (line 7)', async () => {
    for (const name of ['allowlist/alternating-nothing', 'allowlist/alternating-other']) {
      const ctx = await context(name);
      expect(ctx.select(['subdir/subdir1/subdir2/subdir3/subdir4']).length).toBe(1);
      expect(errorOf(() => ctx.select(['subdir/subdir1/subdir2/subdir3/subdir4/subdir5'])).code).toBe('SOURCE_NOT_FOUND');
    }
  });

  test('allowlist/subdir-file and subdir-nofile', async () => {
    expect(listing((await context('allowlist/subdir-file')).select(['folder1']))).toEqual(['folder1:./', 'folder1:file1']);
    const nofile = await context('allowlist/subdir-nofile');
    expect(errorOf(() => nofile.select(['folder1'])).code).toBe('SOURCE_NOT_FOUND');
  });

  test('allowlist/nothing-dot and subsubdir-*: `.` always exists, holding only what is re-included', async () => {
    expect(listing((await context('allowlist/nothing-dot')).select(['.']))).toEqual(['.:./']);
    expect(listing((await context('allowlist/subsubdir-file')).select(['.']))).toEqual(['.:./', '.:folder/', '.:folder/subfolder/', '.:folder/subfolder/file']);
    expect(listing((await context('allowlist/subsubdir-nofile')).select(['.']))).toEqual(['.:./']);
  });
});
