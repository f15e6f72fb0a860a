import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, unlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { LayerError } from '../errors.js';
import type { TarHeader } from '../tar/entry.js';

const execFileAsync = promisify(execFile);

/** A device or fifo waiting to be created. */
export interface PendingNode {
  readonly abs: string;
  readonly header: TarHeader;
}

/** Argument bytes per spawned command, well under the kernel's limit. */
const ARGS_BUDGET = 96 * 1024;

function chunksOf<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && bytes + n > ARGS_BUDGET) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

const MKNOD_LOOP = 'while [ $# -gt 0 ]; do mknod -m 0600 -- "$1" "$2" "$3" "$4" || exit 1; shift 4; done';

async function run(command: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(command, args, { maxBuffer: 1 << 20 });
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    const why = err.code === 'ENOENT' ? `${command} is not installed` : (err.stderr?.trim() || err.message);
    throw new LayerError(`creating device nodes and fifos failed: ${why}`, { cause: error });
  }
}

/**
 * Devices, fifos and overlay whiteouts gathered while a layer is applied and created in batches: Node has no
 * `mknod`, so this spawns coreutils — one `mkfifo` for all fifos, one `sh -c` loop of `mknod` for devices, and for
 * whiteouts (char 0/0, one per deleted path in snapshot mode) a single `mknod` whose node is then hard-linked to
 * every whiteout path, as the kernel itself does.
 */
export class SpecialFiles {
  private readonly nodes = new Map<string, PendingNode>();
  private readonly whiteouts = new Set<string>();

  /** Whether anything is waiting. */
  get size(): number {
    return this.nodes.size + this.whiteouts.size;
  }

  /** Whether `abs` is waiting to be created. */
  has(abs: string): boolean {
    return this.nodes.has(abs) || this.whiteouts.has(abs);
  }

  /** Queues a device or fifo. */
  addNode(abs: string, header: TarHeader): void {
    this.whiteouts.delete(abs);
    this.nodes.set(abs, { abs, header });
  }

  /** Queues an overlay whiteout (char 0/0). */
  addWhiteout(abs: string): void {
    this.nodes.delete(abs);
    this.whiteouts.add(abs);
  }

  /** Drops what is queued at `abs` (a later entry replaced it). */
  forget(abs: string): void {
    this.nodes.delete(abs);
    this.whiteouts.delete(abs);
  }

  /** Drops everything queued below directory `dir` (it is being removed). */
  forgetUnder(dir: string): void {
    const prefix = `${dir}/`;
    for (const abs of this.nodes.keys()) if (abs.startsWith(prefix)) this.nodes.delete(abs);
    for (const abs of this.whiteouts) if (abs.startsWith(prefix)) this.whiteouts.delete(abs);
  }

  /**
   * Creates everything queued (mode 0600; the caller then applies owners, modes, xattrs and times to the nodes
   * returned) and empties the queue. `scratchDir` receives the temporary whiteout node; it must be on the same
   * filesystem as the whiteouts.
   */
  async create(scratchDir: string): Promise<PendingNode[]> {
    const nodes = [...this.nodes.values()];
    const whiteouts = [...this.whiteouts];
    this.nodes.clear();
    this.whiteouts.clear();

    const fifos = nodes.filter((node) => node.header.type === 'fifo');
    for (const chunk of chunksOf(fifos, (node) => node.abs.length + 1)) {
      await run('mkfifo', ['-m', '0600', '--', ...chunk.map((node) => node.abs)]);
    }
    const devices = nodes.filter((node) => node.header.type !== 'fifo');
    for (const chunk of chunksOf(devices, (node) => node.abs.length + 24)) {
      const args = chunk.flatMap((node) => [
        node.abs,
        node.header.type === 'block' ? 'b' : 'c',
        String(node.header.devmajor ?? 0),
        String(node.header.devminor ?? 0),
      ]);
      await run('sh', ['-c', MKNOD_LOOP, 'sh', ...args]);
    }
    if (whiteouts.length > 0) {
      const template = `${scratchDir}/.tsbuild-whiteout-${randomBytes(8).toString('hex')}`;
      await run('mknod', ['-m', '0000', '--', template, 'c', '0', '0']);
      try {
        for (const abs of whiteouts) {
          try {
            linkSync(template, abs);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
            const stat = lstatSync(abs);
            if (stat.isCharacterDevice() && stat.rdev === 0) continue;
            throw new LayerError(`cannot write a whiteout over an existing file at ${abs}`, { cause: error });
          }
        }
      } finally {
        unlinkSync(template);
      }
    }
    return nodes;
  }
}
