import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, buildOk, inspect, useBuildWorkspace, readText, stepStates, unpack, writeFiles } from './helpers/build.js';
import { tsbuild } from './helpers/run.js';

/** The relative paths under `dir` of an unpacked image (files and dirs), sorted. */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

describe('tsbuild build: multi-stage builds and the build context', () => {
  const ws = useBuildWorkspace();
  const { context, out } = ws;

  describe('multi-stage', () => {
    let ctx: string;
    beforeAll(async () => {
      ctx = context();
      await writeFiles(ctx, {
        Dockerfile: [
          'FROM busybox AS base',
          'RUN echo base > /base.txt',
          'FROM base AS broken',
          'RUN echo "this stage must not run" && exit 1',
          'FROM base AS dev',
          'RUN echo dev > /dev.txt',
          'FROM busybox AS final',
          'COPY --from=base /base.txt /from-name.txt',
          'COPY --from=2 /dev.txt /from-index.txt',
          'CMD ["cat", "/from-name.txt"]',
          '',
        ].join('\n'),
      });
    });

    it('builds the stages the last one needs and skips an unused stage that would fail', async () => {
      const { result } = await buildOk(ws.root, ['-t', 'multi:final', ctx]);
      expect(result.stderr).not.toContain('must not run');
      const texts = stepStates(result.stderr).map((step) => step.text);
      expect(texts).toContain('RUN echo base > /base.txt');
      expect(texts).toContain('RUN echo dev > /dev.txt');
      expect(texts.some((text) => text.includes('exit 1'))).toBe(false);
      const tree = await unpack(ws.root, 'multi:final', out());
      expect(await readText(tree, 'from-name.txt')).toBe('base\n');
      expect(await readText(tree, 'from-index.txt')).toBe('dev\n');
      expect(await listing(tree)).not.toContain('base.txt');
      const image = await inspect(ws.root, 'multi:final');
      expect(image.config.config.Cmd).toEqual(['cat', '/from-name.txt']);
      // only the final stage's history: the base layer and two COPYs
      expect(image.config.rootfs.diff_ids).toHaveLength(3);
    });

    it('--target builds a named stage and what it needs, nothing after it; a failing target fails', async () => {
      const { result } = await buildOk(ws.root, ['-t', 'multi:dev', '--target', 'dev', ctx]);
      expect(stepStates(result.stderr).some((step) => step.text.startsWith('COPY --from'))).toBe(false);
      const tree = await unpack(ws.root, 'multi:dev', out());
      expect(await readText(tree, 'base.txt')).toBe('base\n');
      expect(await readText(tree, 'dev.txt')).toBe('dev\n');
      const broken = await build(ws.root, ['-t', 'multi:broken', '--target', 'broken', ctx]);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/^Error: Dockerfile:4: RUN echo "this stage must not run" && exit 1: the command returned a non-zero code: 1$/m);
      const missing = await build(ws.root, ['--target', 'nosuchstage', ctx]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^Error: .*nosuchstage/m);
    });
  });

  describe('build context', () => {
    const contextFiles = {
      'app/main.txt': 'main\n',
      'app/debug.log': 'log\n',
      'app/cache.tmp': 'tmp\n',
      'app/deep/x.tmp': 'tmp\n',
      'secret/key.pem': 'secret\n',
      'secret/keep.txt': 'kept by an exception\n',
      'README.md': 'readme\n',
      '.dockerignore': '*.md\n**/*.log\n**/*.tmp\nsecret\n!secret/keep.txt\n',
    };

    it('.dockerignore excludes files from COPY . (patterns, ** and ! exceptions)', async () => {
      const ctx = context();
      await writeFiles(ctx, { ...contextFiles, Dockerfile: 'FROM busybox\nCOPY . /ctx/\n' });
      await buildOk(ws.root, ['-t', 'ctx:ignore', ctx]);
      const tree = await unpack(ws.root, 'ctx:ignore', out());
      expect(await listing(join(tree, 'ctx'))).toEqual(['.dockerignore', 'Dockerfile', 'app', 'app/deep', 'app/main.txt', 'secret', 'secret/keep.txt']);
      const excluded = await build(ws.root, ['-q', '-f', '-', ctx], { input: 'FROM busybox\nCOPY README.md /\n' });
      expect(excluded.code).toBe(1);
      expect(excluded.stderr).toMatch(/^Error: Dockerfile:2: .*README\.md/);
    });

    it('-f outside the context; <Dockerfile>.dockerignore beside it takes precedence over the context .dockerignore', async () => {
      const ctx = context();
      await writeFiles(ctx, contextFiles);
      const elsewhere = join(ws.work, 'dockerfiles');
      await writeFiles(elsewhere, {
        'App.Dockerfile': 'FROM busybox\nCOPY . /ctx/\n',
        'App.Dockerfile.dockerignore': 'app\n',
        'Plain.Dockerfile': 'FROM busybox\nCOPY . /ctx/\n',
      });
      await buildOk(ws.root, ['-t', 'ctx:own-ignore', '-f', join(elsewhere, 'App.Dockerfile'), ctx]);
      const own = await unpack(ws.root, 'ctx:own-ignore', out());
      expect(await listing(join(own, 'ctx'))).toEqual(['.dockerignore', 'README.md', 'secret', 'secret/keep.txt', 'secret/key.pem']);
      // without its own ignore file, the context's .dockerignore applies to a Dockerfile from elsewhere
      await buildOk(ws.root, ['-t', 'ctx:outside', '-f', join(elsewhere, 'Plain.Dockerfile'), ctx]);
      const plain = await unpack(ws.root, 'ctx:outside', out());
      expect(await listing(join(plain, 'ctx'))).toEqual(['.dockerignore', 'app', 'app/deep', 'app/main.txt', 'secret', 'secret/keep.txt']);
    });

    it('-f - reads the Dockerfile from standard input; -q prints only the image ID; --iidfile writes it', async () => {
      const ctx = context();
      await writeFiles(ctx, { 'file.txt': 'from the context\n' });
      const iidfile = join(ws.work, 'iid.txt');
      const result = await build(ws.root, ['-q', '-t', 'ctx:stdin', '--iidfile', iidfile, '-f', '-', ctx], {
        input: 'FROM busybox\nCOPY file.txt /file.txt\nRUN cat /file.txt > /copy.txt\n',
      });
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      const id = result.stdout.trim();
      expect(await readFile(iidfile, 'utf8')).toBe(id);
      expect((await inspect(ws.root, 'ctx:stdin')).configDigest).toBe(id);
      expect(await readText(await unpack(ws.root, 'ctx:stdin', out()), 'copy.txt')).toBe('from the context\n');
    });

    it('--format docker writes Docker schema 2 media types; the default is OCI; both hold the same layers', async () => {
      const ctx = context();
      await writeFiles(ctx, { Dockerfile: 'FROM busybox\nRUN echo formats > /formats.txt\nCMD ["cat", "/formats.txt"]\n' });
      await buildOk(ws.root, ['-t', 'fmt:oci', ctx]);
      await buildOk(ws.root, ['-t', 'fmt:docker', '--format', 'docker', ctx]);
      const oci = await inspect(ws.root, 'fmt:oci');
      const docker = await inspect(ws.root, 'fmt:docker');
      expect(oci.manifestMediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(oci.manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
      expect(new Set(oci.manifest.layers.map((layer) => layer.mediaType))).toEqual(new Set(['application/vnd.oci.image.layer.v1.tar+gzip']));
      expect(docker.manifestMediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      expect(docker.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      expect(docker.manifest.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
      expect(new Set(docker.manifest.layers.map((layer) => layer.mediaType))).toEqual(new Set(['application/vnd.docker.image.rootfs.diff.tar.gzip']));
      expect(docker.manifest.layers.map((layer) => layer.digest)).toEqual(oci.manifest.layers.map((layer) => layer.digest));
      expect(docker.config.rootfs).toEqual(oci.config.rootfs);
    });

    it('a context that is not a directory, and a missing Dockerfile, are clear errors', async () => {
      const notDir = await tsbuild(ws.root, ['build', join(ws.work, 'no-such-dir')]);
      expect(notDir.code).toBe(2);
      expect(notDir.stderr).toMatch(/^Error: build context .*no-such-dir.* is not a directory/);
      const ctx = context();
      await writeFiles(ctx, { 'file.txt': 'x' });
      const noDockerfile = await build(ws.root, [ctx]);
      expect(noDockerfile.code).toBe(1);
      expect(noDockerfile.stderr).toMatch(/^Error: .*Dockerfile.*no such file/);
    });
  });
});
