import { afterAll, describe, expect, test } from 'vitest';
import { resolveUser } from '../run/user.js';
import { cleanupTemp, tempDir, writeTree } from './__fixtures__/tree.js';
import { ContextError } from './errors.js';
import { ImageFs } from './image-fs.js';
import type { XattrIo } from './xattr-io.js';
import { layersXattrIo } from './xattr-io.js';

afterAll(cleanupTemp);

/** Three layers, bottom to top, as snapshot dirs; returned top first. */
function image(): string[] {
  const base = writeTree(tempDir('base-'), {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n',
    'etc/group': 'root:x:0:\napp:x:1001:\nstaff:x:50:app\n',
    'etc/hostname': 'base',
    'usr/bin/sh': { file: '#!sh', mode: 0o755 },
    'usr/lib/libc.so': 'libc',
    'bin': { symlink: 'usr/bin' },
    'opt/old/a': 'a',
    'opt/old/b': 'b',
    'var/data/x': 'x',
    'srv/file-then-dir': 'was a file',
    'srv/dir-then-file/inner': 'inner',
    'home/app': { dir: true, uid: 1000, gid: 1001, mode: 0o750 },
  });
  const middle = writeTree(tempDir('middle-'), {
    'etc/hostname': { whiteout: true },
    'opt/old': { dir: true, opaque: true },
    'opt/old/c': 'c',
    'var/data/y': 'y',
    'usr/lib/libc.so': { whiteout: true },
    'srv/file-then-dir/now': 'a directory now',
    'srv/dir-then-file': 'a file now',
    'escape': { symlink: '../../../../../etc' },
    'abs': { symlink: '/usr/bin/sh' },
  });
  const top = writeTree(tempDir('top-'), {
    'var/data/z': 'z',
    'etc/hostname': 'recreated',
  });
  return [top, middle, base];
}

describe('ImageFs', () => {
  test('lookups honour whiteouts, opaque directories and non-directories that end a merge', async () => {
    const fs = new ImageFs(image());
    expect(await fs.readdir('/opt/old')).toEqual(['c']);
    expect(await fs.readdir('/var/data')).toEqual(['x', 'y', 'z']);
    expect(await fs.readdir('/usr/lib')).toEqual([]);
    expect(await fs.lstat('/usr/lib/libc.so')).toBeUndefined();
    expect((await fs.readFile('/etc/hostname'))?.toString()).toBe('recreated');
    expect(await fs.readdir('/srv/file-then-dir')).toEqual(['now']);
    expect((await fs.lstat('/srv/dir-then-file'))?.type).toBe('file');
    expect(await fs.exists('/srv/dir-then-file/inner')).toBe(false);
    expect(await fs.readdir('/')).toEqual(['abs', 'bin', 'escape', 'etc', 'home', 'opt', 'srv', 'usr', 'var']);
  });

  test('symlinks resolve with the image root as /, never outside', async () => {
    const fs = new ImageFs(image());
    expect((await fs.lstat('/bin'))?.type).toBe('symlink');
    expect(await fs.readlink('/bin')).toBe('usr/bin');
    expect((await fs.stat('/bin'))?.path).toBe('/usr/bin');
    expect((await fs.stat('/bin/sh'))?.mode).toBe(0o755);
    expect((await fs.stat('/abs'))?.path).toBe('/usr/bin/sh');
    // `../../../../../etc` climbs to the image root and stops there: /etc of the image, not of the host.
    expect(await fs.readdir('/escape')).toEqual(['group', 'hostname', 'passwd']);
    expect((await fs.readFile('/escape/passwd'))?.toString()).toContain('app:x:1000');
    expect((await fs.stat('/../../../etc/hostname'))?.path).toBe('/etc/hostname');
  });

  test('open, readFile and errors', async () => {
    const fs = new ImageFs(image(), { name: 'stage build' });
    const handle = await fs.open('/bin/sh');
    try {
      expect((await handle.readFile()).toString()).toBe('#!sh');
    } finally {
      await handle.close();
    }
    await expect(fs.open('/usr')).rejects.toThrow('/usr: not a regular file in stage build');
    await expect(fs.readdir('/nope')).rejects.toThrow(ContextError);
    await expect(fs.readlink('/usr')).rejects.toThrow('not a symbolic link');
    expect(await fs.readFile('/missing')).toBeUndefined();
  });

  test("resolveUser reads the image's own /etc/passwd and /etc/group", async () => {
    const fs = new ImageFs(image());
    expect(await resolveUser(fs.userDbReader(), 'app:app')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(await resolveUser(fs.userDbReader(), 'app:staff')).toMatchObject({ uid: 1000, gid: 50 });
    expect(await resolveUser(fs.userDbReader(), '7:8')).toMatchObject({ uid: 7, gid: 8 });
    await expect(resolveUser(fs.userDbReader(), 'nobody')).rejects.toThrow('unable to find user nobody');
    const empty = new ImageFs([tempDir()]);
    await expect(resolveUser(empty.userDbReader(), 'app')).rejects.toThrow('unable to find user app');
  });

  test('select (COPY --from): paths from the root, wildcards, symlinks followed, owners kept, merged walks', async () => {
    const fs = new ImageFs(image());
    const [home] = fs.select(['home/app']);
    expect(home).toMatchObject({ path: 'home/app', name: 'app', origin: 'image' });
    expect(home!.entry).toMatchObject({ uid: 1000, gid: 1001, mode: 0o750 });
    const walked = [...fs.select(['/var/data'])[0]!.walk()].map((entry) => entry.rel);
    expect(walked).toEqual(['', 'x', 'y', 'z']);
    expect([...fs.select(['/opt'])[0]!.walk()].map((entry) => entry.rel)).toEqual(['', 'old', 'old/c']);
    expect(fs.select(['/bin/s*']).map((s) => s.path)).toEqual(['usr/bin/sh']);
    expect(fs.select(['/abs'])[0]).toMatchObject({ path: 'usr/bin/sh', name: 'abs' });
    expect(() => fs.select(['/nope'])).toThrow('COPY failed: /nope: no such file or directory in the image');
    expect(() => fs.select(['/etc/*.none'])).toThrow('no source files were specified');
  });

  test('opaque marks are read once per directory and cached (snapshots never change)', async () => {
    const asked: string[] = [];
    const counting: XattrIo = {
      ...layersXattrIo,
      isOpaque: (path) => {
        asked.push(path);
        return layersXattrIo.isOpaque(path);
      },
    };
    const layers = image();
    const fs = new ImageFs(layers, { xattrs: counting });
    expect(await fs.readdir('/opt/old')).toEqual(['c']);
    const afterLookup = asked.length;
    expect(asked).toContain(`${layers[1]}/opt/old`); // the middle layer's directory, which hides the base's
    expect(asked).not.toContain(`${layers[2]}/opt/old`); // the bottom one hides nothing: never asked
    expect(await fs.readdir('/opt/old')).toEqual(['c']);
    expect(asked.length).toBe(afterLookup);
    const walk = [...new ImageFs(layers, { xattrs: counting }).select(['/'])[0]!.walk()];
    expect(walk.map((entry) => entry.rel)).toContain('opt/old/c');
    expect(walk.map((entry) => entry.rel)).not.toContain('opt/old/a');
  });

  test('a single snapshot dir needs no xattr reads at all', async () => {
    const never: XattrIo = {
      ...layersXattrIo,
      isOpaque: () => {
        throw new Error('not expected');
      },
    };
    const fs = new ImageFs([image()[2]!], { xattrs: never });
    expect([...fs.select(['/'])[0]!.walk()].length).toBeGreaterThan(10);
  });
});
