import { lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';

import type { FstabEntry } from './fstab.js';
import { type HostTools, libraryFileName } from './host-tools.js';
import { BOUND_ETC_FILES, type MountTargets } from './mount-targets.js';
import { isErrno } from './resolve-in-root.js';
import { TOOLS_DIR } from './sandbox-script.js';

/** Host device nodes bound into the sandbox's `/dev`. */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Kernel files hidden from the sandbox (Docker's masked paths). */
const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

/** Kernel files the sandbox may read but never write (Docker's read-only paths): `/proc/sys`, sysrq, … */
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Top-level host dirs that hold the host's programs, loader and libraries (links on a merged-/usr system). */
const HOST_PROGRAM_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** The run dir's layout (see `createRunDir`). */
export const RUN_DIR = {
  /** Upper dir link. */
  upper: 'u',
  /** Work dir link. */
  work: 'w',
  /**
   * Mount point of the stage: a small tmpfs that becomes the mount namespace's root (`pivot_root`), holding the
   * merged root, the `/dev` tmpfs, and read-only binds of the host's program dirs for the last set-up steps.
   */
  stage: 's',
  /** The merged root, in the stage. */
  merged: 's/m',
  /** The sandbox's `/dev` tmpfs, in the stage, filled from the host before it is bound onto the merged `/dev`. */
  dev: 's/.dev',
  /** The only lower dir of a `scratch` image. */
  empty: 'e',
  /** The copies of the host's `/etc/hosts`, `/etc/resolv.conf` and the hostname. */
  etc: 'etc',
} as const;

/**
 * Phase one: the stage, the overlay and the `/dev` tmpfs. Lower dirs are links named `0`, `1`, … in the run dir
 * (the working directory of `mount`), so the option string stays far below the one page the kernel accepts even
 * with the 500 lower dirs overlayfs allows.
 */
export function overlayFstab(runDir: string, lowerCount: number, features: readonly string[]): FstabEntry[] {
  const lowers = lowerCount === 0 ? [RUN_DIR.empty] : Array.from({ length: lowerCount }, (_, index) => String(index));
  return [
    { source: 'tmpfs', target: `${runDir}/${RUN_DIR.stage}`, type: 'tmpfs', options: 'nosuid,nodev,mode=755,size=1m' },
    {
      source: 'tsbuild',
      target: `${runDir}/${RUN_DIR.merged}`,
      type: 'overlay',
      // nodev: a device node in an image layer (or one a RUN makes) cannot be opened; there is no device cgroup.
      options: [
        `lowerdir=${lowers.join(':')}`, `upperdir=${RUN_DIR.upper}`, `workdir=${RUN_DIR.work}`, 'nodev', ...features,
        'X-mount.mkdir',
      ].join(','),
    },
    {
      source: 'tmpfs',
      target: `${runDir}/${RUN_DIR.dev}`,
      type: 'tmpfs',
      options: 'nosuid,nodev,strictatime,mode=755,size=65536k,X-mount.mkdir',
    },
  ];
}

/**
 * Fills the sandbox's `/dev` tmpfs (reached from the host through `/proc/PID/root`) with the mount points and links
 * phase two needs: device nodes are bound from the host, the tools under {@link TOOLS_DIR}.
 */
export async function populateDev(devDir: string, tools: HostTools): Promise<void> {
  const toolsDir = `${devDir}${TOOLS_DIR.slice('/dev'.length)}`;
  await Promise.all(['pts', 'shm', 'mqueue'].map((name) => mkdir(`${devDir}/${name}`, { mode: 0o755 })));
  await mkdir(`${toolsDir}/lib`, { recursive: true, mode: 0o755 });
  const targets = [
    ...DEVICES.map((name) => `${devDir}/${name}`),
    `${toolsDir}/init`, `${toolsDir}/ld.so`, `${toolsDir}/env`,
    ...tools.libraries.map((library) => `${toolsDir}/lib/${libraryFileName(library)}`),
  ];
  const links: [string, string][] = [
    ['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'], ['/proc/self/fd/1', 'stdout'],
    ['/proc/self/fd/2', 'stderr'], ['pts/ptmx', 'ptmx'],
  ];
  await Promise.all([
    ...targets.map((path) => writeFile(path, '', { mode: 0o644 })),
    ...links.map(([target, name]) => symlink(target, `${devDir}/${name}`)),
  ]);
}

/** Recreates in the stage the host's merged-/usr links (`bin -> usr/bin`, …); real dirs are bound in phase two. */
export async function populateStage(stageDir: string, host: HostLayout): Promise<void> {
  await Promise.all(host.programLinks.map(({ name, target }) => symlink(target, `${stageDir}/${name}`)));
}

/**
 * Phase two, in order: the `/dev` tmpfs onto the root with host devices, a private `devpts`, `shm` and `mqueue`,
 * the read-only tools; `/proc` with Docker's masked and read-only paths; a read-only `/sys`; the `/etc` copies.
 * Then the stage's own needs: the host's program dirs read-only and a `/proc` (the sandbox's, masked), for the
 * set-up steps that run after `pivot_root` has taken the host's file systems away.
 */
export function sandboxFstab(runDir: string, tools: HostTools, targets: MountTargets, host: HostLayout): FstabEntry[] {
  const stage = `${runDir}/${RUN_DIR.stage}`;
  const root = `${runDir}/${RUN_DIR.merged}`;
  const dev = `${root}/dev`;
  const bind = (source: string, target: string, options = 'bind'): FstabEntry => ({ source, target, type: 'none', options });
  const readOnly = 'bind,ro';
  return [
    bind(`${runDir}/${RUN_DIR.dev}`, dev),
    ...DEVICES.map((name) => bind(`/dev/${name}`, `${dev}/${name}`)),
    {
      source: 'devpts',
      target: `${dev}/pts`,
      type: 'devpts',
      options: 'newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec',
    },
    { source: 'shm', target: `${dev}/shm`, type: 'tmpfs', options: 'nosuid,nodev,noexec,mode=1777,size=65536k' },
    ...(host.mqueue ? [{ source: 'mqueue', target: `${dev}/mqueue`, type: 'mqueue', options: 'nosuid,nodev,noexec' }] : []),
    bind(tools.init, `${root}${TOOLS_DIR}/init`, readOnly),
    bind(tools.loader, `${root}${TOOLS_DIR}/ld.so`, readOnly),
    bind(tools.env, `${root}${TOOLS_DIR}/env`, readOnly),
    ...tools.libraries.map((library) => bind(library.path, `${root}${TOOLS_DIR}/lib/${libraryFileName(library)}`, readOnly)),
    { source: 'proc', target: `${root}/proc`, type: 'proc', options: 'nosuid,nodev,noexec' },
    { source: 'sysfs', target: `${root}/sys`, type: 'sysfs', options: 'ro,nosuid,nodev,noexec' },
    ...host.maskedDirs.map((path) => ({
      source: 'tmpfs',
      target: `${root}${path}`,
      type: 'tmpfs',
      options: 'ro,nosuid,nodev,noexec,size=4k',
    })),
    ...host.maskedFiles.map((path) => bind('/dev/null', `${root}${path}`)),
    ...host.readOnly.map((path) => bind(`${root}${path}`, `${root}${path}`, readOnly)),
    ...BOUND_ETC_FILES.map((name) => bind(`${runDir}/${RUN_DIR.etc}/${name}`, `${root}/${targets.files[name]}`)),
    ...host.programDirs.map((name) => bind(`/${name}`, `${stage}/${name}`, 'bind,ro,nosuid,nodev,X-mount.mkdir')),
    bind(`${root}/proc`, `${stage}/proc`, 'rbind,X-mount.mkdir'),
  ];
}

/** What the sandbox needs to know about the host's file system layout. */
export interface HostLayout {
  /** Docker's masked kernel dirs that this kernel has. */
  readonly maskedDirs: readonly string[];
  /** Docker's masked kernel files that this kernel has. */
  readonly maskedFiles: readonly string[];
  /** Docker's read-only kernel paths that this kernel has. */
  readonly readOnly: readonly string[];
  /** Whether the kernel has POSIX message queues (`/dev/mqueue`). */
  readonly mqueue: boolean;
  /** Top-level program dirs that are real dirs (bound into the stage). */
  readonly programDirs: readonly string[];
  /** Top-level program dirs that are links (recreated in the stage). */
  readonly programLinks: readonly { readonly name: string; readonly target: string }[];
}

let hostLayout: Promise<HostLayout> | undefined;

/** Looks up (once) the host's layout; the sandbox's `/proc` and `/sys` have the host kernel's files. */
export function findHostLayout(): Promise<HostLayout> {
  hostLayout ??= (async () => {
    const kinds = new Map<string, 'dir' | 'file' | 'link'>();
    await Promise.all(
      [...MASKED_PATHS, ...READONLY_PATHS, ...HOST_PROGRAM_DIRS.map((name) => `/${name}`)].map(async (path) => {
        try {
          const stats = await lstat(path);
          kinds.set(path, stats.isSymbolicLink() ? 'link' : stats.isDirectory() ? 'dir' : 'file');
        } catch (error) {
          if (!isErrno(error, 'ENOENT')) throw error;
        }
      }),
    );
    const having = (paths: readonly string[], kind?: 'dir' | 'file' | 'link'): string[] =>
      paths.filter((path) => kinds.has(path) && (kind === undefined || kinds.get(path) === kind));
    const programLinks = await Promise.all(
      having(HOST_PROGRAM_DIRS.map((name) => `/${name}`), 'link').map(async (path) => ({
        name: path.slice(1),
        target: await readlink(path),
      })),
    );
    const filesystems = await readFile('/proc/filesystems', 'utf8');
    return {
      mqueue: /\smqueue$/m.test(filesystems),
      maskedDirs: having(MASKED_PATHS, 'dir'),
      maskedFiles: having(MASKED_PATHS, 'file'),
      readOnly: having(READONLY_PATHS),
      programDirs: having(HOST_PROGRAM_DIRS.map((name) => `/${name}`), 'dir').map((path) => path.slice(1)),
      programLinks,
    };
  })();
  return hostLayout;
}
