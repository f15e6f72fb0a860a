import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

import { RunError } from './errors.js';
import { SETUP_ENV } from './sandbox-script.js';

/** Where the sandboxed command's stdin comes from. */
export type SandboxStdin = 'ignore' | 'inherit' | Readable;

/** How the sandbox's top process ended. */
export interface SandboxExit {
  /** Exit code of the sandbox (tini passes on the command's, or 128 + signal number when a signal ended it). */
  readonly code: number | null;
  /** Set when the sandbox itself was killed by a signal. */
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link SandboxProcess.start}. */
export interface SandboxProcessOptions {
  readonly cwd: string;
  readonly stdin: SandboxStdin;
  readonly stdout: Writable | undefined;
  readonly stderr: Writable | undefined;
}

/**
 * The host side of one sandbox process tree: starts it in its own session and process group (no controlling
 * terminal; one `kill` reaches all of it), streams its output, and speaks the set-up protocol on fds 3 and 4.
 */
export class SandboxProcess {
  /** Resolves once the process has exited and all its output has been read. */
  readonly exited: Promise<SandboxExit>;
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters: (() => void)[] = [];
  #diagnostics = '';
  #statusEnded = false;
  #spawnError: Error | undefined;
  #done = false;

  private constructor(argv: readonly string[], options: SandboxProcessOptions) {
    const [file = '', ...args] = argv;
    const input = options.stdin === 'ignore' || options.stdin === 'inherit' ? options.stdin : 'pipe';
    this.#child = spawn(file, args, {
      cwd: options.cwd,
      env: SETUP_ENV,
      stdio: [input, 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const child = this.#child;
    this.exited = new Promise<SandboxExit>((resolve) => {
      child.once('error', (error) => {
        this.#spawnError = error;
        this.#endStatus();
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    }).finally(() => {
      this.#done = true;
    });

    forward(child.stdout, options.stdout);
    forward(child.stderr, options.stderr);
    const stdin = options.stdin;
    if (typeof stdin === 'object' && child.stdin !== null) {
      const input = child.stdin;
      input.on('error', () => undefined); // the command may exit without reading all of it
      stdin.pipe(input);
      void this.exited.then(() => stdin.unpipe(input));
    }
    const status = child.stdio[3] as Readable | null;
    const control = child.stdio[4] as Writable | null;
    control?.on('error', () => undefined);
    if (status === null) {
      this.#endStatus();
    } else {
      status.setEncoding('utf8');
      let partial = '';
      status.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.#line(line);
      });
      status.on('error', () => undefined);
      status.once('end', () => {
        if (partial !== '') this.#line(partial);
        this.#endStatus();
      });
    }
  }

  /** Starts the sandbox's top process. */
  static start(argv: readonly string[], options: SandboxProcessOptions): SandboxProcess {
    return new SandboxProcess(argv, options);
  }

  /** Host PID of the top process (`unshare`, which lives in the new mount namespace). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Why the set-up failed: the step it reported (`@fail STEP`) and what its tools wrote, if anything. */
  get failure(): string | undefined {
    const step = this.#lines.find((line) => line.startsWith('@fail '))?.slice('@fail '.length);
    const output = this.#diagnostics.trim();
    if (step === undefined) return output === '' ? undefined : output;
    return output === '' ? step : `${step}: ${output}`;
  }

  /** Why the process could not be started at all, if it could not. */
  get spawnError(): RunError | undefined {
    const error = this.#spawnError;
    if (error === undefined) return undefined;
    return new RunError(
      `could not start the RUN sandbox (${error.message}): it needs util-linux's setpriv and unshare, as root`,
      { code: 'MISSING_HOST_TOOL', cause: error },
    );
  }

  /** Resolves true once the set-up reports `marker`, false if it ends (fails) first. */
  async waitFor(marker: string): Promise<boolean> {
    for (;;) {
      const index = this.#lines.indexOf(marker);
      if (index !== -1) {
        this.#lines.splice(0, index + 1);
        return true;
      }
      if (this.#statusEnded) return false;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Sends the set-up its one answer on fd 4. */
  reply(line: string): void {
    const control = this.#child.stdio[4] as Writable | null;
    control?.end(`${line}\n`);
  }

  /** Kills the whole process group with SIGKILL (PID 1 going takes its PID namespace with it). */
  kill(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#done) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  #line(line: string): void {
    if (line.startsWith('@')) this.#lines.push(line);
    else this.#diagnostics += `${line}\n`;
    this.#wake();
  }

  #endStatus(): void {
    this.#statusEnded = true;
    this.#wake();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

function forward(source: Readable | null, destination: Writable | undefined): void {
  if (source === null) return;
  if (destination === undefined) source.resume();
  else source.pipe(destination, { end: false });
}
