import { copyFile, lstat, mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBuildWorkspace, type BuildWorkspace, type ImageConfigJson } from './helpers/build.js';
import { run, runOk, tsbuild, type RunResult } from './helpers/run.js';
import { describeTree } from './helpers/tree.js';

/** buildah's conformance contexts (see the README there). */
const FIXTURES = fileURLToPath(new URL('../packages/builder/testdata/buildah/', import.meta.url));

/** `touch -t @1485449953` in the copyfrom cases: files with this mtime must keep it through COPY --from. */
const FIXED_MTIME_MS = 1_485_449_953_000;

/** One build compared between tsbuild and buildah. */
interface ConformanceCase {
  /** The context dir under the fixtures, or none: a context holding only the Dockerfile. */
  context?: string;
  /** The Dockerfile under the fixtures (default `<context>/Dockerfile`). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  /** Both builders must fail, tsbuild at this Dockerfile line. */
  failAt?: number;
  /**
   * Entries only tsbuild's image has, by deliberate difference: tsbuild follows BuildKit (today's `docker build`),
   * buildah 1.28 follows docker's classic builder.
   */
  onlyOurs?: { paths: string[]; why: string };
}

const CASES: Record<string, ConformanceCase> = {
  'copyfrom 2: a file to a file path': { dockerfile: 'Dockerfile.copyfrom_2' },
  'copyfrom 3_1: a file into WORKDIR under a new name': { dockerfile: 'Dockerfile.copyfrom_3_1' },
  'copyfrom 4: a dir/ to a dir/': { dockerfile: 'Dockerfile.copyfrom_4' },
  'copyfrom 5: a glob to a dir/': { dockerfile: 'Dockerfile.copyfrom_5' },
  'copyfrom 6: dir/. to a dir/': { dockerfile: 'Dockerfile.copyfrom_6' },
  'copyfrom 8: a file to an existing path': { dockerfile: 'Dockerfile.copyfrom_8' },
  'copyfrom 9: a file to a new dir/': { dockerfile: 'Dockerfile.copyfrom_9' },
  'copyfrom 11: a dir to a new nested path': { dockerfile: 'Dockerfile.copyfrom_11' },
  'copyfrom 12: a relative source path': { dockerfile: 'Dockerfile.copyfrom_12' },
  'copyfrom 13: a relative dir/. source': { dockerfile: 'Dockerfile.copyfrom_13' },
  'run args: shell and exec forms': { dockerfile: 'Dockerfile.run.args' },
  'expose default protocol': { dockerfile: 'Dockerfile.exposedefault' },
  'edge cases: MAINTAINER, ONBUILD, RUN/CMD/ENV forms, EXPOSE, USER, VOLUME, WORKDIR, ADD/COPY .': { dockerfile: 'Dockerfile.edgecases' },
  'env: a bad quote fails at its line': { dockerfile: 'Dockerfile.env', failAt: 12 },
  'add archive 1: ADD . .': { context: 'add/archive', dockerfile: 'add/archive/Dockerfile.1' },
  'add archive 2: ADD sub/ /': { context: 'add/archive', dockerfile: 'add/archive/Dockerfile.2' },
  'add archive 3: ADD a .tar.gz to /': { context: 'add/archive', dockerfile: 'add/archive/Dockerfile.3' },
  'add archive 4: ADD / /': { context: 'add/archive', dockerfile: 'add/archive/Dockerfile.4' },
  'add archive 5: ADD sub/ sub/': { context: 'add/archive', dockerfile: 'add/archive/Dockerfile.5' },
  'add archive 6: ADD a .tar.gz to /sub/': { context: 'add/archive', dockerfile: 'add/archive/Dockerfile.6' },
  'add archive 7: ADD sub/* /sub/': { context: 'add/archive', dockerfile: 'add/archive/Dockerfile.7' },
  'add: an archive whose non-dir replaces a dir': { context: 'add/not-dir-dir' },
  'add: an archive whose dir replaces a populated dir': { context: 'add/populated-dir-not-dir' },
  'add: an archive under a clean parent': { context: 'add/parent-clean' },
  'add: an archive under a dangling symlink parent': { context: 'add/parent-dangling' },
  'add: an archive entry climbing out through a symlink stays inside': { context: 'add/parent-symlink' },
  'copyblahblub 1: a dir to a new path': { context: 'copyblahblub' },
  'copyblahblub 2: an absolute source path': { context: 'copyblahblub', dockerfile: 'copyblahblub/Dockerfile2' },
  'copyblahblub 3: COPY --from a dir': { context: 'copyblahblub', dockerfile: 'copyblahblub/Dockerfile3' },
  'dir: COPY . /, COPY . dir, COPY subdir/ test/': { context: 'dir' },
  'overlapping dirs with a trailing slash': { context: 'overlapdirwithslash' },
  'overlapping dirs without a trailing slash': { context: 'overlapdirwithoutslash' },
  'volume: ADD into declared volumes': { context: 'volume' },
  'volumerun: RUN writes under a declared volume': {
    context: 'volumerun',
    onlyOurs: {
      paths: ['var/www/file3'],
      why: 'BuildKit keeps what a RUN writes under an earlier VOLUME; the classic builder (and buildah) throw it away',
    },
  },
  'wildcard: ADD globs to an ENV-named dir': { context: 'wildcard' },
  'copyglob: *.txt': { context: 'copyglob', buildArgs: { SOURCE: '*.txt' } },
  'copyglob: */sub/*.txt': { context: 'copyglob', buildArgs: { SOURCE: '*/sub/*.txt' } },
  'copyglob: [bm]/sub': { context: 'copyglob', buildArgs: { SOURCE: '[bm]/sub' } },
  'copyglob: a name with two dots': { context: 'copyglob', buildArgs: { SOURCE: 'i/sub/subsub/subsubsub/stacc..txt' } },
  'subdir: COPY . . from scratch': { context: 'subdir/subdir', dockerfile: 'subdir/subdir/Dockerfile' },
  'env precedence': { context: 'env/precedence' },
  'dockerignore allowlist: alternating': { context: 'dockerignore/allowlist/alternating' },
  'dockerignore allowlist: nothing but .': { context: 'dockerignore/allowlist/nothing-dot' },
  'dockerignore allowlist: a file in a subdir': { context: 'dockerignore/allowlist/subdir-file' },
  'dockerignore allowlist: no file in the subdir fails': { context: 'dockerignore/allowlist/subdir-nofile', failAt: 2 },
  'dockerignore allowlist: a file in a sub-subdir': { context: 'dockerignore/allowlist/subsubdir-file' },
  'dockerignore: empty': { context: 'dockerignore/empty' },
  'dockerignore: integration 2': { context: 'dockerignore/integration2' },
  'dockerignore: minimal': { context: 'dockerignore/minimal_test' },
  'dockerignore: exceptions weirdness 1': {
    context: 'dockerignore/exceptions-weirdness-1',
    onlyOurs: {
      paths: ['newdir/subdir', 'newdir/subdir/sub1.txt'],
      why: 'BuildKit walks into an excluded dir when ! exceptions exist (subdir/sub1.txt matches !*/sub1*); the classic builder and buildah 1.28 skip the dir',
    },
  },
  'dockerignore: exceptions weirdness 2': { context: 'dockerignore/exceptions-weirdness-2' },
};

