import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `tsbuild` command as installed (the launcher script; `npm run build` makes what it starts). */
export const TSBUILD_BIN = fileURLToPath(new URL('../../cli/bin/tsbuild', import.meta.url));

/** What a finished command printed and how it exited. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command after this many ms (default 120 s). */
  timeout?: number;
}

/** Runs a program and collects its output. Never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a program and fails with its output if it exits non-zero. */
export async function runOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** Runs `tsbuild` with a store root. */
export function tsbuild(root: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(TSBUILD_BIN, ['--root', root, ...args], options);
}

/** Starts `tsbuild` without waiting for it (for kill and concurrency tests). */
export function startTsbuild(root: string, args: readonly string[]): ChildProcess {
  return spawn(TSBUILD_BIN, ['--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}
