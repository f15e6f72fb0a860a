import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, buildContext, historyLines, inspect, useBuildWorkspace, readText, unpack, writeFiles } from './helpers/build.js';
import { runOk, tsbuild } from './helpers/run.js';
import { describeTree } from './helpers/tree.js';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
/** describeTree's content column for a file. */
const fileLine = (content: string): string => `file ${Buffer.byteLength(content)} ${sha256(content).slice(0, 16)}`;

describe('tsbuild build: COPY and ADD', () => {
  const ws = useBuildWorkspace();
  const { context, out } = ws;

  it('COPY: file to dir/ and to a new name, globs, a directory copies its contents, trailing slashes, destination created, WORKDIR-relative', async () => {
    const files = {
      'a.txt': 'a\n',
      'b.txt': 'b\n',
      'c.md': 'c\n',
      'dir/d.txt': 'd\n',
      'dir/sub/s.txt': 's\n',
      'dir/sublink': { symlink: 'sub' },
      'dir/abs-link': { symlink: '/etc/passwd' },
      'dir/dangling': { symlink: 'nowhere' },
      'exec.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
      'private.txt': { content: 'p\n', mode: 0o600 },
      'link-to-a': { symlink: 'a.txt' },
    };
    const dockerfile = [
      'FROM busybox',
      'COPY a.txt /dst-dir/',
      'COPY a.txt /renamed.txt',
      'COPY *.txt /globbed/',
      'COPY a.txt b.txt /multi/',
      'COPY dir /copied',
      'COPY dir/ /copied-slash/',
      'COPY dir/sub /deep/new/path/',
      'COPY exec.sh private.txt /modes/',
      'COPY link-to-a /followed',
      'COPY dir/d.txt /copied/sub/',
      'WORKDIR /work',
      'COPY a.txt .',
      'COPY b.txt rel/',
      'COPY c.md ./rel/renamed.md',
      '',
    ].join('\n');
    await buildContext(ws, context(), 'copy:rules', dockerfile, files);
    const tree = await unpack(ws.root, 'copy:rules', out());
    const describe = (path: string): Promise<string[]> => describeTree(join(tree, path));
    expect(await describe('dst-dir')).toEqual([`a.txt ${fileLine('a\n')} 0644 0:0`]);
    expect((await describeTree(tree)).filter((line) => line.startsWith('renamed.txt') || line.startsWith('followed'))).toEqual([
      // a symlink named as a source is followed (docker copies what it points to) ...
      `followed ${fileLine('a\n')} 0644 0:0`,
      `renamed.txt ${fileLine('a\n')} 0644 0:0`,
    ]);
    expect(await describe('globbed')).toEqual([`a.txt ${fileLine('a\n')} 0644 0:0`, `b.txt ${fileLine('b\n')} 0644 0:0`, `private.txt ${fileLine('p\n')} 0600 0:0`]);
    expect(await describe('multi')).toEqual([`a.txt ${fileLine('a\n')} 0644 0:0`, `b.txt ${fileLine('b\n')} 0644 0:0`]);
    // ... while symlinks inside a copied directory stay symlinks, whatever they point to
    const dirContents = [
      'abs-link symlink -> /etc/passwd 0:0',
      'd.txt file 2 ' + sha256('d\n').slice(0, 16) + ' 0644 0:0',
      'dangling symlink -> nowhere 0:0',
      'sub dir 0755 0:0',
      `sub/s.txt ${fileLine('s\n')} 0644 0:0`,
      'sublink symlink -> sub 0:0',
    ];
    expect(await describe('copied-slash')).toEqual(dirContents);
    // COPY dir/d.txt /copied/sub/ merged one more file into the copied directory
    expect(await describe('copied')).toEqual([...dirContents.slice(0, 4), `sub/d.txt ${fileLine('d\n')} 0644 0:0`, ...dirContents.slice(4)]);
    expect(await describe('deep')).toEqual(['new dir 0755 0:0', 'new/path dir 0755 0:0', `new/path/s.txt ${fileLine('s\n')} 0644 0:0`]);
    expect(await describe('modes')).toEqual([`exec.sh ${fileLine('#!/bin/sh\necho run\n')} 0755 0:0`, `private.txt ${fileLine('p\n')} 0600 0:0`]);
    expect(await describe('work')).toEqual([
      `a.txt ${fileLine('a\n')} 0644 0:0`,
      'rel dir 0755 0:0',
      `rel/b.txt ${fileLine('b\n')} 0644 0:0`,
      `rel/renamed.md ${fileLine('c\n')} 0644 0:0`,
    ]);
    const history = historyLines((await inspect(ws.root, 'copy:rules')).config);
    expect(history).toContain('COPY a.txt /dst-dir/ # buildkit');
    expect(history).toContain('COPY *.txt /globbed/ # buildkit');
  });

  it('COPY --chown by id and by name, --chmod on files and directory contents, and COPY <<EOF heredocs', async () => {
    const files = { 'a.txt': 'a\n', 'dir/one': '1\n', 'dir/sub/two': '2\n' };
    const dockerfile = [
      'FROM busybox',
      'ENV WHO=world',
      'COPY --chown=1234:5678 a.txt /own/numeric',
      'COPY --chown=1234 a.txt /own/numeric-uid-only',
      'COPY --chown=app a.txt /own/name',
      'COPY --chown=app:nogroup a.txt /own/name-group',
      'COPY --chown=nobody:1000 dir /own/dir/',
      'COPY --chmod=0640 a.txt /mode/file',
      'COPY --chmod=751 dir /mode/dir/',
      'COPY --chown=app --chmod=600 a.txt /mode/both',
      'COPY <<EOF /heredoc/expanded.txt',
      'hello $WHO',
      'EOF',
      'COPY <<"EOF" /heredoc/quoted.txt',
      'hello $WHO',
      'EOF',
      'COPY --chmod=755 <<ONE <<TWO /heredoc/dir/',
      'first',
      'ONE',
      'second',
      'TWO',
      '',
    ].join('\n');
    await buildContext(ws, context(), 'copy:owners', dockerfile, files);
    const tree = await unpack(ws.root, 'copy:owners', out());
    const a = fileLine('a\n');
    expect(await describeTree(join(tree, 'own'))).toEqual([
      'dir dir 0755 65534:1000',
      `dir/one ${fileLine('1\n')} 0644 65534:1000`,
      'dir/sub dir 0755 65534:1000',
      `dir/sub/two ${fileLine('2\n')} 0644 65534:1000`,
      `name ${a} 0644 1000:1000`,
      `name-group ${a} 0644 1000:65534`,
      `numeric ${a} 0644 1234:5678`,
      `numeric-uid-only ${a} 0644 1234:1234`,
    ]);
    const mode = await describeTree(join(tree, 'mode'));
    expect(mode.filter((line) => !line.startsWith('dir '))).toEqual([
      `both ${a} 0600 1000:1000`,
      `dir/one ${fileLine('1\n')} 0751 0:0`,
      'dir/sub dir 0751 0:0',
      `dir/sub/two ${fileLine('2\n')} 0751 0:0`,
      `file ${a} 0640 0:0`,
    ]);
    expect(await describeTree(join(tree, 'heredoc'))).toEqual([
      'dir dir 0755 0:0',
      `dir/ONE ${fileLine('first\n')} 0755 0:0`,
      `dir/TWO ${fileLine('second\n')} 0755 0:0`,
      `expanded.txt ${fileLine('hello world\n')} 0644 0:0`,
      `quoted.txt ${fileLine('hello $WHO\n')} 0644 0:0`,
    ]);
  });

  it('COPY --from a stage by name, by index, and an image in the store; symlinks inside stay symlinks', async () => {
    await buildContext(ws, context(), 'copy:source-image', 'FROM scratch\nCOPY marker.txt /marker.txt\n', { 'marker.txt': 'from an image\n' });
    const dockerfile = [
      'FROM busybox AS builder',
      'RUN mkdir -p /out/sub && echo built > /out/file && echo s > /out/sub/s && ln -s file /out/link && chown -R 1000:1000 /out/sub',
      'FROM scratch AS other',
      'COPY --from=builder /out/file /only-file',
      'FROM busybox',
      'COPY --from=builder /out /from-name',
      'COPY --from=0 /out/file /from-index-0',
      'COPY --from=1 /only-file /from-index-1',
      'COPY --from=copy:source-image /marker.txt /from-image.txt',
      'COPY --from=builder --chown=app /out/sub /chowned/',
      '',
    ].join('\n');
    await buildContext(ws, context(), 'copy:from', dockerfile);
    const tree = await unpack(ws.root, 'copy:from', out());
    expect(await describeTree(join(tree, 'from-name'))).toEqual([
      `file ${fileLine('built\n')} 0644 0:0`,
      'link symlink -> file 0:0',
      'sub dir 0755 1000:1000',
      `sub/s ${fileLine('s\n')} 0644 1000:1000`,
    ]);
    expect(await readText(tree, 'from-index-0')).toBe('built\n');
    expect(await readText(tree, 'from-index-1')).toBe('built\n');
    expect(await readText(tree, 'from-image.txt')).toBe('from an image\n');
    expect(await describeTree(join(tree, 'chowned'))).toEqual([`s ${fileLine('s\n')} 0644 1000:1000`]);
  });

  it('ADD extracts local tar, gzip, bzip2 and xz archives into the destination; a compressed non-tar file is copied as is', async () => {
    const ctx = context();
    const payload = join(ws.work, 'payload');
    await writeFiles(payload, {
      'top.txt': 'top\n',
      'nested/deeper/file.txt': 'deep\n',
      'nested/link': { symlink: 'deeper/file.txt' },
      'tool.sh': { content: '#!/bin/sh\n', mode: 0o750 },
      'empty': { dir: true, mode: 0o700 },
    });
    await writeFiles(ctx, { 'plain.txt': 'just gzip\n' });
    const tarArgs = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', payload];
    await runOk('tar', ['-cf', join(ctx, 'p.tar'), ...tarArgs, '.']);
    await runOk('tar', ['-czf', join(ctx, 'p.tar.gz'), ...tarArgs, '.']);
    await runOk('tar', ['-cjf', join(ctx, 'p.tbz2'), ...tarArgs, '.']);
    await runOk('tar', ['-cJf', join(ctx, 'p.txz'), ...tarArgs, '.']);
    await runOk('sh', ['-c', `gzip -c ${join(ctx, 'plain.txt')} > ${join(ctx, 'plain.txt.gz')}`]);
    const dockerfile = [
      'FROM busybox',
      'ADD p.tar /x/tar/',
      'ADD p.tar.gz /x/gzip',
      'ADD p.tbz2 /x/bzip2/',
      'ADD p.txz /x/xz/',
      'RUN mkdir -p /x/merge && echo existing > /x/merge/existing.txt',
      'ADD p.tar.gz /x/merge/',
      'ADD plain.txt.gz /x/not-extracted.gz',
      '',
    ].join('\n');
    await buildContext(ws, ctx, 'add:archives', dockerfile);
    const tree = await unpack(ws.root, 'add:archives', out());
    const expected = await describeTree(payload);
    for (const dir of ['tar', 'gzip', 'bzip2', 'xz']) expect(await describeTree(join(tree, 'x', dir))).toEqual(expected);
    expect(await describeTree(join(tree, 'x/merge'))).toEqual([...expected, `existing.txt ${fileLine('existing\n')} 0644 0:0`].sort());
    const gz = await readFile(join(ctx, 'plain.txt.gz'));
    expect(await describeTree(join(tree, 'x'))).toContain(`not-extracted.gz file ${gz.length} ${sha256(gz).slice(0, 16)} 0644 0:0`);
  });

  describe('ADD of a URL', () => {
    let server: Server;
    let base: string;
    const served = new Map<string, Buffer>();

    beforeAll(async () => {
      served.set('/files/remote.txt', Buffer.from('remote content\n'));
      server = createServer((request, response) => {
        const body = served.get(request.url ?? '');
        if (!body) {
          response.writeHead(404).end('not found');
          return;
        }
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const payload = join(ws.work, 'url-payload');
      await writeFiles(payload, { 'inside.txt': 'inside\n' });
      const archive = join(ws.work, 'remote.tar.gz');
      await runOk('tar', ['-czf', archive, '-C', payload, '.']);
      served.set('/files/remote.tar.gz', await readFile(archive));
    });
    afterAll(async () => {
      server.close();
      await once(server, 'close');
    });

    it('fetches into a dir/ (named after the URL path) or to a file name, mode 0600, archives not extracted; --checksum verified', async () => {
      const remote = served.get('/files/remote.txt')!;
      const archive = served.get('/files/remote.tar.gz')!;
      const dockerfile = [
        'FROM busybox',
        `ADD ${base}/files/remote.txt /remote/`,
        `ADD ${base}/files/remote.txt /named.txt`,
        `ADD --checksum=sha256:${sha256(remote)} ${base}/files/remote.txt /checked.txt`,
        `ADD ${base}/files/remote.tar.gz /archive/`,
        `ADD --chown=app ${base}/files/remote.txt /owned.txt`,
        '',
      ].join('\n');
      await buildContext(ws, context(), 'add:url', dockerfile);
      const tree = await unpack(ws.root, 'add:url', out());
      const line = `file ${remote.length} ${sha256(remote).slice(0, 16)} 0600`;
      expect(await describeTree(join(tree, 'remote'))).toEqual([`remote.txt ${line} 0:0`]);
      const top = await describeTree(tree);
      expect(top).toContain(`named.txt ${line} 0:0`);
      expect(top).toContain(`checked.txt ${line} 0:0`);
      expect(top).toContain(`owned.txt ${line} 1000:1000`);
      expect(await describeTree(join(tree, 'archive'))).toEqual([`remote.tar.gz file ${archive.length} ${sha256(archive).slice(0, 16)} 0600 0:0`]);
    });

    it('a wrong --checksum fails the build at that line and tags nothing; a missing URL fails too', async () => {
      const ctx = context();
      await writeFiles(ctx, { Dockerfile: `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} ${base}/files/remote.txt /remote.txt\n` });
      const wrong = await build(ws.root, ['-q', '-t', 'add:wrong', ctx]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^Error: Dockerfile:2: .*checksum/m);
      expect(wrong.stderr).toContain(sha256(served.get('/files/remote.txt')!));
      await writeFiles(ctx, { Dockerfile: `FROM busybox\nRUN true\nADD ${base}/files/missing.txt /missing.txt\n` });
      const missing = await build(ws.root, ['-q', '-t', 'add:wrong', ctx]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^Error: Dockerfile:3: .*404/m);
      const images = await tsbuild(ws.root, ['images', '--format', 'json']);
      expect(images.stdout).not.toContain('add:wrong');
    });
  });

  it('COPY errors: a missing source, several sources to a non-directory, a source outside the context', async () => {
    const ctx = context();
    await writeFiles(ctx, { 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const cases: Array<[string, RegExp]> = [
      ['FROM busybox\nCOPY nope.txt /x\n', /^Error: Dockerfile:2: .*nope\.txt/],
      ['FROM busybox\nCOPY a.txt b.txt /notdir\n', /^Error: Dockerfile:2: .*destination must be a directory and end with a \//],
      ['FROM busybox\nCOPY ../outside /x\n', /^Error: Dockerfile:2: /],
    ];
    for (const [dockerfile, message] of cases) {
      await writeFiles(ctx, { Dockerfile: dockerfile });
      const result = await build(ws.root, ['-q', ctx]);
      expect(result.code, dockerfile).toBe(1);
      expect(result.stderr.split('\n').filter(Boolean), dockerfile).toHaveLength(1);
      expect(result.stderr, dockerfile).toMatch(message);
    }
  });
});
