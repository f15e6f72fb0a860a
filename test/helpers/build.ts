import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { makeBusyboxRootfs } from './busybox.js';
import { tsbuild, type RunOptions, type RunResult } from './run.js';
import { makeTempDir } from './tmp.js';

/** The PATH docker and buildah give images that set none; the busybox base sets it explicitly. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A temporary work dir with a store holding `busybox:latest` (the test helpers' busybox rootfs, one layer). */
export interface BuildWorkspace {
  work: string;
  /** The store root (`--root`). */
  root: string;
  /** The rootfs the base image was imported from. */
  rootfs: string;
  /** The base image's ID. */
  baseId: string;
  cleanup: () => Promise<void>;
}

/**
 * Makes a work dir and a store with a busybox base image, `busybox:latest`: the rootfs of {@link makeBusyboxRootfs}
 * (users root, app 1000 and nobody), `CMD ["sh"]` and the usual PATH.
 */
export async function makeBuildWorkspace(prefix = 'tsbuild-build-'): Promise<BuildWorkspace> {
  const { dir: work, cleanup } = await makeTempDir(prefix);
  const rootfs = join(work, 'busybox-rootfs');
  await makeBusyboxRootfs(rootfs);
  const root = join(work, 'store');
  const imported = await tsbuild(root, ['import', rootfs, 'busybox:latest', '--change', 'CMD ["sh"]', '--change', `ENV ${DEFAULT_PATH}`]);
  if (imported.code !== 0) throw new Error(`tsbuild import failed: ${imported.stderr}`);
  return { work, root, rootfs, baseId: imported.stdout.trim(), cleanup };
}

/** A {@link BuildWorkspace} shared by a describe block, with fresh context and output dir names. */
export interface SharedBuildWorkspace extends BuildWorkspace {
  /** A new context dir path under the work dir (not created). */
  context(): string;
  /** A new output dir path under the work dir (not created). */
  out(): string;
}

/**
 * Registers `beforeAll`/`afterAll` hooks that make a {@link makeBuildWorkspace} for the calling describe block and
 * remove it afterwards; the returned object reads through to it once the hooks have run.
 */
export function useBuildWorkspace(): SharedBuildWorkspace {
  let ws: BuildWorkspace | undefined;
  let n = 0;
  const current = (): BuildWorkspace => {
    if (!ws) throw new Error('the build workspace is made in beforeAll');
    return ws;
  };
  beforeAll(async () => {
    ws = await makeBuildWorkspace();
  });
  afterAll(async () => ws?.cleanup());
  return {
    get work() {
      return current().work;
    },
    get root() {
      return current().root;
    },
    get rootfs() {
      return current().rootfs;
    },
    get baseId() {
      return current().baseId;
    },
    cleanup: () => current().cleanup(),
    context: () => join(current().work, `ctx-${++n}`),
    out: () => join(current().work, `out-${++n}`),
  };
}

/** A file of a test build context: text, or an entry with a mode, or a symlink. */
export type ContextEntry = string | Buffer | { content: string | Buffer; mode: number } | { symlink: string } | { dir: true; mode?: number };

/** Writes files (paths relative to `dir`, parents created) for a build context. */
export async function writeFiles(dir: string, files: Readonly<Record<string, ContextEntry>>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [path, entry] of Object.entries(files)) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    if (typeof entry === 'string' || Buffer.isBuffer(entry)) {
      await writeFile(full, entry);
    } else if ('symlink' in entry) {
      await symlink(entry.symlink, full);
    } else if ('dir' in entry) {
      await mkdir(full, { recursive: true });
      if (entry.mode !== undefined) await chmod(full, entry.mode);
    } else {
      await writeFile(full, entry.content);
      await chmod(full, entry.mode);
    }
  }
  return dir;
}

