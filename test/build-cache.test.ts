import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOk, makeBuildWorkspace, readText, stepStates, unpack, writeFiles, type BuildWorkspace } from './helpers/build.js';
import { tsbuild } from './helpers/run.js';

/**
 * Each RUN writes a fresh random UUID (from the kernel) into the image: a RUN that ran again would give a different
 * file and so a different image ID (busybox's `date` has no nanoseconds, and two runs can fall in the same second).
 */
const DOCKERFILE = [
  'FROM busybox',
  'ENV STAGE=cache',
  'RUN cat /proc/sys/kernel/random/uuid > /stamp1',
  'COPY one.txt /one.txt',
  'RUN cat /proc/sys/kernel/random/uuid > /stamp2',
  'WORKDIR /app',
  'COPY two.txt ./',
  'RUN cat /proc/sys/kernel/random/uuid > /stamp3 && cat /one.txt two.txt > both.txt',
  'CMD ["cat", "/app/both.txt"]',
  '',
].join('\n');

/** Every step but FROM (which resolves the base image each time). */
const STEP = /^(?!FROM )/;

describe('tsbuild build: the step cache', () => {
  let ws: BuildWorkspace;
  let ctx: string;
  let n = 0;
  const out = (): string => join(ws.work, `out-${++n}`);
  const stamps = async (image: string): Promise<string[]> => {
    const tree = await unpack(ws.root, image, out());
    return Promise.all(['stamp1', 'stamp2', 'stamp3'].map((name) => readText(tree, name)));
  };
  const states = (progress: string): string[] => stepStates(progress).filter((step) => STEP.test(step.text)).map((step) => `${step.state} ${step.text}`);

  beforeAll(async () => {
    ws = await makeBuildWorkspace();
    ctx = join(ws.work, 'ctx');
    await writeFiles(ctx, { Dockerfile: DOCKERFILE, 'one.txt': 'one\n', 'two.txt': 'two\n' });
  });
  afterAll(async () => ws.cleanup());

  it('a second build of an unchanged context runs nothing (every step CACHED) and gives the same image ID', async () => {
    const first = await buildOk(ws.root, ['-t', 'cache:1', ctx]);
    expect(states(first.result.stderr)).toEqual([
      'DONE ENV STAGE=cache',
      'DONE RUN cat /proc/sys/kernel/random/uuid > /stamp1',
      'DONE COPY one.txt /one.txt',
      'DONE RUN cat /proc/sys/kernel/random/uuid > /stamp2',
      'DONE WORKDIR /app',
      'DONE COPY two.txt ./',
      'DONE RUN cat /proc/sys/kernel/random/uuid > /stamp3 && cat /one.txt two.txt > both.txt',
      'DONE CMD ["cat", "/app/both.txt"]',
    ]);
    const before = await stamps('cache:1');
    const second = await buildOk(ws.root, ['-t', 'cache:2', ctx]);
    expect(states(second.result.stderr)).toEqual(states(first.result.stderr).map((line) => line.replace(/^DONE /, 'CACHED ')));
    expect(second.id).toBe(first.id);
    expect(await stamps('cache:2')).toEqual(before);
  });

  it('a changed mtime alone is not a change; editing one COPY source re-runs that step and the ones after, nothing before', async () => {
    const base = await buildOk(ws.root, ['-t', 'cache:base', ctx]);
    const before = await stamps('cache:base');
    const future = new Date(Date.now() + 60_000);
    await utimes(join(ctx, 'one.txt'), future, future);
    await utimes(join(ctx, 'two.txt'), future, future);
    const touched = await buildOk(ws.root, ['-t', 'cache:touched', ctx]);
    expect(states(touched.result.stderr).every((line) => line.startsWith('CACHED '))).toBe(true);
    expect(touched.id).toBe(base.id);

    await writeFile(join(ctx, 'two.txt'), 'TWO\n');
    const edited = await buildOk(ws.root, ['-t', 'cache:edited', ctx]);
    expect(states(edited.result.stderr)).toEqual([
      'CACHED ENV STAGE=cache',
      'CACHED RUN cat /proc/sys/kernel/random/uuid > /stamp1',
      'CACHED COPY one.txt /one.txt',
      'CACHED RUN cat /proc/sys/kernel/random/uuid > /stamp2',
      'CACHED WORKDIR /app',
      'DONE COPY two.txt ./',
      'DONE RUN cat /proc/sys/kernel/random/uuid > /stamp3 && cat /one.txt two.txt > both.txt',
      'DONE CMD ["cat", "/app/both.txt"]',
    ]);
    expect(edited.id).not.toBe(base.id);
    const after = await stamps('cache:edited');
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
    expect(after[2]).not.toBe(before[2]);
    expect(await readText(await unpack(ws.root, 'cache:edited', out()), 'app/both.txt')).toBe('one\nTWO\n');

    // An edit right after the build, same size and within the same second, is still seen.
    await writeFile(join(ctx, 'two.txt'), 'Two\n');
    const quick = await buildOk(ws.root, ['-t', 'cache:quick', ctx]);
    expect(states(quick.result.stderr).slice(5, 7)).toEqual(['DONE COPY two.txt ./', 'DONE RUN cat /proc/sys/kernel/random/uuid > /stamp3 && cat /one.txt two.txt > both.txt']);
    expect(await readText(await unpack(ws.root, 'cache:quick', out()), 'app/both.txt')).toBe('one\nTwo\n');
  });

  it('--no-cache runs every step again (a new image), and the cache still serves the build after it', async () => {
    const cached = await buildOk(ws.root, ['-t', 'cache:again', ctx]);
    const fresh = await buildOk(ws.root, ['-t', 'cache:fresh', '--no-cache', ctx]);
    expect(states(fresh.result.stderr).every((line) => line.startsWith('DONE '))).toBe(true);
    expect(fresh.id).not.toBe(cached.id);
    const [before, after] = [await stamps('cache:again'), await stamps('cache:fresh')];
    for (let i = 0; i < 3; i++) expect(after[i]).not.toBe(before[i]);
    const next = await buildOk(ws.root, ['-t', 'cache:next', ctx]);
    expect(states(next.result.stderr).every((line) => line.startsWith('CACHED '))).toBe(true);
  });

  it('a changed Dockerfile line, build arg or base image invalidates from that step on', async () => {
    await writeFiles(ctx, { Dockerfile: DOCKERFILE.replace('RUN cat /proc/sys/kernel/random/uuid > /stamp2', 'RUN cat /proc/sys/kernel/random/uuid > /stamp2 && echo changed') });
    const changed = await buildOk(ws.root, ['-t', 'cache:changed', ctx]);
    expect(states(changed.result.stderr).map((line) => line.split(' ')[0])).toEqual(['CACHED', 'CACHED', 'CACHED', 'DONE', 'DONE', 'DONE', 'DONE', 'DONE']);

    await writeFiles(ctx, { Dockerfile: DOCKERFILE.replace('COPY one.txt /one.txt', 'ARG LEVEL=1\nCOPY one.txt /one.txt') });
    await buildOk(ws.root, ['-t', 'cache:arg1', ctx]);
    const sameArg = await buildOk(ws.root, ['-t', 'cache:arg1', '--build-arg', 'LEVEL=1', ctx]);
    expect(states(sameArg.result.stderr).every((line) => line.startsWith('CACHED '))).toBe(true);
    // RUN steps see build args in their environment, so a new value re-runs them; COPY does not use it
    const otherArg = await buildOk(ws.root, ['-t', 'cache:arg2', '--build-arg', 'LEVEL=2', ctx]);
    // ENV, RUN, ARG (its name is the same), COPY cached; the RUNs after the ARG see LEVEL=2 and run again
    expect(states(otherArg.result.stderr).map((line) => line.split(' ')[0])).toEqual(['CACHED', 'CACHED', 'CACHED', 'CACHED', 'DONE', 'DONE', 'DONE', 'DONE', 'DONE']);

    // The same name pointing at another image: nothing is reused.
    await writeFiles(ctx, { Dockerfile: DOCKERFILE.replace('FROM busybox', 'FROM moving-base:1') });
    await tsbuild(ws.root, ['tag', 'busybox:latest', 'moving-base:1']);
    await buildOk(ws.root, ['-t', 'cache:on-base-1', ctx]);
    await tsbuild(ws.root, ['tag', 'cache:arg2', 'moving-base:1']);
    const rebased = await buildOk(ws.root, ['-t', 'cache:on-base-2', ctx]);
    expect(states(rebased.result.stderr).every((line) => line.startsWith('DONE '))).toBe(true);
  });

  it('prune drops the build cache of untagged images but keeps what tagged images use', async () => {
    const pruneCtx = await writeFiles(join(ws.work, 'prune-ctx'), { Dockerfile: 'FROM busybox\nRUN cat /proc/sys/kernel/random/uuid > /stamp\nRUN echo kept > /kept\n' });
    await buildOk(ws.root, ['-t', 'prune:1', pruneCtx]);
    const { readdir } = await import('node:fs/promises');
    const snapshots = async (): Promise<number> => (await readdir(join(ws.root, 'snapshots'))).filter((name) => /^[a-f0-9]{64}$/.test(name)).length;
    const withImage = await snapshots();
    // untag every image built so far but the base: their layers, records and snapshots go
    const images = JSON.parse((await tsbuild(ws.root, ['images', '--format', 'json'])).stdout) as Array<{ name: string | null }>;
    for (const image of images) if (image.name && image.name !== 'busybox:latest') await tsbuild(ws.root, ['rmi', image.name]);
    const pruned = await tsbuild(ws.root, ['prune']);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/Deleted [1-9]\d* build cache record\(s\) and [1-9]\d* snapshot\(s\)/);
    expect(await snapshots()).toBeLessThan(withImage);
    expect((await tsbuild(ws.root, ['check'])).stdout).toMatch(/0 corrupt, 0 missing, 0 orphaned/);
    // the rebuild runs again (its cache is gone) and works
    const again = await buildOk(ws.root, ['-t', 'prune:2', pruneCtx]);
    expect(states(again.result.stderr).filter((line) => line.includes('RUN')).every((line) => line.startsWith('DONE '))).toBe(true);
  });
});
