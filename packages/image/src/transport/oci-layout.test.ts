import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxImage, type BusyboxImage } from '../../../../test/helpers/busybox.js';
import { makeTempDir } from '../../../../test/helpers/tmp.js';
import { copyImage } from '../copy.js';
import { ImageStore } from '../store/store.js';
import { OciLayoutDestination, OciLayoutSource } from './oci-layout.js';
import { StoreDestination, StoreSource } from './store.js';
import type { BlobProgress } from './types.js';

describe('OCI layout directories', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let busybox: BusyboxImage;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir());
    busybox = await makeBusyboxImage(join(work, 'busybox'));
  });
  afterAll(async () => cleanup());

  it('copies an umoci-made layout into the store with the same manifest, reporting progress per blob', async () => {
    const store = await ImageStore.open(join(work, 'store'));
    const source = new OciLayoutSource(busybox.layout);
    const [image] = await source.listImages();
    expect(image!.names).toEqual(['busybox:latest']);
    const destination = await StoreDestination.open(store);
    const events: BlobProgress[] = [];
    const copied = await copyImage(source, image!, destination, { onProgress: (p) => events.push(p) });
    await destination.commit();
    expect(copied.blobsCopied).toBe(2);
    expect(events.filter((e) => e.state === 'done')).toHaveLength(1);
    expect((await store.findImage('busybox')).manifest.digest).toBe(image!.manifest.digest);

    // A second copy finds every blob already there.
    const again = await StoreDestination.open(store);
    const second = await copyImage(source, image!, again, { onProgress: (p) => events.push(p) });
    await again.commit();
    expect(second).toMatchObject({ blobsCopied: 0, blobsSkipped: 2 });
    expect(events.at(-1)!.state).toBe('exists');
  });

  it('writes a layout that skopeo and umoci read, keeping other names', async () => {
    const store = await ImageStore.open(join(work, 'store2'));
    {
      const source = new OciLayoutSource(busybox.layout);
      const destination = await StoreDestination.open(store);
      await copyImage(source, (await source.listImages())[0]!, destination, { names: ['app:1'] });
      await destination.commit();
    }
    const out = join(work, 'out-layout');
    for (const name of ['one:1', 'two:2']) {
      const source = new StoreSource(store, ['app:1']);
      const destination = new OciLayoutDestination(out);
      await copyImage(source, (await source.listImages())[0]!, destination, { names: [name] });
      await destination.commit();
    }
    const tags = execFileSync('umoci', ['ls', '--layout', out]).toString().split('\n').filter(Boolean).sort();
    expect(tags).toEqual(['one:1', 'two:2']);
    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci:${out}:two:2`]);
    const { createHash } = await import('node:crypto');
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe((await store.findImage('app:1')).manifest.digest);
  });
});
