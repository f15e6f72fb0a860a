import { mkdir, symlink, writeFile, copyFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './run.js';

/** Where Debian's busybox-static puts the static binary. */
export const BUSYBOX = '/bin/busybox';

/**
 * Makes a minimal busybox root filesystem: the static binary, a symlink per applet, `/etc/passwd` and
 * `/etc/group` with root, a user `app` (1000) and nobody, and a world-writable `/tmp`.
 */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  for (const sub of ['bin', 'etc', 'tmp', 'root', 'home/app']) await mkdir(join(dir, sub), { recursive: true });
  await copyFile(BUSYBOX, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  const { stdout } = await runOk(BUSYBOX, ['--list']);
  for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) {
    await symlink('busybox', join(dir, 'bin', applet));
  }
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n');
  await chmod(join(dir, 'tmp'), 0o1777);
}

/** Paths of a busybox image in the formats the tests need. */
export interface BusyboxImage {
  /** An OCI layout with the image tagged `busybox`. */
  layout: string;
  /** `skopeo copy` of it to a docker-archive, tagged `busybox:latest`. */
  dockerArchive: string;
  /** `skopeo copy` of it to an oci-archive, tagged `busybox:latest`. */
  ociArchive: string;
  /** The rootfs it was made from. */
  rootfs: string;
}

/**
 * Makes a one-layer busybox image with umoci (from Debian's busybox-static, no network), and archives of it
 * written by skopeo.
 */
export async function makeBusyboxImage(dir: string): Promise<BusyboxImage> {
  const layout = join(dir, 'layout');
  const bundle = join(dir, 'bundle');
  await runOk('umoci', ['init', '--layout', layout]);
  await runOk('umoci', ['new', '--image', `${layout}:busybox`]);
  await runOk('umoci', ['unpack', '--image', `${layout}:busybox`, bundle]);
  const rootfs = join(bundle, 'rootfs');
  await makeBusyboxRootfs(rootfs);
  await runOk('umoci', ['repack', '--image', `${layout}:busybox`, bundle]);
  await runOk('umoci', ['config', '--image', `${layout}:busybox`, '--config.cmd', 'sh', '--config.env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  const dockerArchive = join(dir, 'busybox.docker.tar');
  const ociArchive = join(dir, 'busybox.oci.tar');
  await runOk('skopeo', ['copy', '-q', `oci:${layout}:busybox`, `docker-archive:${dockerArchive}:busybox:latest`]);
  await runOk('skopeo', ['copy', '-q', `oci:${layout}:busybox`, `oci-archive:${ociArchive}:busybox:latest`]);
  return { layout, dockerArchive, ociArchive, rootfs };
}
