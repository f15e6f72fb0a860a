import { chmodSync, lutimesSync, readdirSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import { cleanupTemp, tempDir, writeTree } from './__fixtures__/tree.js';
import { openBuildContext } from './build-context.js';
import { checksumSources, forgetLoadedHashRecords } from './checksum.js';
import { HashIndex } from './hash-index.js';
import { ImageFs } from './image-fs.js';
import type { RemoteSource } from './source.js';

afterAll(cleanupTemp);
beforeEach(forgetLoadedHashRecords);

const HOUR_AGO = Math.floor(Date.now() / 1000) - 3600;
/** Files written by a test have a ctime of "now": a short racy window and a short wait let them be recorded. */
const RACY = { racyWindowMs: 100 };
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 150));

/** A context whose files were last changed an hour ago (long enough not to be "racy"). */
function oldTree(spec: Parameters<typeof writeTree>[1]): string {
  const dir = writeTree(tempDir(), spec);
  const age = (path: string): void => {
    for (const name of readdirSync(path)) {
      const child = join(path, name);
      lutimesSync(child, HOUR_AGO, HOUR_AGO);
      if (statSync(child, { throwIfNoEntry: false })?.isDirectory() === true && !name.startsWith('.')) age(child);
    }
  };
  age(dir);
  return dir;
}

async function sum(dir: string, patterns: string[] = ['.'], options: Parameters<typeof checksumSources>[1] = {}) {
  const context = await openBuildContext(dir);
  return checksumSources(context.select(patterns), options);
}

