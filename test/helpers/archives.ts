import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './run.js';

/** sha256 of bytes as a digest string. */
export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Packs a directory into a tar with GNU tar (sorted, numeric owners, fixed mtime). */
export async function tarDirectory(dir: string, out: string): Promise<void> {
  await runOk('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-cf', out, '-C', dir, '.']);
}

/** Extracts a tar into a directory. */
export async function untar(archive: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await runOk('tar', ['-xf', archive, '-C', dir]);
}

/** A layer for {@link writeDockerArchive}: a rootfs directory to tar. */
export interface ArchiveImageSpec {
  repoTags: string[];
  /** Root filesystem directories, one per layer. */
  layerDirs: string[];
}

/** Hooks to make a malformed archive. */
export interface DockerArchiveHooks {
  /** Change manifest.json before it is written. */
  manifest?: (entries: Array<{ Config: string; RepoTags: string[]; Layers: string[] }>) => void;
  /** Change files in the staging dir before the archive is packed. */
  files?: (dir: string) => Promise<void>;
}

/**
 * Writes a `docker save`-style archive by hand (GNU tar for the layers and the outer tar), so tests control
 * every byte of it.
 */
export async function writeDockerArchive(work: string, out: string, images: ArchiveImageSpec[], hooks: DockerArchiveHooks = {}): Promise<void> {
  const stage = join(work, `stage-${Math.random().toString(16).slice(2)}`);
  await mkdir(stage, { recursive: true });
  const entries: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const image of images) {
    const layers: string[] = [];
    const diffIDs: string[] = [];
    for (const layerDir of image.layerDirs) {
      const tarPath = join(work, `layer-${Math.random().toString(16).slice(2)}.tar`);
      await tarDirectory(layerDir, tarPath);
      const data = await readFile(tarPath);
      const diffID = sha256(data);
      await writeFile(join(stage, `${diffID.slice(7)}.tar`), data);
      await rm(tarPath);
      layers.push(`${diffID.slice(7)}.tar`);
      diffIDs.push(diffID);
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2026-01-01T00:00:00Z',
        config: { Cmd: ['sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] },
        rootfs: { type: 'layers', diff_ids: diffIDs },
        history: diffIDs.map((_, i) => ({ created: '2026-01-01T00:00:00Z', created_by: `layer ${i}` })),
      }),
    );
    const configName = `${sha256(config).slice(7)}.json`;
    await writeFile(join(stage, configName), config);
    entries.push({ Config: configName, RepoTags: image.repoTags, Layers: layers });
  }
  hooks.manifest?.(entries);
  await writeFile(join(stage, 'manifest.json'), JSON.stringify(entries));
  await hooks.files?.(stage);
  await tarDirectory(stage, out);
  await rm(stage, { recursive: true, force: true });
}

/** Extracts an OCI archive, lets `edit` change the layout, and packs it again. */
export async function rewriteArchive(work: string, source: string, out: string, edit: (dir: string) => Promise<void>): Promise<void> {
  const dir = join(work, `rewrite-${Math.random().toString(16).slice(2)}`);
  await untar(source, dir);
  await edit(dir);
  await tarDirectory(dir, out);
  await rm(dir, { recursive: true, force: true });
}

/** Rewrites a JSON blob of an OCI layout in place, updating whichever descriptors in index.json point at it. */
export async function editOciManifest(layoutDir: string, edit: (manifest: Record<string, unknown>) => void): Promise<string> {
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const old = index.manifests[0]!;
  const manifest = JSON.parse(await readFile(join(layoutDir, 'blobs', 'sha256', old.digest.slice(7)), 'utf8')) as Record<string, unknown>;
  edit(manifest);
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  await writeFile(join(layoutDir, 'blobs', 'sha256', digest.slice(7)), bytes);
  await rm(join(layoutDir, 'blobs', 'sha256', old.digest.slice(7)));
  index.manifests = index.manifests.map((d) => (d.digest === old.digest ? { ...d, digest, size: bytes.length } : d));
  await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));
  return digest;
}

/** Lists a directory tree as `path mode uid:gid size [-> target]` lines, for comparing trees. */
export async function treeListing(dir: string, skip: readonly string[] = []): Promise<string[]> {
  const lines: string[] = [];
  const { lstat, readlink } = await import('node:fs/promises');
  const walk = async (path: string, rel: string): Promise<void> => {
    for (const name of (await readdir(path)).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      if (skip.includes(relPath)) continue;
      const full = join(path, name);
      const info = await lstat(full);
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isDirectory()) {
        lines.push(`${relPath}/ ${mode} ${info.uid}:${info.gid}`);
        await walk(full, relPath);
      } else if (info.isSymbolicLink()) {
        lines.push(`${relPath} -> ${await readlink(full)}`);
      } else {
        lines.push(`${relPath} ${mode} ${info.uid}:${info.gid} ${info.size}`);
      }
    }
  };
  await walk(dir, '');
  return lines;
}
