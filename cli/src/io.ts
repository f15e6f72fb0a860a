import type { Readable, Writable } from 'node:stream';

/** The streams a command reads and writes; tests pass their own. */
export interface CliIO {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  readonly stderr: Writable & { isTTY?: boolean; columns?: number };
}

/** The process's own streams. */
export function processIO(): CliIO {
  // process.stdin is built on first access (a tty or pipe handle): only commands that read it pay for it.
  return {
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

/** Writes a line. */
export function println(stream: Writable, line = ''): void {
  stream.write(`${line}\n`);
}