describe('checksumSources', () => {
  test('covers paths, types, modes, owners after --chown, link targets and contents — not mtimes', async () => {
    const dir = oldTree({ 'a.txt': 'a', 'sub/b.txt': 'b', link: { symlink: 'a.txt' } });
    const base = (await sum(dir)).digest;
    expect((await sum(dir)).digest).toBe(base);

    utimesSync(join(dir, 'a.txt'), HOUR_AGO - 100, HOUR_AGO - 100);
    expect((await sum(dir)).digest).toBe(base); // mtime alone: same key

    writeFileSync(join(dir, 'a.txt'), 'A');
    const content = (await sum(dir)).digest;
    expect(content).not.toBe(base);

    chmodSync(join(dir, 'a.txt'), 0o755);
    const mode = (await sum(dir)).digest;
    expect(mode).not.toBe(content);

    unlinkSync(join(dir, 'link'));
    symlinkSync('sub/b.txt', join(dir, 'link'));
    const target = (await sum(dir)).digest;
    expect(target).not.toBe(mode);

    const chowned = (await sum(dir, ['.'], { chown: { uid: 1000, gid: 1000 } })).digest;
    expect(chowned).not.toBe(target);
    expect((await sum(dir, ['sub'])).digest).not.toBe((await sum(dir, ['sub/b.txt'])).digest);
  });

  test('files excluded by .dockerignore do not count', async () => {
    const dir = oldTree({ '.dockerignore': '*.log\n', 'a.txt': 'a' });
    const before = (await sum(dir)).digest;
    writeFileSync(join(dir, 'debug.log'), 'noise');
    expect((await sum(dir)).digest).toBe(before);
  });

  test('context owners count as 0:0 (docker resets them); image owners are kept', async () => {
    const dir = oldTree({ 'a.txt': { file: 'a', uid: 1234, gid: 55 } });
    const other = oldTree({ 'a.txt': 'a' });
    expect((await sum(dir)).digest).toBe((await sum(other)).digest);
    const image = new ImageFs([dir]);
    const image0 = new ImageFs([other]);
    expect((await checksumSources(image.select(['/a.txt']))).digest).not.toBe((await checksumSources(image0.select(['/a.txt']))).digest);
  });

  test('a persistent record makes an unchanged rebuild a metadata walk', async () => {
    const dir = oldTree({ 'a.txt': 'aaaa', 'b/c.txt': 'cccc', 'b/d.bin': Buffer.alloc(100_000, 7) });
    const cacheDir = tempDir();
    await settle();
    const first = await sum(dir, ['.'], { cacheDir, ...RACY });
    expect(first).toMatchObject({ filesHashed: 3, filesReused: 0 });
    forgetLoadedHashRecords(); // as a new process would
    const second = await sum(dir, ['.'], { cacheDir, ...RACY });
    expect(second).toMatchObject({ digest: first.digest, filesHashed: 0, filesReused: 3, bytesHashed: 0 });

    writeFileSync(join(dir, 'b/c.txt'), 'CCCC');
    utimesSync(join(dir, 'b/c.txt'), HOUR_AGO, HOUR_AGO); // same size, same mtime: only ctime tells
    forgetLoadedHashRecords();
    const third = await sum(dir, ['.'], { cacheDir, ...RACY });
    expect(third.filesHashed).toBe(1);
    expect(third.digest).not.toBe(first.digest);
  });

  test('racy-git rule: a file changed within the racy window is never trusted from the record', async () => {
    const dir = writeTree(tempDir(), { 'a.txt': 'one' }); // just written: "racy"
    const cacheDir = tempDir();
    const first = await sum(dir, ['.'], { cacheDir });
    expect(first.filesHashed).toBe(1);
    const mtime = statSync(join(dir, 'a.txt')).mtimeMs;
    // Edit within the same second, keeping size and mtime (as a coarse-timestamp filesystem would).
    writeFileSync(join(dir, 'a.txt'), 'two');
    utimesSync(join(dir, 'a.txt'), mtime / 1000, mtime / 1000);
    forgetLoadedHashRecords();
    const second = await sum(dir, ['.'], { cacheDir });
    expect(second.filesHashed).toBe(1);
    expect(second.digest).not.toBe(first.digest);
    // Nothing was recorded: a file changed within the window cannot be trusted by its metadata.
    expect((await HashIndex.load(cacheDir, (await openBuildContext(dir)).dir)).size).toBe(0);
  });

  test('racy-git rule with an explicit record time: not older than the record → hashed again', async () => {
    const dir = writeTree(tempDir(), { 'a.txt': 'one' });
    const cacheDir = tempDir();
    await settle();
    // Left alone for 150 ms, recorded with a 100 ms window; with a 10 s window the same file is "racy".
    const recorded = await sum(dir, ['.'], { cacheDir, ...RACY });
    forgetLoadedHashRecords();
    expect((await sum(dir, ['.'], { cacheDir, ...RACY })).filesReused).toBe(1);
    const other = tempDir();
    await sum(dir, ['.'], { cacheDir: other, racyWindowMs: 10_000 });
    forgetLoadedHashRecords();
    const again = await sum(dir, ['.'], { cacheDir: other, racyWindowMs: 10_000 });
    expect(again).toMatchObject({ digest: recorded.digest, filesHashed: 1, filesReused: 0 });
  });

  test('a damaged record is ignored', async () => {
    const dir = oldTree({ 'a.txt': 'a' });
    const cacheDir = tempDir();
    await settle();
    const first = await sum(dir, ['.'], { cacheDir, ...RACY });
    const root = (await openBuildContext(dir)).dir;
    writeFileSync(HashIndex.fileFor(cacheDir, root), '{"version":1,"root":');
    forgetLoadedHashRecords();
    const again = await sum(dir, ['.'], { cacheDir, ...RACY });
    expect(again).toMatchObject({ digest: first.digest, filesHashed: 1 });
  });

  test('hardlink structure counts', async () => {
    const linked = oldTree({ a: 'same', b: { hardlink: 'a' } });
    const copies = oldTree({ a: 'same', b: 'same' });
    expect((await sum(linked)).digest).not.toBe((await sum(copies)).digest);
  });

  test('image sources are recorded per snapshot dir', async () => {
    const layer = oldTree({ 'out/bin/app': Buffer.alloc(50_000, 1), 'out/bin/tool': 'tool' });
    const cacheDir = tempDir();
    await settle();
    const fs = new ImageFs([layer]);
    const first = await checksumSources(fs.select(['/out/bin']), { cacheDir, ...RACY });
    forgetLoadedHashRecords();
    const second = await checksumSources(new ImageFs([layer]).select(['/out/bin']), { cacheDir, ...RACY });
    expect(second).toMatchObject({ digest: first.digest, filesHashed: 0, filesReused: 2 });
  });

  test('remote sources count by URL, file name and content digest', async () => {
    const remote = (digest: string): RemoteSource => ({
      kind: 'remote',
      url: 'http://example.test/file',
      name: 'file',
      path: '/nonexistent',
      digest: `sha256:${digest.repeat(64)}`,
      size: 1,
      mtimeMs: undefined,
    });
    expect((await checksumSources([remote('a')])).digest).toBe((await checksumSources([remote('a')])).digest);
    expect((await checksumSources([remote('a')])).digest).not.toBe((await checksumSources([remote('b')])).digest);
  });
});
