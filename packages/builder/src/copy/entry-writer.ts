import { closeSync, constants, copyFileSync, fstatSync, openSync } from 'node:fs';
import type { DirNode } from '../context/layer-stack.js';
import type { SelectedSource, SourceEntry, SourceOrigin } from '../context/source.js';
import { CopyError } from './errors.js';
import type { ProgressCounter } from './progress.js';
import { deviceMajor, deviceMinor } from './special-nodes.js';
import type { CopyWarning, EntryMeta, UpperWriter } from './upper-writer.js';

/** Copies a file's content from a host path to a new file, without following a symlink swapped in meanwhile. */
export function copyFileContent(from: string, to: string, instruction = 'COPY'): void {
  const fd = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) {
      throw new CopyError('COPY_SOURCE', `${instruction} failed: ${from} changed while it was being copied`, { path: from });
    }
    // The open descriptor's /proc link names exactly the file opened above: the kernel copy never re-resolves the path.
    copyFileSync(`/proc/self/fd/${fd}`, to, constants.COPYFILE_EXCL);
  } finally {
    closeSync(fd);
  }
}

/** Options of {@link EntryWriter}. */
export interface EntryWriterOptions {
  /** `--chown`. */
  readonly chown?: { uid: number; gid: number } | undefined;
  /** `--chmod`. */
  readonly chmod?: number | undefined;
  /** `COPY` or `ADD`, for messages. */
  readonly instruction: string;
  /** Told about sockets left out. */
  readonly onWarning?: ((warning: CopyWarning) => void) | undefined;
}

/**
 * Writes source entries (from the context or an image) into the upper dir with COPY's rules for metadata: owners
 * 0:0 for context files, kept for image files, `--chown`'s when given; modes kept unless `--chmod`; mtimes and
 * xattrs kept; files that are hardlinked in the sources stay hardlinked (across all sources of one COPY).
 */
export class EntryWriter {
  private readonly writer: UpperWriter;
  private readonly options: EntryWriterOptions;
  /** `dev:ino` of a copied file → its path in the upper dir. */
  private readonly links = new Map<string, string>();

  constructor(writer: UpperWriter, options: EntryWriterOptions) {
    this.writer = writer;
    this.options = options;
  }

  /** The metadata an entry gets. */
  metaFor(entry: SourceEntry, origin: SourceOrigin): EntryMeta {
    const { chown, chmod } = this.options;
    return {
      uid: chown?.uid ?? (origin === 'context' ? 0 : entry.uid),
      gid: chown?.gid ?? (origin === 'context' ? 0 : entry.gid),
      mode: chmod !== undefined && entry.type !== 'symlink' ? chmod : entry.mode,
      mtimeMs: entry.mtimeMs,
      xattrsFrom: entry.hostPath,
    };
  }

  /** Writes one entry as `name` in `parent`; returns the bytes of file data written. */
  write(parent: DirNode, name: string, entry: SourceEntry, origin: SourceOrigin): number {
    const meta = this.metaFor(entry, origin);
    switch (entry.type) {
      case 'file': {
        const key = entry.nlink > 1 ? `${entry.dev}:${entry.ino}` : undefined;
        const first = key === undefined ? undefined : this.links.get(key);
        if (first !== undefined) {
          this.writer.makeHardlink(parent, name, first);
          return 0;
        }
        const host = this.writer.makeFile(parent, name, meta, (to) => copyFileContent(entry.hostPath, to, this.options.instruction));
        if (key !== undefined) this.links.set(key, host);
        return entry.size;
      }
      case 'symlink':
        this.writer.makeSymlink(parent, name, entry.linkTarget ?? '', meta);
        return 0;
      case 'char':
      case 'block':
      case 'fifo':
        this.writer.makeSpecial(parent, name, entry.type, deviceMajor(entry.rdev), deviceMinor(entry.rdev), meta);
        return 0;
      case 'socket':
        this.options.onWarning?.({ code: 'SOCKET_SKIPPED', path: entry.hostPath, message: `${entry.hostPath}: sockets cannot be copied into an image; left out` });
        return 0;
      case 'directory':
        this.writer.makeDirectory(parent, name, meta);
        return 0;
    }
  }

  /** Copies what is below a directory source into `target` (already a directory in the upper dir). */
  async writeTree(source: SelectedSource, target: DirNode, counter: ProgressCounter, signal?: AbortSignal): Promise<void> {
    const dirs = new Map<string, DirNode>([['', target]]);
    for (const entry of source.walk(signal)) {
      if (entry.rel === '') continue;
      const slash = entry.rel.lastIndexOf('/');
      const parent = dirs.get(slash === -1 ? '' : entry.rel.slice(0, slash));
      if (parent === undefined) continue; // below something that was not a directory: cannot happen in a walk
      const name = entry.rel.slice(slash + 1);
      if (entry.type === 'directory') {
        dirs.set(entry.rel, this.writer.makeDirectory(parent, name, this.metaFor(entry, source.origin)));
        await counter.add(0);
      } else await counter.add(this.write(parent, name, entry, source.origin));
    }
  }
}
