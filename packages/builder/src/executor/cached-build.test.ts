import { spawnSync } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageStore } from '@tsbuild/image';
import { makeTempDir } from '../../../../test/helpers/tmp.js';
import { buildImage } from './build.js';

/** mtime and inode of every file under a directory, by relative path. */
async function fileStamps(dir: string): Promise<Map<string, string>> {
  const stamps = new Map<string, string>();
  for (const name of await readdir(dir, { recursive: true })) {
    const info = await stat(join(dir, name), { bigint: true });
    if (info.isFile()) stamps.set(name, `${info.ino}:${info.mtimeNs}`);
  }
  return stamps;
}

describe('a cached rebuild', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
  });
  afterEach(async () => cleanup());

  it('writes nothing to the store: no step record, no blob, no index.json', async () => {
    const store = await ImageStore.open(join(dir, 'store'));
    const dockerfileText = 'FROM scratch\nARG FLAVOUR=plain\nENV A=1 B=2\nLABEL kind=test\nCMD ["sh"]\n';
    const first = await buildImage({ store, context: dir, dockerfileText, tags: ['app:1'] });
    const before = await fileStamps(store.root);
    const second = await buildImage({ store, context: dir, dockerfileText, tags: ['app:1'] });
    expect(second.id).toBe(first.id);
    expect(await fileStamps(store.root)).toEqual(before);

    // a changed step is still a miss, with a new record and a new image
    const third = await buildImage({ store, context: dir, dockerfileText: dockerfileText.replace('kind=test', 'kind=other'), tags: ['app:1'] });
    expect(third.id).not.toBe(first.id);
    expect((await fileStamps(join(store.cacheDir, 'steps'))).size).toBeGreaterThan([...before.keys()].filter((k) => k.startsWith('cache/steps/')).length);
  });
});

describe('start-up', () => {
  it('loads neither the layer engine, the copy engine nor the registry client to import the builder and the store', () => {
    // What a cached build loads before it starts: every module here costs every `tsbuild build` its load time.
    const hook = `data:text/javascript,${encodeURIComponent('export async function load(url, context, next) { if (url.startsWith("file:")) process._rawDebug("LOADED " + url); return next(url, context); }')}`;
    const script = [
      `import { register } from 'node:module';`,
      `register(${JSON.stringify(hook)});`,
      `await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});`,
      `await import(${JSON.stringify(new URL('../../../image/dist/index.js', import.meta.url).href)});`,
    ].join('\n');
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const loaded = result.stderr.split('\n').filter((line) => line.startsWith('LOADED '));
    expect(loaded.some((line) => line.includes('/builder/dist/executor/build.js'))).toBe(true);
    const unwanted = loaded.filter((line) => /\/(layers|registry-client)\/dist\/|\/node_modules\/undici\/|\/builder\/dist\/copy\/(?!remote|errors)|\/context\/(image-fs|layer-stack|xattr-io)\.js/.test(line));
    expect(unwanted).toEqual([]);
  });
});
