import { readFile, truncate, writeFile, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editOciManifest, rewriteArchive, sha256, treeListing, writeDockerArchive } from './helpers/archives.js';
import { makeBusyboxImage, makeBusyboxRootfs, type BusyboxImage } from './helpers/busybox.js';
import { runOk, tsbuild, type RunResult } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';

/** A failed command: exit 1, one line on stderr that matches, no stack trace. */
function expectOneLineError(result: RunResult, message: RegExp): void {
  expect(result.code).toBe(1);
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^Error: /);
  expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input gives one clear line, exit 1, and leaves the store as it was', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let busybox: BusyboxImage;
  let root: string;
  let before: string[];
  let indexBefore: string;
  /** An oci-archive (written by skopeo) of an image the store does not have. */
  let otherOci: string;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir());
    busybox = await makeBusyboxImage(join(work, 'busybox'));
    root = join(work, 'store');
    await tsbuild(root, ['load', '-i', busybox.ociArchive]);
    const otherDocker = join(work, 'other.docker.tar');
    await writeDockerArchive(work, otherDocker, [{ repoTags: ['other:1'], layerDirs: [await layerDir('other-layer', 'other')] }]);
    otherOci = join(work, 'other.oci.tar');
    await runOk('skopeo', ['copy', '-q', '--dest-compress', `docker-archive:${otherDocker}`, `oci-archive:${otherOci}:other:1`]);
    before = await treeListing(root, ['locks']);
    indexBefore = await readFile(join(root, 'oci', 'index.json'), 'utf8');
  });
  afterAll(async () => cleanup());

  async function expectStoreUnchanged(): Promise<void> {
    expect(await readFile(join(root, 'oci', 'index.json'), 'utf8')).toBe(indexBefore);
    expect(await treeListing(root, ['locks'])).toEqual(before);
  }

  async function layerDir(name: string, content: string): Promise<string> {
    const dir = join(work, name);
    await makeBusyboxRootfs(dir);
    await writeFile(join(dir, 'marker'), content);
    return dir;
  }

  it('a truncated archive', async () => {
    const archive = join(work, 'truncated.tar');
    await copyFile(busybox.dockerArchive, archive);
    await truncate(archive, 1_000_000);
    expectOneLineError(await tsbuild(root, ['load', '-i', archive]), /truncated\.tar.*truncated archive/);
    await expectStoreUnchanged();
  });

  it('a layer whose content does not match its digest (docker-archive)', async () => {
    const archive = join(work, 'tampered.docker.tar');
    const dir = await layerDir('tampered-layer', 'original');
    await writeDockerArchive(work, archive, [{ repoTags: ['tampered:1'], layerDirs: [dir] }], {
      files: async (stage) => {
        const layer = (await import('node:fs/promises')).readdir(stage).then((names) => names.find((n) => n.endsWith('.tar'))!);
        const path = join(stage, await layer);
        const data = await readFile(path);
        const at = data.indexOf(Buffer.from('original'));
        data.write('ORIGINAL', at);
        await writeFile(path, data);
      },
    });
    expectOneLineError(await tsbuild(root, ['load', '-i', archive]), /digest mismatch/);
    await expectStoreUnchanged();
  });

  it('a blob whose content does not match its digest (oci-archive)', async () => {
    const archive = join(work, 'tampered.oci.tar');
    await rewriteArchive(work, otherOci, archive, async (dir) => {
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      const manifest = JSON.parse(await readFile(join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
      const layerPath = join(dir, 'blobs/sha256', manifest.layers[0]!.digest.slice(7));
      const data = await readFile(layerPath);
      data[data.length - 20]! ^= 0xff;
      await writeFile(layerPath, data);
    });
    expectOneLineError(await tsbuild(root, ['load', '-i', archive]), /digest mismatch/);
    await expectStoreUnchanged();
  });

  it('a missing blob', async () => {
    const archive = join(work, 'missing.oci.tar');
    await rewriteArchive(work, otherOci, archive, async (dir) => {
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      const manifest = JSON.parse(await readFile(join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
      await rm(join(dir, 'blobs/sha256', manifest.layers[0]!.digest.slice(7)));
    });
    expectOneLineError(await tsbuild(root, ['load', '-i', archive]), /blobs\/sha256\/[a-f0-9]{64}: missing from the archive/);
    await expectStoreUnchanged();
  });

  it('manifest.json naming a path outside the archive', async () => {
    const archive = join(work, 'escape.tar');
    const dir = await layerDir('escape-layer', 'x');
    await writeDockerArchive(work, archive, [{ repoTags: ['escape:1'], layerDirs: [dir] }], {
      manifest: (entries) => {
        entries[0]!.Layers = ['../../../../etc/passwd'];
      },
    });
    expectOneLineError(await tsbuild(root, ['load', '-i', archive]), /\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd: path outside the archive/);
    await expectStoreUnchanged();
  });

  it('an unknown layer media type', async () => {
    const archive = join(work, 'mediatype.oci.tar');
    await rewriteArchive(work, busybox.ociArchive, archive, async (dir) => {
      await editOciManifest(dir, (manifest) => {
        (manifest.layers as Array<{ mediaType: string }>)[0]!.mediaType = 'application/x-unknown-layer';
      });
    });
    expectOneLineError(await tsbuild(root, ['load', '-i', archive]), /unknown media type application\/x-unknown-layer/);
    await expectStoreUnchanged();
  });

  it('an invalid reference in an archive', async () => {
    const archive = join(work, 'badref.tar');
    const dir = await layerDir('badref-layer', 'y');
    await writeDockerArchive(work, archive, [{ repoTags: ['Bad/Name:1'], layerDirs: [dir] }]);
    expectOneLineError(await tsbuild(root, ['load', '-i', archive]), /invalid RepoTags entry.*must be lowercase/);
    await expectStoreUnchanged();
  });

  it('an invalid reference on the command line', async () => {
    expectOneLineError(await tsbuild(root, ['tag', 'busybox', 'app:']), /invalid reference "app:": empty tag/);
    expectOneLineError(await tsbuild(root, ['inspect', 'Busybox']), /must be lowercase/);
    expectOneLineError(await tsbuild(root, ['inspect', 'nothere:1']), /image nothere:1 not found/);
    await expectStoreUnchanged();
  });

  it('a file that is not an image archive', async () => {
    const archive = join(work, 'plain.tar');
    const dir = await layerDir('plain', 'z');
    const { tarDirectory } = await import('./helpers/archives.js');
    await tarDirectory(dir, archive);
    expectOneLineError(await tsbuild(root, ['load', '-i', archive]), /not an image archive/);
    const notTar = join(work, 'not.tar');
    await writeFile(notTar, 'hello, this is not a tar file'.repeat(40));
    expectOneLineError(await tsbuild(root, ['load', '-i', notTar]), /bad header checksum/);
    expectOneLineError(await tsbuild(root, ['load', '-i', join(work, 'absent.tar')]), /absent\.tar: no such file/);
    await expectStoreUnchanged();
  });

  it('usage errors exit 2', async () => {
    const result = await tsbuild(root, ['images', '--format', 'yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/argument 'yaml' is invalid/);
    expect((await tsbuild(root, ['frobnicate'])).code).toBe(2);
    expect((await tsbuild(root, ['tag', 'onlyone'])).code).toBe(2);
  });

  it('keeps digests honest: sha256 helper sanity', () => {
    expect(sha256('')).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
