import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeBusyboxRootfs } from './__fixtures__/busybox-rootfs.js';
import { TextSink } from './__fixtures__/harness.js';
import { runEphemeral } from './run-ephemeral.js';

let base: string;
let rootfs: string;
let tempDir: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'tsbuild-ephemeral-test-'));
  rootfs = join(base, 'rootfs');
  tempDir = join(base, 'tmp');
  await makeBusyboxRootfs(rootfs);
  await mkdir(tempDir);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('runEphemeral', () => {
  it('passes stdin through, returns the exit code and keeps nothing', async () => {
    const stdout = new TextSink();
    const result = await runEphemeral({
      lowerDirs: [rootfs],
      command: ['sh', '-c', 'tr a-z A-Z; echo kept > /data/new.txt; exit 5'],
      env: [],
      stdin: Readable.from(['hello\n', 'world\n']),
      stdout,
      tempDir,
    });
    expect(result).toEqual({ exitCode: 5 });
    expect(stdout.text).toBe('HELLO\nWORLD\n');
    expect(await readdir(tempDir)).toEqual([]);
    expect(await readdir(join(rootfs, 'data'))).not.toContain('new.txt');
  });

  it('gives the command an empty stdin by default', async () => {
    const stdout = new TextSink();
    const result = await runEphemeral({ lowerDirs: [rootfs], command: ['wc', '-c'], env: [], stdout, tempDir });
    expect(result.exitCode).toBe(0);
    expect(stdout.text.trim()).toBe('0');
  });

  it('cleans up after an abort', async () => {
    const controller = new AbortController();
    const stdout = new TextSink((text) => text.includes('up') && controller.abort());
    const run = runEphemeral({
      lowerDirs: [rootfs],
      command: ['sh', '-c', 'echo up; exec sleep 1000'],
      env: [],
      stdout,
      tempDir,
      signal: controller.signal,
    });
    await expect(run).rejects.toThrow(/abort/i);
    expect(await readdir(tempDir)).toEqual([]);
  });
});