/** The JSON of `tsbuild inspect`. */
export interface Inspected {
  name: string;
  names: string[];
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  manifest: {
    mediaType?: string;
    config: { mediaType: string; digest: string; size: number };
    layers: Array<{ mediaType: string; digest: string; size: number }>;
  };
  config: ImageConfigJson;
}

/** The parts of an image config the tests read. */
export interface ImageConfigJson {
  architecture: string;
  os: string;
  author?: string;
  created?: string;
  config: Record<string, unknown> & {
    Env?: string[];
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    User?: string;
    WorkingDir?: string;
    Labels?: Record<string, string>;
  };
  rootfs: { type: string; diff_ids: string[] };
  history: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string }>;
}

/** Runs `tsbuild build` (plain progress), never throwing. */
export function build(root: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return tsbuild(root, ['build', '--progress', 'plain', ...args], options);
}

/** Runs a build that must succeed and returns the image ID it printed (the last line of standard output). */
export async function buildOk(root: string, args: readonly string[], options: RunOptions = {}): Promise<{ id: string; result: RunResult }> {
  const result = await build(root, args, options);
  if (result.code !== 0) throw new Error(`tsbuild build ${args.join(' ')} exited with ${result.code}\n${result.stderr}`);
  const id = result.stdout.trim().split('\n').at(-1) ?? '';
  expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
  return { id, result };
}

/**
 * Writes `dockerfile` as `<context>/Dockerfile` (with `files` beside it) and builds it, tagged `tag`; returns the
 * image ID and the build's output.
 */
export async function buildContext(
  ws: Pick<BuildWorkspace, 'root'>,
  context: string,
  tag: string,
  dockerfile: string,
  files: Readonly<Record<string, ContextEntry>> = {},
  extraArgs: readonly string[] = [],
): Promise<{ id: string; result: RunResult }> {
  await writeFiles(context, { ...files, Dockerfile: dockerfile });
  return buildOk(ws.root, ['-t', tag, ...extraArgs, context]);
}

/** `tsbuild inspect`, parsed. */
export async function inspect(root: string, image: string): Promise<Inspected> {
  const result = await tsbuild(root, ['inspect', image]);
  if (result.code !== 0) throw new Error(`tsbuild inspect ${image}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Inspected;
}

/** `tsbuild unpack IMAGE DIR` (DIR must not exist or be empty); returns DIR. */
export async function unpack(root: string, image: string, dir: string): Promise<string> {
  const result = await tsbuild(root, ['unpack', image, dir]);
  if (result.code !== 0) throw new Error(`tsbuild unpack ${image}: ${result.stderr}`);
  return dir;
}

/** Reads a text file of an unpacked tree. */
export function readText(dir: string, path: string): Promise<string> {
  return readFile(join(dir, path), 'utf8');
}

/** The `created_by` of each history entry, oldest first, with its empty_layer flag as ` (empty)`. */
export function historyLines(config: ImageConfigJson): string[] {
  return config.history.map((entry) => `${entry.created_by ?? ''}${entry.empty_layer ? ' (empty)' : ''}`);
}

/** Step lines of plain progress: `#N [stage i/n] TEXT` then its `#N CACHED` or `#N DONE`; returns TEXT → state. */
export function stepStates(progress: string): Array<{ text: string; state: 'CACHED' | 'DONE' | 'ERROR' | 'none' }> {
  const steps = new Map<string, { text: string; state: 'CACHED' | 'DONE' | 'ERROR' | 'none' }>();
  for (const line of progress.split('\n')) {
    const start = /^#(\d+) \[[^\]]+\] (.*)$/.exec(line);
    if (start) {
      steps.set(start[1]!, { text: start[2]!, state: 'none' });
      continue;
    }
    const end = /^#(\d+) (CACHED|DONE|ERROR)\b/.exec(line);
    const step = end ? steps.get(end[1]!) : undefined;
    if (step && end) step.state = end[2] as 'CACHED' | 'DONE' | 'ERROR';
  }
  return [...steps.values()];
}
