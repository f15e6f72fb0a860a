import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { runInSnapshot, type RunInSnapshotOptions } from '../run-in-snapshot.js';
import type { SandboxResult } from '../sandbox.js';
import { makeBusyboxRootfs } from './busybox-rootfs.js';

/** A Writable that keeps what it is given as text. */
export class TextSink extends Writable {
  text = '';
  readonly #onData: ((text: string) => void) | undefined;

  constructor(onData?: (text: string) => void) {
    super();
    this.#onData = onData;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    this.#onData?.(this.text);
    callback();
  }
}

/** What one test run left behind. */
export interface HarnessRun {
  readonly result: SandboxResult;
  readonly stdout: string;
  readonly stderr: string;
  readonly upperDir: string;
}

/** A temp dir with a busybox root file system and fresh upper/work dirs per run. */
export class Harness {
  private constructor(
    readonly base: string,
    readonly rootfs: string,
    readonly tempDir: string,
  ) {}

  static async create(): Promise<Harness> {
    const base = await mkdtemp(join(tmpdir(), 'tsbuild-run-test-'));
    const harness = new Harness(base, join(base, 'rootfs'), join(base, 'tmp'));
    await makeBusyboxRootfs(harness.rootfs);
    await mkdir(harness.tempDir);
    return harness;
  }

  #runs = 0;

  /** Fresh upper and work dirs. */
  async freshDirs(): Promise<{ upperDir: string; workDir: string }> {
    this.#runs += 1;
    const dir = join(this.base, `run-${this.#runs}`);
    await mkdir(join(dir, 'upper'), { recursive: true });
    await mkdir(join(dir, 'work'));
    return { upperDir: join(dir, 'upper'), workDir: join(dir, 'work') };
  }

  /** Runs `command` on the busybox root file system (below `extraLowers`), collecting its output. */
  async run(
    command: string[],
    options: Partial<RunInSnapshotOptions> & { extraLowers?: string[]; onStdout?: (text: string) => void } = {},
  ): Promise<HarnessRun> {
    const { extraLowers = [], onStdout, ...rest } = options;
    const dirs = await this.freshDirs();
    const stdout = new TextSink(onStdout);
    const stderr = new TextSink();
    const result = await runInSnapshot({
      lowerDirs: [...extraLowers, this.rootfs],
      env: [],
      tempDir: this.tempDir,
      ...dirs,
      ...rest,
      command,
      stdout,
      stderr,
    });
    return { result, stdout: stdout.text, stderr: stderr.text, upperDir: dirs.upperDir };
  }

  /** What is left in the scratch parent dir (should be nothing after every run). */
  async leftovers(): Promise<string[]> {
    return readdir(this.tempDir);
  }

  async cleanup(): Promise<void> {
    await rm(this.base, { recursive: true, force: true });
  }
}

/** Command lines of live processes whose argv contains `marker`. */
export async function processesWith(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmdline.includes(marker)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Safety net for a failing test: kills (by PID) the processes whose argv contains the test's unique `marker`. */
export async function killProcessesWith(marker: string): Promise<void> {
  for (const found of await processesWith(marker)) {
    try {
      process.kill(Number(found.slice(0, found.indexOf(':'))), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
