import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContext, inspect, makeBuildWorkspace, unpack, type BuildWorkspace } from './helpers/build.js';
import { run, runOk } from './helpers/run.js';
import { describeTree } from './helpers/tree.js';

/** The content hash prefix describeTree shows. */
const sha16 = (content: string): string => createHash('sha256').update(content).digest('hex').slice(0, 16);

describe('tsbuild build: whiteouts, and our images in other tools and a real runtime', () => {
  let ws: BuildWorkspace;
  let n = 0;
  const context = (): string => join(ws.work, `ctx-${++n}`);
  const out = (): string => join(ws.work, `out-${++n}`);

  beforeAll(async () => {
    ws = await makeBuildWorkspace();
    // A base image whose layers hold the files the child deletes.
    await buildContext(ws, context(), 'wo:base', [
      'FROM busybox',
      'COPY tree/ /data/',
      'RUN mkdir -p /data/populated/sub && echo a > /data/populated/a && echo b > /data/populated/sub/b && ln -s a /data/populated/link',
      '',
    ].join('\n'), {
      'tree/keep.txt': 'keep\n',
      'tree/gone-file.txt': 'gone\n',
      'tree/gone-dir/x/y.txt': 'y\n',
      'tree/gone-dir/z.txt': 'z\n',
    });
    await buildContext(ws, context(), 'wo:child', [
      'FROM wo:base',
      'RUN rm -rf /data/gone-dir /data/gone-file.txt /bin/vi /etc/group \\',
      '    && rm -rf /data/populated && mkdir -p /data/populated/new && echo n > /data/populated/new/n.txt',
      'CMD ["ls", "/data"]',
      '',
    ].join('\n'));
  });
  afterAll(async () => ws.cleanup());

  it('a RUN that deletes a base file and a base directory and replaces a populated directory: unpack shows them gone', async () => {
    const tree = await unpack(ws.root, 'wo:child', out());
    expect(await describeTree(join(tree, 'data'))).toEqual([
      `keep.txt file 5 ${sha16('keep\n')} 0644 0:0`,
      'populated dir 0755 0:0',
      'populated/new dir 0755 0:0',
      `populated/new/n.txt file 2 ${sha16('n\n')} 0644 0:0`,
    ]);
    const names = await readdir(tree);
    expect(names).toContain('bin');
    expect(await readdir(join(tree, 'bin'))).not.toContain('vi');
    expect(await readdir(join(tree, 'bin'))).toContain('sh');
    expect(await readdir(join(tree, 'etc'))).toEqual(['passwd']);
    // the base image itself still has them
    const base = await unpack(ws.root, 'wo:base', out());
    expect(await readdir(join(base, 'data'))).toEqual(['gone-dir', 'gone-file.txt', 'keep.txt', 'populated']);
    expect((await readdir(join(base, 'data/populated'))).sort()).toEqual(['a', 'link', 'sub']);
  });

  it('the layer holds OCI whiteouts (.wh.NAME, and an opaque marker for the replaced directory)', async () => {
    const image = await inspect(ws.root, 'wo:child');
    const top = image.manifest.layers.at(-1)!;
    const blob = join(ws.root, 'oci', 'blobs', 'sha256', top.digest.slice('sha256:'.length));
    const listed = (await runOk('tar', ['-tzf', blob])).stdout.split('\n').filter(Boolean).map((name) => name.replace(/^\.\//, '')).sort();
    expect(listed).toEqual(
      expect.arrayContaining(['bin/.wh.vi', 'etc/.wh.group', 'data/.wh.gone-dir', 'data/.wh.gone-file.txt', 'data/populated/.wh..wh..opq', 'data/populated/new/n.txt']),
    );
    // nothing else: no copy of the deleted content and no whiteouts of what the RUN did not delete
    expect(listed.filter((name) => !name.endsWith('/'))).toHaveLength(6);
  });

  it('umoci unpacks our image to the same tree as tsbuild unpack (from the store layout and after skopeo copy)', async () => {
    const ours = await unpack(ws.root, 'wo:child', out());
    const bundle = out();
    await runOk('umoci', ['unpack', '--image', `${join(ws.root, 'oci')}:wo:child`, bundle]);
    expect(await describeTree(join(bundle, 'rootfs'))).toEqual(await describeTree(ours));
    const layout = out();
    await runOk('skopeo', ['copy', '-q', `oci:${join(ws.root, 'oci')}:wo:child`, `oci:${layout}:x`]);
    const copied = out();
    await runOk('umoci', ['raw', 'unpack', '--image', `${layout}:x`, copied]);
    expect(await describeTree(copied)).toEqual(await describeTree(ours));
  });

  it('runc runs our image (umoci unpack + runc run) and prints what ENTRYPOINT, CMD, ENV, WORKDIR and USER say', async () => {
    await buildContext(ws, context(), 'greet:1', [
      'FROM busybox',
      'ENV GREETING=hello',
      'WORKDIR /srv',
      'COPY --chmod=755 greet.sh /usr/local/bin/greet',
      'USER app',
      'ENTRYPOINT ["/usr/local/bin/greet"]',
      'CMD ["world"]',
      '',
    ].join('\n'), { 'greet.sh': '#!/bin/sh\necho "$GREETING $1 from $(pwd) as $(id -u):$(id -g)"\n' });
    const bundle = out();
    await runOk('umoci', ['unpack', '--image', `${join(ws.root, 'oci')}:greet:1`, bundle]);
    const specPath = join(bundle, 'config.json');
    const spec = JSON.parse(await readFile(specPath, 'utf8')) as { process: { terminal: boolean; args: string[]; cwd: string; env: string[]; user: { uid: number; gid: number } } };
    expect(spec.process.args).toEqual(['/usr/local/bin/greet', 'world']);
    expect(spec.process.cwd).toBe('/srv');
    expect(spec.process.user).toMatchObject({ uid: 1000, gid: 1000 });
    spec.process.terminal = false;
    await writeFile(specPath, JSON.stringify(spec));
    const state = out();
    const id = `tsbuild-test-${process.pid}`;
    const result = await run('runc', ['--root', state, 'run', '--bundle', bundle, id], { timeout: 60_000 });
    await run('runc', ['--root', state, 'delete', '--force', id]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('hello world from /srv as 1000:1000\n');
    expect(result.code).toBe(0);
  });
});
