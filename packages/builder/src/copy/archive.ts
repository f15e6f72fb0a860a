import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { cleanLayerPath, decompressStream, LayerError, readTar, sniffFormat, type TarReaderLimits } from '@tsbuild/layers';
import type { DirNode, StackResolution } from '../context/layer-stack.js';
import { CopyError } from './errors.js';
import type { EntryMeta, UpperWriter } from './upper-writer.js';

const BLOCK = 512;

/** Whether a 512-byte block is a tar header: not all zeros, and its checksum (unsigned or signed) adds up. */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < BLOCK) return false;
  let unsigned = 0;
  let signed = 0;
  let zero = true;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (block[i] !== 0) zero = false;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (zero) return false;
  const field = block.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]{1,8}$/.test(field)) return false;
  const stored = parseInt(field, 8);
  return stored === unsigned || stored === signed;
}

async function* decompressWithProgram(command: string, source: Readable, instruction: string): AsyncGenerator<Buffer> {
  const child = spawn(command, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.on('error', (error: NodeJS.ErrnoException) => {
    spawnError = error;
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  child.stdin.on('error', () => undefined);
  source.on('error', () => child.kill('SIGKILL'));
  source.pipe(child.stdin);
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await exited;
    if (spawnError !== undefined) {
      throw new CopyError('ADD_ARCHIVE', `${instruction} failed: ${spawnError.code === 'ENOENT' ? `${command} is not installed` : spawnError.message}`, {
        cause: spawnError,
      });
    }
    if (code !== 0) throw new CopyError('ADD_ARCHIVE', `${instruction} failed: ${command} -dc: ${stderr.trim() || `exit status ${code}`}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    source.destroy();
  }
}

/**
 * Opens a local file as ADD sees it: when its content (not its name) is a tar archive — plain, gzip, bzip2, xz or
 * zstd compressed — the uncompressed tar bytes; otherwise undefined, and ADD copies the file as it is (a
 * compressed file that holds no tar, an empty archive, anything else).
 */
export async function openArchive(path: string, instruction = 'ADD'): Promise<AsyncIterable<Buffer> | undefined> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(6);
    const { bytesRead } = await handle.read(buffer, 0, 6, 0);
    head = buffer.subarray(0, bytesRead);
  } catch (error) {
    await handle.close();
    throw error;
  }
  const format = sniffFormat(head);
  const raw = handle.createReadStream({ start: 0, highWaterMark: 256 * 1024 });
  let bytes: AsyncIterable<Buffer>;
  if (format === 'none') bytes = raw as AsyncIterable<Buffer>;
  else if (format === 'bzip2' || format === 'xz') bytes = decompressWithProgram(format, raw, instruction);
  else {
    const decompressor = decompressStream(format);
    pipeline(raw, decompressor, () => undefined);
    bytes = decompressor as AsyncIterable<Buffer>;
  }
  const iterator = bytes[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let length = 0;
  let ended = false;
  try {
    while (length < BLOCK) {
      const next = await iterator.next();
      if (next.done === true) {
        ended = true;
        break;
      }
      parts.push(next.value);
      length += next.value.length;
    }
  } catch {
    await iterator.return?.();
    raw.destroy();
    return undefined; // not decompressible: not an archive, copied as it is
  }
  const first = Buffer.concat(parts, length);
  if (!isTarHeader(first.subarray(0, BLOCK))) {
    await iterator.return?.();
    raw.destroy();
    return undefined;
  }
  return {
    async *[Symbol.asyncIterator]() {
      try {
        yield first;
        if (ended) return;
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) return;
          yield next.value;
        }
      } finally {
        await iterator.return?.();
        raw.destroy();
      }
    },
  };
}

/** Options of {@link extractArchive}. */
export interface ExtractOptions {
  /** The archive as named in the instruction (for messages). */
  readonly archive: string;
  /** `--chown`: replaces the owners recorded in the archive. */
  readonly chown?: { uid: number; gid: number } | undefined;
  /** Time given to directories the extraction has to create. */
  readonly timestampMs: number;
  /** `ADD`, for messages. */
  readonly instruction: string;
  /** Bounds on what the archive can make the reader do. */
  readonly limits?: TarReaderLimits;
  /** Stops the extraction. */
  readonly signal?: AbortSignal | undefined;
  /** Called after each entry with the bytes of file data written. */
  readonly onEntry?: (bytes: number) => Promise<void> | void;
  /** Copies a file (lower layer → upper dir) for a hardlink to a file the archive did not write. */
  readonly copyFile: (from: string, to: string) => void;
}

/**
 * Extracts a tar archive into a destination directory (already made, given as its resolution) the way docker's
 * ADD does, but as overlay changes in the upper dir: entries merge into existing directories and replace anything
 * else; owners, modes, times and xattrs come from the archive (owners from `--chown` when given). Every path is
 * resolved with the destination as its root: `..` that would climb out is an error naming the entry, and
 * symlinks — from the image or made by the archive itself (`dir -> ..`) — are followed without ever leaving the
 * destination. Entries named like layer whiteouts (`.wh.*`) are refused: a layer cannot hold them as files.
 */
export async function extractArchive(writer: UpperWriter, tar: AsyncIterable<Buffer>, target: StackResolution, options: ExtractOptions): Promise<number> {
  const { chown, instruction, archive } = options;
  const fail = (message: string, entry: string, cause?: unknown): CopyError =>
    new CopyError('ADD_ARCHIVE', `${instruction} failed: archive ${archive}: ${message}`, { path: entry, ...(cause !== undefined ? { cause } : {}) });
  const created: EntryMeta = { uid: chown?.uid ?? 0, gid: chown?.gid ?? 0, mode: 0o755, mtimeMs: options.timestampMs };
  let count = 0;
  try {
    for await (const entry of readTar(tar, options.limits)) {
      options.signal?.throwIfAborted();
      let parts: string[];
      try {
        parts = cleanLayerPath(entry.path);
      } catch (error) {
        throw fail(`entry ${JSON.stringify(entry.path)} leads outside the destination`, entry.path, error);
      }
      const meta: EntryMeta = {
        uid: chown?.uid ?? entry.uid,
        gid: chown?.gid ?? entry.gid,
        mode: entry.mode,
        mtimeMs: entry.mtime * 1000,
        ...(entry.xattrs !== undefined ? { xattrs: entry.xattrs } : {}),
      };
      let written = 0;
      if (parts.length === 0) {
        if (entry.type !== 'directory') continue; // a non-directory root entry (an empty name) is skipped, as docker does
        if (target.components.length > 0) {
          const parent = target.dirs[target.components.length - 1]!;
          writer.makeDirectory(parent, target.components.at(-1)!, meta);
        }
        count++;
        continue;
      }
      const name = parts[parts.length - 1]!;
      if (name.startsWith('.wh.')) throw fail(`entry ${JSON.stringify(entry.path)} is named like a layer whiteout (.wh.*)`, entry.path);
      const parent = writer.ensureDirectory(parts.slice(0, -1), created, { floor: target }).node as DirNode;
      switch (entry.type) {
        case 'directory':
          writer.makeDirectory(parent, name, meta);
          break;
        case 'file':
          await writer.makeFileAsync(parent, name, meta, async (host) => {
            const handle = await open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
            try {
              for await (const chunk of entry.body) {
                let offset = 0;
                while (offset < chunk.length) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
                written += chunk.length;
              }
            } finally {
              await handle.close();
            }
          });
          break;
        case 'symlink':
          writer.makeSymlink(parent, name, entry.linkname ?? '', meta);
          break;
        case 'hardlink': {
          let linkParts: string[];
          try {
            linkParts = cleanLayerPath(entry.linkname ?? '', 'hardlink target', entry.path);
          } catch (error) {
            throw fail(`hardlink ${JSON.stringify(entry.path)} points outside the destination (${entry.linkname})`, entry.path, error);
          }
          const linked = writer.resolve(linkParts, false, target);
          if (linked.node === undefined || linked.node.kind === 'directory') {
            throw fail(`hardlink ${JSON.stringify(entry.path)} points to ${JSON.stringify(entry.linkname)}, which is not a file in the destination`, entry.path);
          }
          const existing = writer.copyUpFile(linked, options.copyFile);
          writer.makeHardlink(parent, name, existing);
          break;
        }
        case 'char':
        case 'block':
        case 'fifo':
          writer.makeSpecial(parent, name, entry.type, entry.devmajor ?? 0, entry.devminor ?? 0, meta);
          break;
      }
      count++;
      await options.onEntry?.(written);
    }
  } catch (error) {
    if (error instanceof LayerError) throw fail(error.message, error.entry ?? archive, error);
    throw error;
  }
  return count;
}
