import { renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { DirNode } from '../context/layer-stack.js';
import type { RemoteSource, SelectedSource } from '../context/source.js';
import { layersXattrIo, type XattrIo } from '../context/xattr-io.js';
import { extractArchive, openArchive } from './archive.js';
import { resolveDestination } from './destination.js';
import { copyFileContent, EntryWriter } from './entry-writer.js';
import { CopyError } from './errors.js';
import { ProgressCounter, type CopyProgress } from './progress.js';
import { fetchRemoteSource } from './remote.js';
import { UpperWriter, type CopyWarning, type EntryMeta } from './upper-writer.js';

/** An ADD URL that {@link copyToUpperDir} downloads itself (use `fetchRemoteSource` first to checksum it). */
export interface UrlSource {
  /** Discriminator. */
  readonly kind: 'url';
  /** `http://` or `https://` URL. */
  readonly url: string;
}

/** A COPY/ADD source: selected from the context or an image, an already downloaded URL, or a URL to download. */
export type CopySource = SelectedSource | RemoteSource | UrlSource;

/** Options of {@link copyToUpperDir}. */
export interface CopyToUpperOptions {
  /** What to copy, in instruction order. Several sources need a destination that ends with `/`. */
  sources: readonly CopySource[];
  /** The destination as written (after word expansion): absolute, or relative to `workdir`. */
  dest: string;
  /** The WORKDIR of the stage (default `/`). */
  workdir?: string;
  /** The image's snapshot dirs, top first (empty for `FROM scratch`). */
  lowerDirs: readonly string[];
  /** A fresh, empty directory that receives the changes in overlay upper-dir form. */
  upperDir: string;
  /** `--chown`, resolved: owner of everything copied and of the directories the copy creates. */
  chown?: { uid: number; gid: number };
  /** `--chmod`: permission bits of everything copied (not symlinks, not archive contents). */
  chmod?: number;
  /** ADD: extract local tar archives and accept URLs. */
  isAdd?: boolean;
  /** ADD `--checksum` for a {@link UrlSource}. */
  checksum?: string;
  /** Modification time of directories the copy creates (default: now), e.g. from `SOURCE_DATE_EPOCH`. */
  timestamp?: Date;
  /** Namespace of the opaque mark in the upper dir (default `trusted`). */
  overlayXattrNamespace?: 'trusted' | 'user';
  /** Extended attribute access (default: `@tsbuild/layers`'; see {@link XattrIo}). */
  xattrs?: XattrIo;
  /** Stops the copy (the upper dir is left half-written: the caller removes it). */
  signal?: AbortSignal;
  /** Called about every 256 entries or 8 MiB, and at the end. */
  onProgress?: (progress: CopyProgress) => void;
  /** Told about what was left out (sockets, xattrs the upper dir's filesystem refuses). */
  onWarning?: (warning: CopyWarning) => void;
}

/**
 * Carries out a COPY or ADD into a fresh upper dir, with docker's semantics, as overlayfs would have recorded it
 * (see {@link UpperWriter}); the caller turns the upper dir into the layer and keeps it as the next snapshot.
 *
 * - The destination is relative to WORKDIR; symlinks on the way resolve inside the image. Several sources need a
 *   destination ending with `/`. Missing directories are created with mode 0755, owned by root — or by the
 *   `--chown` user, as BuildKit does.
 * - A directory source copies its contents (into the destination, made a directory); anything else copies itself
 *   into the destination when that is (or is spelled as) a directory, else becomes the destination, replacing a
 *   file or symlink there. Inside a copied tree, directories merge with existing ones and take the source's
 *   metadata, anything else replaces what is there.
 * - Owners are 0:0 for context files, kept for image files (`COPY --from`), and `--chown`'s when given; modes and
 *   mtimes are kept (`--chmod` sets modes); hardlinks inside what is copied stay hardlinks; xattrs are kept.
 * - ADD extracts a context file whose content is a tar archive (plain, gzip, bzip2, xz, zstd) into the destination
 *   ({@link extractArchive}), and downloads URLs (mode 0600, mtime from `Last-Modified`, never extracted).
 *
 * Nothing is ever written outside the upper dir.
 * @throws {CopyError} for a destination that cannot take the sources, an unsafe archive, a failed download.
 */
export async function copyToUpperDir(options: CopyToUpperOptions): Promise<CopyProgress> {
  const { chown, chmod, signal } = options;
  const instruction = options.isAdd === true ? 'ADD' : 'COPY';
  signal?.throwIfAborted();
  if (options.sources.length === 0) throw new CopyError('COPY_SOURCE', `${instruction} failed: no source files were specified`);
  const dest = resolveDestination(options.dest, options.workdir ?? '/', instruction);
  if (options.sources.length > 1 && !dest.isDirectory) {
    throw new CopyError(
      'COPY_DESTINATION',
      `When using ${instruction} with more than one source file, the destination must be a directory and end with a /`,
      { path: options.dest },
    );
  }
  const now = options.timestamp?.getTime() ?? Date.now();
  const writer = new UpperWriter({
    upperDir: options.upperDir,
    lowerDirs: options.lowerDirs,
    xattrs: options.xattrs ?? layersXattrIo,
    overlayXattrNamespace: options.overlayXattrNamespace ?? 'trusted',
    instruction,
    onWarning: options.onWarning,
  });
  const entries = new EntryWriter(writer, { chown, chmod, instruction, onWarning: options.onWarning });
  const counter = new ProgressCounter(options.onProgress, signal);
  /** Directories the copy has to create: 0755, owned by root or by the `--chown` user (as BuildKit does). */
  const created: EntryMeta = { uid: chown?.uid ?? 0, gid: chown?.gid ?? 0, mode: 0o755, mtimeMs: now };
  const copy = (from: string, to: string): void => copyFileContent(from, to, instruction);

  /** Where a non-directory source (named `name`) lands: into the destination directory, or as the destination. */
  const leafTarget = (name: string, what: string): { parent: DirNode; name: string } => {
    const into = (): { parent: DirNode; name: string } => {
      if (name === '') {
        throw new CopyError('COPY_DESTINATION', `${instruction} failed: cannot determine a file name for ${what}; name the destination file`, { path: what });
      }
      return { parent: writer.ensureDirectory(dest.components, created).node as DirNode, name };
    };
    if (dest.isDirectory || dest.components.length === 0) return into();
    if (writer.resolve(dest.components, true).node?.kind === 'directory') return into();
    const parent = writer.ensureDirectory(dest.components.slice(0, -1), created).node as DirNode;
    return { parent, name: dest.components[dest.components.length - 1]! };
  };

  const placeRemote = (remote: RemoteSource, move: boolean): void => {
    const { parent, name } = leafTarget(remote.name, remote.url);
    const meta: EntryMeta = { uid: chown?.uid ?? 0, gid: chown?.gid ?? 0, mode: chmod ?? 0o600, mtimeMs: remote.mtimeMs ?? now };
    writer.makeFile(parent, name, meta, (to) => (move ? renameSync(remote.path, to) : copy(remote.path, to)));
  };

  for (const source of options.sources) {
    signal?.throwIfAborted();
    if (source.kind === 'url') {
      if (options.isAdd !== true) throw new CopyError('COPY_SOURCE', `COPY failed: source can't be a URL for COPY: ${source.url}`, { path: source.url });
      const remote = await fetchRemoteSource(source.url, {
        dir: options.upperDir,
        instruction,
        ...(options.checksum !== undefined ? { checksum: options.checksum } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
      try {
        placeRemote(remote, true);
      } finally {
        await rm(remote.path, { force: true });
      }
      await counter.add(remote.size);
      continue;
    }
    if (source.kind === 'remote') {
      placeRemote(source, false);
      await counter.add(source.size);
      continue;
    }
    if (options.isAdd === true && source.origin === 'context' && source.entry.type === 'file') {
      const tar = await openArchive(source.entry.hostPath, instruction);
      if (tar !== undefined) {
        const target = writer.ensureDirectory(dest.components, created, { replaceLeaf: true });
        await extractArchive(writer, tar, target, {
          archive: source.pattern === source.path ? source.path : `${source.path} (${source.pattern})`,
          chown,
          timestampMs: now,
          instruction,
          signal,
          onEntry: (bytes) => counter.add(bytes),
          copyFile: copy,
        });
        continue;
      }
    }
    if (source.entry.type === 'directory') {
      // A directory it creates for the source itself takes the source's mtime (BuildKit).
      const target = writer.ensureDirectory(dest.components, created, { replaceLeaf: true, createdLast: { ...created, mtimeMs: source.entry.mtimeMs } });
      await entries.writeTree(source, target.node as DirNode, counter, signal);
    } else {
      const { parent, name } = leafTarget(source.name, source.pattern);
      await counter.add(entries.write(parent, name, source.entry, source.origin));
    }
  }
  await writer.finish(signal);
  return counter.finish();
}
