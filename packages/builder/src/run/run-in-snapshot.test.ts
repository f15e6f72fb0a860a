import { chmod, lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunError, UserLookupError } from './errors.js';
import { overlayFeatureOptions } from './host-tools.js';
import { Harness, killProcessesWith, processesWith, TextSink } from './__fixtures__/harness.js';
import { runInSnapshot } from './run-in-snapshot.js';

let harness: Harness;

beforeAll(async () => {
  harness = await Harness.create();
});

afterAll(async () => {
  await harness.cleanup();
});

/** A lower dir with the given files (relative path → content), to stack above the busybox root. */
async function layer(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(harness.base, 'layers', name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('runInSnapshot: the overlay', () => {
  it('shows the lower files and writes only to the upper dir', async () => {
    const top = await layer('top', { 'data/top.txt': 'top\n' });
    const { result, stdout, upperDir } = await harness.run(
      ['sh', '-c', 'cat /data/base.txt /data/top.txt; echo new > /data/new.txt; echo more >> /data/base.txt'],
      { extraLowers: [top] },
    );
    expect(result.exitCode).toBe(0);
    expect(stdout).toBe('base\ntop\n');
    expect(await readFile(join(upperDir, 'data/new.txt'), 'utf8')).toBe('new\n');
    expect(await readFile(join(upperDir, 'data/base.txt'), 'utf8')).toBe('base\nmore\n');
    expect(await readFile(join(harness.rootfs, 'data/base.txt'), 'utf8')).toBe('base\n');
    expect(await readdir(top, { recursive: true })).toEqual(['data', 'data/top.txt']);
    expect(await harness.leftovers()).toEqual([]);
  });

  it('records deletions as char 0/0 whiteouts in the upper dir', async () => {
    const { result, upperDir } = await harness.run(['sh', '-c', 'rm /data/base.txt && rm -r /data/dir']);
    expect(result.exitCode).toBe(0);
    for (const path of ['data/base.txt', 'data/dir']) {
      const stats = await lstat(join(upperDir, path));
      expect(stats.isCharacterDevice()).toBe(true);
      expect(stats.rdev).toBe(0);
    }
  });

  it('mounts 150 lower dirs, top first', async () => {
    const lowers: string[] = [];
    for (let index = 0; index < 150; index += 1) {
      lowers.push(await layer(`stack-${index}`, { [`layers/${index}`]: `${index}\n`, 'layers/top': `${index}\n` }));
    }
    const { result, stdout } = await harness.run(['sh', '-c', 'ls /layers | wc -l; cat /layers/top /layers/149'], {
      extraLowers: lowers,
    });
    expect(result.exitCode).toBe(0);
    expect(stdout.split('\n').map((line) => line.trim())).toEqual(['151', '0', '149', '']);
  });

  it('runs on an empty lower list (scratch)', async () => {
    const { upperDir, workDir } = await harness.freshDirs();
    await chmod(upperDir, 0o700);
    const stderr = new TextSink();
    const result = await runInSnapshot({
      lowerDirs: [],
      upperDir,
      workDir,
      command: ['/bin/true'],
      env: [],
      tempDir: harness.tempDir,
      stderr,
    });
    expect(result.exitCode).toBe(127);
    expect(stderr.text).toContain('exec: "/bin/true": no such file or directory');
    expect(result.createdMountPoints).toEqual(['dev', 'proc', 'sys', 'etc', 'etc/hosts', 'etc/resolv.conf', 'etc/hostname']);
    expect((await stat(upperDir)).mode & 0o777).toBe(0o755);
  });

  it('mounts the root with volatile and nodev, and reports the mount points it created', async () => {
    const { result, stdout, upperDir } = await harness.run(['cat', '/proc/self/mountinfo']);
    const root = stdout.split('\n').find((line) => line.split(' ')[4] === '/');
    expect(root).toMatch(/ overlay /);
    expect(root).toMatch(/nodev/);
    expect(root?.includes('volatile')).toBe(overlayFeatureOptions().includes('volatile'));
    expect(result.createdMountPoints).toEqual(['dev', 'proc', 'sys', 'etc/hosts', 'etc/resolv.conf', 'etc/hostname']);
    for (const path of result.createdMountPoints) await lstat(join(upperDir, path));
    // /etc was copied up only to hold the mount points: its times are put back
    const [copied, original] = await Promise.all([
      stat(join(upperDir, 'etc'), { bigint: true }),
      stat(join(harness.rootfs, 'etc'), { bigint: true }),
    ]);
    expect(copied.mtimeNs).toBe(original.mtimeNs);
  });
});

describe('runInSnapshot: the process', () => {
  it('runs as the given user with its groups and home', async () => {
    const run = async (user?: string): Promise<string[]> => {
      const script = 'id -u; id -g; grep ^Groups: /proc/self/status | cut -f2; echo $HOME';
      const { stdout } = await harness.run(['sh', '-c', script], user === undefined ? {} : { user });
      return stdout.split('\n').map((line) => line.trim());
    };
    expect(await run('app')).toEqual(['1000', '1000', '2000', '/home/app', '']);
    expect(await run('1234:extra')).toEqual(['1234', '2000', '', '/', '']);
    expect(await run('1000:0')).toEqual(['1000', '0', '', '/home/app', '']);
    expect(await run()).toEqual(['0', '0', '', '/root', '']);
  });

  it('rejects an unknown user like docker, leaving nothing behind', async () => {
    await expect(harness.run(['true'], { user: 'ghost' })).rejects.toThrow(
      new UserLookupError('unable to find user ghost: no matching entries in passwd file'),
    );
    await expect(harness.run(['true'], { user: 'app:nogroup2' })).rejects.toThrow(/unable to find group nogroup2/);
    expect(await harness.leftovers()).toEqual([]);
  });

  it('starts in the working directory, creating it when missing', async () => {
    const { stdout, upperDir } = await harness.run(['pwd'], { cwd: '/work/sub' });
    expect(stdout).toBe('/work/sub\n');
    expect((await stat(join(upperDir, 'work/sub'))).isDirectory()).toBe(true);
    const existing = await harness.run(['pwd'], { cwd: '/home/app', user: 'app' });
    expect(existing.stdout).toBe('/home/app\n');
  });

  it('passes exactly the given environment, plus PATH and HOME defaults', async () => {
    const { stdout } = await harness.run(['env'], { env: ['FOO=bar baz', 'EMPTY=', 'LD_PRELOAD=/nonexistent.so'] });
    expect(stdout.split('\n').filter((line) => line !== '').sort()).toEqual([
      'EMPTY=',
      'FOO=bar baz',
      'HOME=/root',
      'LD_PRELOAD=/nonexistent.so',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    const custom = await harness.run(['sh', '-c', 'echo $PATH $HOME'], { env: ['PATH=/bin', 'HOME=/x'] });
    expect(custom.stdout).toBe('/bin /x\n');
    await expect(harness.run(['true'], { env: ['NOVALUE'] })).rejects.toThrow(RunError);
  });

  it('returns a non-zero exit code instead of throwing', async () => {
    const { result, stderr } = await harness.run(['sh', '-c', 'echo oops >&2; exit 3']);
    expect(result.exitCode).toBe(3);
    expect(stderr).toBe('oops\n');
  });

  it('gives 127 and a clear message for a missing command', async () => {
    const direct = await harness.run(['no-such-command', 'arg']);
    expect(direct.result.exitCode).toBe(127);
    expect(direct.stderr).toBe('exec: "no-such-command": executable file not found in $PATH\n');
    const shell = await harness.run(['sh', '-c', 'no-such-command']);
    expect(shell.result.exitCode).toBe(127);
    expect(shell.stderr).toMatch(/no-such-command: not found/);
  });

  it('has its own PID namespace with an init as PID 1', async () => {
    const { stdout } = await harness.run(['sh', '-c', 'echo $$; cat /proc/1/cmdline | tr "\\0" " "; echo; ls /proc']);
    const [pid = '', init = '', ...entries] = stdout.split('\n');
    expect(Number(pid)).toBeLessThan(10);
    expect(init).toMatch(/^\/dev\/\.tsbuild\/init /);
    expect(entries.filter((entry) => /^[0-9]+$/.test(entry)).length).toBeLessThan(6);
  });

  it('ends when the command ends, despite a background child', async () => {
    const started = Date.now();
    const marker = 'tsbuild-background-marker';
    try {
      const { result, stdout } = await harness.run(['sh', '-c', `(sleep 1000; echo ${marker}) & echo started`]);
      expect(result.exitCode).toBe(0);
      expect(stdout).toBe('started\n');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await processesWith(marker)).toEqual([]);
    } finally {
      await killProcessesWith(marker);
    }
  });

  it('reaps orphaned zombies', async () => {
    const { stdout } = await harness.run([
      'sh',
      '-c',
      '(sleep 0.05 &); sleep 0.5; for f in /proc/[0-9]*/stat; do cat $f; echo; done',
    ]);
    const states = stdout.split('\n').filter((line) => line !== '').map((line) => line.slice(line.lastIndexOf(')') + 2, line.lastIndexOf(')') + 3));
    expect(states.length).toBeGreaterThan(1);
    expect(states).not.toContain('Z');
  });

  it('has a private hostname and /etc copies that the host never sees', async () => {
    const hostHosts = await readFile('/etc/hosts', 'utf8');
    const { stdout, upperDir, result } = await harness.run(
      ['sh', '-c', 'hostname; cat /etc/hostname; echo "6.6.6.6 evil" >> /etc/hosts; grep -c evil /etc/hosts'],
      { hostname: 'builder-1' },
    );
    expect(stdout).toBe('builder-1\nbuilder-1\n1\n');
    expect(hostHostname()).not.toBe('builder-1');
    expect(await readFile('/etc/hosts', 'utf8')).toBe(hostHosts);
    expect(result.createdMountPoints).toContain('etc/hosts');
    expect(await readFile(join(upperDir, 'etc/hosts'), 'utf8')).toBe('');
  });

  it('gives network none only lo, up, and host network the host interfaces', async () => {
    const none = await harness.run(['sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/flags'], { network: 'none' });
    const [interfaces, flags = ''] = none.stdout.trim().split('\n');
    expect(interfaces).toBe('lo');
    expect(Number(flags) & 1).toBe(1); // IFF_UP
    const host = await harness.run(['ls', '/sys/class/net']);
    expect(host.stdout.trim().split('\n').sort()).toEqual((await readdir('/sys/class/net')).sort());
  });

  it('gives root no power over mounts, /proc/sys or device nodes', async () => {
    const { stdout } = await harness.run([
      'sh',
      '-c',
      [
        'mount -t tmpfs none /mnt 2>/dev/null && echo mounted',
        'umount /etc/hosts 2>/dev/null && echo unmounted',
        'echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && echo sysctl',
        'touch /sys/x 2>/dev/null && echo sys',
        'mknod /tmp/mem c 1 1 && head -c1 /tmp/mem 2>/dev/null && echo device',
        'echo done',
      ].join('; '),
    ]);
    expect(stdout).toBe('done\n');
  });

  it("leaves none of the host's file systems in the sandbox's mount namespace", async () => {
    const controller = new AbortController();
    const marker = 'tsbuild-namespace-marker';
    let mountinfo = '';
    const run = harness.run(['sh', '-c', `echo started; sleep 1000; echo ${marker}`], {
      signal: controller.signal,
      onStdout: (text) => {
        if (!text.includes('started') || mountinfo !== '') return;
        // the whole namespace as its root sees it (as a process that escaped the chroot would): the mountinfo of
        // `unshare`, the parent of the sandbox's PID 1, which lives in the namespace without a chroot
        void processesWith(marker)
          .then(async (found) => {
            const init = found.find((line) => line.includes(': /dev/.tsbuild/init ')) ?? '';
            const status = await readFile(`/proc/${init.slice(0, init.indexOf(':'))}/status`, 'utf8');
            mountinfo = await readFile(`/proc/${/^PPid:\s*(\d+)$/m.exec(status)?.[1] ?? ''}/mountinfo`, 'utf8');
          })
          .finally(() => controller.abort());
      },
    });
    try {
      await expect(run).rejects.toThrow(/abort/i);
    } finally {
      await killProcessesWith(marker);
    }
    const mounts = mountinfo.split('\n').filter((line) => line !== '').map((line) => {
      const fields = line.split(' ');
      return { mountPoint: fields[4] ?? '', type: fields[fields.indexOf('-') + 1] ?? '' };
    });
    expect(mounts.find((mount) => mount.mountPoint === '/')?.type).toBe('tmpfs');
    const outsideRoot = mounts.filter((mount) => mount.mountPoint !== '/' && !mount.mountPoint.startsWith('/m'));
    expect(outsideRoot.map((mount) => mount.mountPoint).sort()).toEqual(
      expect.arrayContaining(['/.dev', '/proc', '/usr']),
    );
    for (const mount of outsideRoot) expect(mount.mountPoint).toMatch(/^\/(\.dev|proc|usr|bin|sbin|lib|lib32|lib64|libx32)(\/|$)/);
  });

  it('refuses a /dev that the image makes a symlink, touching nothing outside', async () => {
    const outside = join(harness.base, 'outside-target');
    const evil = join(harness.base, 'layers', 'evil');
    await mkdir(evil, { recursive: true });
    await symlink(outside, join(evil, 'dev'));
    await expect(harness.run(['true'], { extraLowers: [evil] })).rejects.toThrow(/cannot mount \/dev .*symlink/);
    await expect(stat(outside)).rejects.toThrow(/ENOENT/);
    expect(await harness.leftovers()).toEqual([]);
  });

  it('follows an image symlink for /etc/resolv.conf inside the image only', async () => {
    const outside = join(harness.base, 'host-run');
    const linked = join(harness.base, 'layers', 'linked');
    await mkdir(join(linked, 'etc'), { recursive: true });
    await symlink(`${outside}/resolv.conf`, join(linked, 'etc/resolv.conf'));
    const { result, upperDir } = await harness.run(['cat', '/etc/resolv.conf'], { extraLowers: [linked] });
    expect(result.exitCode).toBe(0);
    const inImage = outside.slice(1);
    expect(result.createdMountPoints).toEqual(expect.arrayContaining([`${inImage}/resolv.conf`]));
    expect((await lstat(join(upperDir, inImage, 'resolv.conf'))).isFile()).toBe(true);
    await expect(stat(outside)).rejects.toThrow(/ENOENT/);
  });

  it('fails with the mount error when the overlay cannot be mounted', async () => {
    const { upperDir } = await harness.freshDirs();
    const workDir = join(upperDir, 'work-inside-upper');
    await mkdir(workDir);
    const run = runInSnapshot({ lowerDirs: [harness.rootfs], upperDir, workDir, command: ['true'], env: [], tempDir: harness.tempDir });
    await expect(run).rejects.toThrow(/^could not set up the RUN sandbox: could not mount the overlay root file system .*: mount: /);
    expect(await harness.leftovers()).toEqual([]);
  });

  it('fails with the mount error when the image makes a bind impossible, leaving nothing behind', async () => {
    const odd = join(harness.base, 'layers', 'hosts-in-proc');
    await mkdir(join(odd, 'etc'), { recursive: true });
    await symlink('/proc/not-there', join(odd, 'etc/hosts'));
    const run = harness.run(['true'], { extraLowers: [odd] });
    await expect(run).rejects.toThrow(RunError);
    await expect(run).rejects.toThrow(
      /^could not set up the RUN sandbox: could not mount \/dev, \/proc, \/sys or \/etc files: mount: .*\/proc\/not-there: mount point does not exist/,
    );
    expect(await harness.leftovers()).toEqual([]);
  });

  it('works from a scratch dir whose path needs escaping', async () => {
    const odd = join(harness.base, 'odd dir\\with#chars');
    await mkdir(odd);
    const { result, stdout } = await harness.run(['echo', 'ok'], { tempDir: odd });
    expect(result.exitCode).toBe(0);
    expect(stdout).toBe('ok\n');
    expect(await readdir(odd)).toEqual([]);
    await rm(odd, { recursive: true });
  });

  it('on abort kills every process, unmounts and removes its temporaries', async () => {
    const controller = new AbortController();
    const marker = 'tsbuild-abort-marker';
    const run = harness.run(['sh', '-c', `echo started; sleep 1000; echo ${marker}`], {
      signal: controller.signal,
      onStdout: (text) => {
        if (text.includes('started')) controller.abort(new Error('stopped by test'));
      },
    });
    try {
      await expect(run).rejects.toThrow('stopped by test');
      expect(await processesWith(marker)).toEqual([]);
    } finally {
      await killProcessesWith(marker);
    }
    expect(await harness.leftovers()).toEqual([]);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(harness.base);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(harness.run(['true'], { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
    expect(await harness.leftovers()).toEqual([]);
  });
});
