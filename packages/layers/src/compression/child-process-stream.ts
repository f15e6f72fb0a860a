import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { LayerError } from '../errors.js';

/**
 * A duplex stream backed by a program reading stdin and writing stdout (`zstd -d -c`). Its readable side ends only
 * once the program has exited with status 0; any other exit fails the stream with the program's stderr.
 */
export class ChildProcessStream extends Duplex {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = '';
  private failed = false;

  constructor(command: string, args: readonly string[]) {
    super();
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const { child } = this;
    child.stdin.on('error', () => undefined); // the exit status tells what went wrong
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (this.stderr.length < 4096) this.stderr += text;
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      this.failed = true;
      const message = error.code === 'ENOENT' ? `${command} is not installed` : `${command} could not be started: ${error.message}`;
      this.destroy(new LayerError(message, { cause: error }));
    });
    child.on('close', (code, signal) => {
      if (this.failed || this.destroyed) return;
      if (code === 0) this.push(null);
      else {
        const why = this.stderr.trim() || (signal !== null ? `killed by ${signal}` : `exit status ${code}`);
        this.destroy(new LayerError(`${command} ${args.join(' ')} failed: ${why}`));
      }
    });
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.child.stdin.destroyed) {
      callback();
      return;
    }
    this.child.stdin.write(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    callback(error);
  }
}
