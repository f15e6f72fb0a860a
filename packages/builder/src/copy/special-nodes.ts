import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CopyError } from './errors.js';

const execFileAsync = promisify(execFile);

/** A device node or fifo to create. */
export interface SpecialNode {
  /** Host path (inside the upper dir). */
  readonly path: string;
  /** What to create. */
  readonly type: 'char' | 'block' | 'fifo';
  /** Device numbers (devices only). */
  readonly major: number;
  /** Device numbers (devices only). */
  readonly minor: number;
}

const ARGS_BUDGET = 96 * 1024;
const MKNOD_LOOP = 'while [ $# -gt 0 ]; do mknod -m 0600 -- "$1" "$2" "$3" "$4" || exit 1; shift 4; done';

function batches<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && bytes + n > ARGS_BUDGET) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function run(command: string, args: string[], instruction: string): Promise<void> {
  try {
    await execFileAsync(command, args, { maxBuffer: 1 << 20 });
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    const why = err.code === 'ENOENT' ? `${command} is not installed` : (err.stderr?.trim() || err.message);
    throw new CopyError('COPY_SOURCE', `${instruction} failed: creating device nodes and fifos: ${why}`, { cause: error });
  }
}

/**
 * Creates device nodes and fifos (mode 0600; the caller sets owners, modes and times afterwards). Node has no
 * `mknod`, so this spawns coreutils, a few calls for any number of nodes.
 */
export async function createSpecialNodes(nodes: readonly SpecialNode[], instruction = 'COPY'): Promise<void> {
  const fifos = nodes.filter((node) => node.type === 'fifo');
  const devices = nodes.filter((node) => node.type !== 'fifo');
  for (const batch of batches(fifos, (node) => Buffer.byteLength(node.path) + 1)) {
    await run('mkfifo', ['-m', '0600', '--', ...batch.map((node) => node.path)], instruction);
  }
  for (const batch of batches(devices, (node) => Buffer.byteLength(node.path) + 24)) {
    const args = batch.flatMap((node) => [node.path, node.type === 'char' ? 'c' : 'b', String(node.major), String(node.minor)]);
    await run('sh', ['-c', MKNOD_LOOP, 'mknod-loop', ...args], instruction);
  }
}

/** Major number of a Linux `dev_t` (glibc's encoding). */
export function deviceMajor(rdev: number): number {
  return ((Math.floor(rdev / 256) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)) >>> 0;
}

/** Minor number of a Linux `dev_t` (glibc's encoding). */
export function deviceMinor(rdev: number): number {
  return ((rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff)) >>> 0;
}
