import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxImage, type BusyboxImage } from './helpers/busybox.js';
import { run, runOk } from './helpers/run.js';
import { makeTempDir } from './helpers/tmp.js';

const EXAMPLE = fileURLToPath(new URL('../examples/library-usage.mjs', import.meta.url));

describe('the README library example', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let busybox: BusyboxImage;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir());
    busybox = await makeBusyboxImage(join(work, 'busybox'));
  });
  afterAll(async () => cleanup());

  it('loads, lists and saves an image through the library', async () => {
    const out = join(work, 'out.tar');
    const result = await run(process.execPath, [EXAMPLE, busybox.dockerArchive, join(work, 'store'), out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^busybox:latest {2}sha256:[a-f0-9]{64} {2}\d+ bytes\nsaved /);
    await runOk('skopeo', ['inspect', `oci-archive:${out}`]);
  });
});
