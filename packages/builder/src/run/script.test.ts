import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './__fixtures__/harness.js';
import { SCRIPT_PATH } from './sandbox-script.js';

let harness: Harness;

beforeAll(async () => {
  harness = await Harness.create();
});

afterAll(async () => {
  await harness.cleanup();
});

describe('runInSnapshot: scripts (RUN <<EOF starting with #!)', () => {
  it('runs the script through its #! interpreter and commits nothing of it', async () => {
    const script = '#!/bin/sh -e\necho "running $0 as $(id -u)"\necho made > /made-by-script\n';
    const { result, stdout, upperDir } = await harness.run(['ignored'], { script });
    expect(result.exitCode).toBe(0);
    expect(stdout).toBe(`running ${SCRIPT_PATH} as 0\n`);
    const written = await readdir(upperDir, { recursive: true });
    expect(written).toContain('made-by-script');
    expect(written.filter((path) => path.includes('script') && path !== 'made-by-script')).toEqual([]);
  });

  it('reports the script exit code', async () => {
    const { result } = await harness.run(['ignored'], { script: '#!/bin/sh\nexit 3\n' });
    expect(result.exitCode).toBe(3);
  });
});
