import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunError } from './errors.js';
import { resolveInRoot } from './resolve-in-root.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-resolve-test-'));
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await writeFile(join(root, 'usr/lib/file'), 'x');
  await symlink('usr/lib', join(root, 'lib'));
  await symlink('/usr/lib/file', join(root, 'abs-file'));
  await symlink('../../../../../../etc', join(root, 'usr/up-and-out'));
  await symlink('/', join(root, 'to-root'));
  await symlink('loop-b', join(root, 'loop-a'));
  await symlink('loop-a', join(root, 'loop-b'));
  await symlink('/missing/dir/target', join(root, 'dangling'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('resolveInRoot', () => {
  it('follows relative and absolute links inside the root', async () => {
    const viaLink = await resolveInRoot(root, '/lib/file');
    expect(viaLink.components).toEqual(['usr', 'lib', 'file']);
    expect(viaLink.stats?.isFile()).toBe(true);
    const absolute = await resolveInRoot(root, 'abs-file', { followFinal: true });
    expect(absolute.components).toEqual(['usr', 'lib', 'file']);
  });

  it('leaves the last link alone unless asked', async () => {
    const link = await resolveInRoot(root, 'abs-file');
    expect(link.components).toEqual(['abs-file']);
    expect(link.stats?.isSymbolicLink()).toBe(true);
  });

  it('never climbs above the root', async () => {
    expect((await resolveInRoot(root, '../../etc/passwd')).components).toEqual(['etc', 'passwd']);
    const out = await resolveInRoot(root, 'usr/up-and-out/passwd', { followFinal: true });
    expect(out.components).toEqual(['etc', 'passwd']);
    expect(out.existing).toBe(0);
    expect((await resolveInRoot(root, 'to-root/usr/lib', { followFinal: true })).components).toEqual(['usr', 'lib']);
  });

  it('keeps missing components for the caller to create', async () => {
    const dangling = await resolveInRoot(root, 'dangling', { followFinal: true });
    expect(dangling).toMatchObject({ components: ['missing', 'dir', 'target'], existing: 0, stats: undefined });
    const partly = await resolveInRoot(root, 'lib/new/deeper');
    expect(partly).toMatchObject({ components: ['usr', 'lib', 'new', 'deeper'], existing: 2 });
    expect((await resolveInRoot(root, 'lib/new/../file')).components).toEqual(['usr', 'lib', 'file']);
  });

  it('reports a file used as a directory', async () => {
    expect((await resolveInRoot(root, 'usr/lib/file/below')).notDirectory).toBe(true);
  });

  it('gives up on symlink loops', async () => {
    await expect(resolveInRoot(root, 'loop-a/x')).rejects.toThrow(RunError);
  });

  it('resolves the root itself', async () => {
    const self = await resolveInRoot(root, '/');
    expect(self.components).toEqual([]);
    expect(self.stats?.isDirectory()).toBe(true);
  });
});
