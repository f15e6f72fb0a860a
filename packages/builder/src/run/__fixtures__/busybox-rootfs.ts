import { execFileSync } from 'node:child_process';
import { chown, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Debian's busybox-static. */
export const BUSYBOX = '/bin/busybox';

/**
 * Builds a small image root file system from Debian's static busybox: every applet as an absolute symlink to
 * `/bin/busybox` (so resolving them needs the chroot's root), a root user, an `app` user (1000:1000, member of
 * `extra` 2000) and a `/data` tree for tests to change.
 */
export async function makeBusyboxRootfs(root: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile(BUSYBOX, join(root, 'bin/busybox'));
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter((line) => line !== '');
  const dirs = new Set(applets.map((applet) => join(root, dirname(applet))));
  await Promise.all([...dirs].map((dir) => mkdir(dir, { recursive: true })));
  await Promise.all(
    applets.filter((applet) => applet !== 'bin/busybox').map((applet) => symlink('/bin/busybox', join(root, applet))),
  );
  await mkdir(join(root, 'etc'));
  await writeFile(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\n# a comment\napp:x:1000:1000:App:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app,other\nnogroup:x:65534:\n');
  await mkdir(join(root, 'root'), { mode: 0o700 });
  await mkdir(join(root, 'home/app'), { recursive: true });
  await chown(join(root, 'home/app'), 1000, 1000);
  await mkdir(join(root, 'tmp'), { mode: 0o1777 });
  await mkdir(join(root, 'data/dir'), { recursive: true });
  await writeFile(join(root, 'data/base.txt'), 'base\n');
  await writeFile(join(root, 'data/dir/inner.txt'), 'inner\n');
}