/** What buildah adds to an image that ran a RUN: empty mount points and files it bind-mounts (never in ours). */
const BUILDAH_RUN_ARTIFACTS = new Set(['dev', 'proc', 'sys', 'run', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf']);

/** The config fields compared (ours as stored, and buildah inspect's Docker config). */
const CONFIG_FIELDS = ['Env', 'Cmd', 'Entrypoint', 'User', 'WorkingDir', 'ExposedPorts', 'Volumes', 'StopSignal', 'OnBuild', 'Shell', 'Healthcheck', 'Labels'] as const;

/** Empty values as absent, and buildah's own version label left out. */
function normalizedConfig(config: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    let value = config[field];
    if (field === 'Labels' && value && typeof value === 'object') {
      value = Object.fromEntries(Object.entries(value as Record<string, string>).filter(([key]) => key !== 'io.buildah.version'));
    }
    const empty = value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && Object.keys(value as object).length === 0);
    if (!empty) result[field] = value;
  }
  return result;
}

/** An image's config as stored: `index.json` entry by name, its manifest, its config blob. */
async function storedConfig(root: string, name: string): Promise<ImageConfigJson> {
  const blob = async (digest: string): Promise<Record<string, unknown>> =>
    JSON.parse(await readFile(join(root, 'oci', 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8')) as Record<string, unknown>;
  const index = JSON.parse(await readFile(join(root, 'oci', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
  if (!entry) throw new Error(`${name} is not in the store`);
  const manifest = (await blob(entry.digest)) as { config: { digest: string } };
  return (await blob(manifest.config.digest)) as unknown as ImageConfigJson;
}

/** Paths of entries whose mtime is the copyfrom cases' fixed time. */
async function fixedMtimePaths(root: string): Promise<string[]> {
  const lines = await describeTree(root, { mtimes: true });
  return lines.filter((line) => line.endsWith(` mtime=${FIXED_MTIME_MS}`)).map((line) => line.split(' ')[0]!);
}

describe('tsbuild build and buildah build give the same images for buildah conformance contexts', () => {
  let ws: BuildWorkspace;
  let buildahRoot: string;
  let runRoot: string;
  let slots = 3;
  const waiting: Array<() => void> = [];
  /** At most three cases at once (each runs both builders side by side): enough to keep 2 cores busy. */
  const limited = async <T>(task: () => Promise<T>): Promise<T> => {
    while (slots === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    slots--;
    try {
      return await task();
    } finally {
      slots++;
      waiting.shift()?.();
    }
  };
  const buildah = (args: readonly string[]): Promise<RunResult> =>
    run('buildah', ['--root', buildahRoot, '--runroot', runRoot, '--storage-driver', 'overlay', ...args], { timeout: 120_000 });

  beforeAll(async () => {
    ws = await makeBuildWorkspace('tsbuild-conformance-');
    buildahRoot = join(ws.work, 'buildah-root');
    runRoot = join(ws.work, 'buildah-runroot');
    for (const name of ['mirror.gcr.io/busybox:latest', 'mirror.gcr.io/alpine:latest']) {
      expect((await tsbuild(ws.root, ['tag', 'busybox:latest', name])).code).toBe(0);
    }
    // buildah gets the very same base: our docker-archive of it
    const archive = join(ws.work, 'busybox.tar');
    expect((await tsbuild(ws.root, ['save', '-o', archive, 'busybox:latest'])).code).toBe(0);
    const pulled = await buildah(['pull', '-q', `docker-archive:${archive}`]);
    expect(pulled.stderr).toBe('');
    const baseId = pulled.stdout.trim();
    expect(`sha256:${baseId}`).toBe(ws.baseId);
    for (const name of ['mirror.gcr.io/busybox:latest', 'mirror.gcr.io/alpine:latest']) expect((await buildah(['tag', baseId, name])).code).toBe(0);
  });

  afterAll(async () => {
    if (buildahRoot) await buildah(['rm', '--all']);
    // buildah's overlay driver may leave mounts of its own under its root: unmount exactly those before removing it
    const table = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const ours = table.split('\n').map((line) => line.split(' ')[4] ?? '').filter((point) => ws && point.startsWith(ws.work)).reverse();
    for (const point of ours) await run('umount', ['-l', point]);
    await ws?.cleanup();
  });

  let index = 0;
  for (const [title, testCase] of Object.entries(CASES)) {
    const tag = `conformance-${++index}`;
    it.concurrent(title, () =>
      limited(async () => {
        const dockerfilePath = join(FIXTURES, testCase.dockerfile ?? `${testCase.context!}/Dockerfile`);
        let context: string;
        let dockerfile = dockerfilePath;
        if (testCase.context !== undefined) {
          context = join(FIXTURES, testCase.context);
        } else {
          // a context holding only the Dockerfile, as buildah's suite builds a top-level Dockerfile.*
          context = join(ws.work, `context-${tag}`);
          await mkdir(context);
          dockerfile = join(context, basename(dockerfilePath));
          await copyFile(dockerfilePath, dockerfile);
        }
        const args = Object.entries(testCase.buildArgs ?? {}).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
        const [ours, theirs] = await Promise.all([
          tsbuild(ws.root, ['build', '-q', '--pull', 'never', '-t', tag, '-f', dockerfile, ...args, context]),
          buildah(['build', '-q', '--pull-never', '--isolation', 'chroot', '--layers=false', '--format', 'docker', '-t', tag, '-f', dockerfile, ...args, context]),
        ]);
        if (testCase.failAt !== undefined) {
          expect(theirs.code, theirs.stderr).not.toBe(0);
          expect(ours.code).toBe(1);
          expect(ours.stderr).toMatch(new RegExp(`^Error: \\S*${basename(dockerfile).replace(/\./g, '\\.')}:${testCase.failAt}: `));
          return;
        }
        expect(theirs.code, theirs.stderr).toBe(0);
        expect(ours.stderr).toBe('');
        expect(ours.code).toBe(0);

        // Filesystems: umoci unpacks both images (ours straight from the store's layout; build-runtime.test.ts shows
        // tsbuild unpack gives the same tree), buildah's after a push to a layout. Configs: ours from the store,
        // buildah's from buildah inspect.
        const ourTree = join(ws.work, `ours-${tag}`);
        const theirTree = join(ws.work, `theirs-${tag}`);
        const layout = join(ws.work, `buildah-layout-${tag}`);
        const [ourConfig, theirInspect] = await Promise.all([
          runOk('umoci', ['raw', 'unpack', '--image', `${join(ws.root, 'oci')}:${tag}:latest`, ourTree]).then(() => storedConfig(ws.root, `${tag}:latest`)),
          buildah(['push', '-q', tag, `oci:${layout}:x`])
            .then((pushed) => expect(pushed.code, pushed.stderr).toBe(0))
            .then(() => runOk('umoci', ['raw', 'unpack', '--image', `${layout}:x`, theirTree]))
            .then(() => buildah(['inspect', '--type', 'image', tag])),
        ]);
        const ourLines = await describeTree(ourTree);
        const ourPaths = new Set(ourLines.map((line) => line.split(' ')[0]!));
        const theirLines: string[] = [];
        for (const line of await describeTree(theirTree)) {
          const path = line.split(' ')[0]!;
          if (BUILDAH_RUN_ARTIFACTS.has(path) && !ourPaths.has(path)) {
            // only as empty mount points and placeholder files
            const info = await lstat(join(theirTree, path));
            expect(info.isDirectory() || info.size === 0, `${path} in buildah's image`).toBe(true);
            continue;
          }
          theirLines.push(line);
        }
        const known = new Set(testCase.onlyOurs?.paths ?? []);
        expect(ourLines.filter((line) => !known.has(line.split(' ')[0]!))).toEqual(theirLines);
        for (const path of known) expect(ourPaths.has(path), `${path}: ${testCase.onlyOurs!.why}`).toBe(true);
        // the copyfrom cases: timestamps carried through COPY --from
        expect(await fixedMtimePaths(ourTree)).toEqual(await fixedMtimePaths(theirTree));

        // config
        const theirImage = JSON.parse(theirInspect.stdout) as {
          Docker: { config: Record<string, unknown>; author?: string; architecture: string; os: string };
        };
        expect(normalizedConfig(ourConfig.config)).toEqual(normalizedConfig(theirImage.Docker.config));
        expect(ourConfig.author ?? '').toBe(theirImage.Docker.author ?? '');
        expect([ourConfig.os, ourConfig.architecture]).toEqual([theirImage.Docker.os, theirImage.Docker.architecture]);
      }),
    );
  }
});
