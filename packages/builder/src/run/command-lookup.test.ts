import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeBusyboxRootfs } from './__fixtures__/busybox-rootfs.js';
import { lookupCommand } from './command-lookup.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-lookup-test-'));
  await makeBusyboxRootfs(root);
  await mkdir(join(root, 'app'));
  await writeFile(join(root, 'app/script'), '#!/bin/sh\n');
  await chmod(join(root, 'app/script'), 0o755);
  await writeFile(join(root, 'app/data'), 'x');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('lookupCommand', () => {
  it('searches PATH inside the root, through absolute links', async () => {
    expect(await lookupCommand(root, 'sh', '/', '/usr/bin:/bin')).toEqual({ found: true, path: '/bin/busybox' });
  });

  it('resolves names with a slash against the working directory', async () => {
    expect(await lookupCommand(root, './script', '/app', '')).toEqual({ found: true, path: '/app/script' });
    expect(await lookupCommand(root, '/app/script', '/', '')).toMatchObject({ found: true });
  });

  it('gives 127 for a missing command and 126 for one that cannot run', async () => {
    expect(await lookupCommand(root, 'nope', '/', '/bin')).toEqual({
      found: false,
      exitCode: 127,
      message: 'exec: "nope": executable file not found in $PATH',
    });
    expect(await lookupCommand(root, '/app/nope', '/', '/bin')).toMatchObject({ exitCode: 127 });
    expect(await lookupCommand(root, 'data', '/', '/app')).toMatchObject({ exitCode: 126 });
    expect(await lookupCommand(root, '/app', '/', '')).toMatchObject({ exitCode: 126 });
  });
});
