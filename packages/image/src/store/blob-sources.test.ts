import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '@tsbuild/oci';
import { BlobSources, MAX_LOCATIONS_PER_BLOB } from './blob-sources.js';

describe('BlobSources', () => {
  let dir: string;
  let sources: BlobSources;
  const a = sha256Digest('a');
  const b = sha256Digest('b');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-blob-sources-'));
    sources = new BlobSources(join(dir, 'meta', 'blob-sources'), join(dir, 'tmp'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('records repositories per blob, most recent first, and filters by registry', async () => {
    expect(await sources.locations(a)).toEqual([]);
    await sources.record([a, b], { registry: 'localhost:5000', repository: 'base' });
    await sources.record([a], { registry: 'localhost:5000', repository: 'team/app' });
    await sources.record([a], { registry: 'quay.io', repository: 'org/app' });
    expect(await sources.repositories(a, 'localhost:5000')).toEqual(['team/app', 'base']);
    expect(await sources.repositories(a, 'localhost:5000', 'team/app')).toEqual(['base']);
    expect(await sources.repositories(b, 'localhost:5000')).toEqual(['base']);
    expect(await sources.repositories(b, 'quay.io')).toEqual([]);
    // seen again: moves to the front, not duplicated
    await sources.record([a], { registry: 'localhost:5000', repository: 'base' });
    expect(await sources.repositories(a, 'localhost:5000')).toEqual(['base', 'team/app']);
    const file = JSON.parse(await readFile(join(dir, 'meta', 'blob-sources', `${a.slice(7)}.json`), 'utf8')) as unknown;
    expect(file).toEqual({
      locations: [
        { registry: 'localhost:5000', repository: 'base' },
        { registry: 'quay.io', repository: 'org/app' },
        { registry: 'localhost:5000', repository: 'team/app' },
      ],
    });
    // staging files do not stay behind
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('keeps a bounded number of locations', async () => {
    for (let i = 0; i < MAX_LOCATIONS_PER_BLOB + 5; i++) await sources.record([a], { registry: 'r.example', repository: `repo${i}` });
    const repositories = await sources.repositories(a, 'r.example');
    expect(repositories).toHaveLength(MAX_LOCATIONS_PER_BLOB);
    expect(repositories[0]).toBe(`repo${MAX_LOCATIONS_PER_BLOB + 4}`);
  });

  it('ignores unreadable records and invalid entries; refuses digests that are not sha256', async () => {
    await sources.record([a], { registry: 'localhost:5000', repository: 'base' });
    const path = join(dir, 'meta', 'blob-sources', `${a.slice(7)}.json`);
    await writeFile(path, '{not json');
    expect(await sources.locations(a)).toEqual([]);
    await writeFile(path, JSON.stringify({ locations: [{ registry: 'x', repository: '../../etc' }, { registry: 'ok:1', repository: 'fine/repo' }] }));
    expect(await sources.locations(a)).toEqual([{ registry: 'ok:1', repository: 'fine/repo' }]);
    await expect(sources.record(['sha256:../../x'], { registry: 'localhost:5000', repository: 'base' })).rejects.toThrow(/digest/);
    expect(await sources.locations('md5:abc')).toEqual([]);
  });

  it('retainOnly removes the records of other blobs', async () => {
    await sources.record([a, b], { registry: 'localhost:5000', repository: 'base' });
    expect(await sources.retainOnly(new Set([a]))).toBe(1);
    expect(await sources.repositories(a, 'localhost:5000')).toEqual(['base']);
    expect(await sources.repositories(b, 'localhost:5000')).toEqual([]);
  });
});
