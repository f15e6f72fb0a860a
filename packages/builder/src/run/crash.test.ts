import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Harness, killProcessesWith, processesWith } from './__fixtures__/harness.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
let harness: Harness;

beforeAll(async () => {
  harness = await Harness.create();
});

afterAll(async () => {
  await harness.cleanup();
});

describe('a tsbuild process killed with SIGKILL', () => {
  it('takes its sandbox with it: no process and no mount remain', async () => {
    const marker = 'tsbuild-crash-marker';
    const dirs = await harness.freshDirs();
    const options = {
      lowerDirs: [harness.rootfs],
      ...dirs,
      command: ['sh', '-c', `echo started; sleep 1000; echo ${marker}`],
      env: [],
      tempDir: harness.tempDir,
      // not root: switching user clears the kernel's parent-death signal, which tini has to set again
      user: 'app',
    };
    const child = spawn(
      process.execPath,
      ['--import', join(fixtures, 'register-ts-loader.mjs'), join(fixtures, 'run-and-wait.ts'), JSON.stringify(options)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('started')) resolve();
        });
        child.once('exit', () => reject(new Error(`the child ended before the command started: ${output}`)));
      });
      expect((await processesWith(marker)).length).toBeGreaterThan(1);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    try {
      const deadline = Date.now() + 5000;
      while ((await processesWith(marker)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await processesWith(marker)).toEqual([]);
    } finally {
      await killProcessesWith(marker);
    }
    // the run dir stays behind (no one removed it), but nothing is mounted on it in any namespace left
    const [runDir] = await readdir(harness.tempDir);
    expect(runDir).toBeDefined();
    expect(await readdir(join(harness.tempDir, runDir ?? '', 's'))).toEqual([]);
    for (const pid of await readdir('/proc')) {
      if (!/^[0-9]+$/.test(pid)) continue;
      const mountinfo = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '');
      expect(mountinfo).not.toContain(harness.tempDir);
    }
  });
});
