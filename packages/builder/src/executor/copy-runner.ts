import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsbuildError, sha256Digest } from '@tsbuild/oci';
// Only what a cached step needs is imported here; the copy engine and the image view (which pull in the layer
// engine) are loaded when a step really copies (`engine()`, `imageFs()`).
import { openBuildContext, type BuildContext } from '../context/build-context.js';
import { checksumSources } from '../context/checksum.js';
import type { ImageFs } from '../context/image-fs.js';
import type { RemoteSource, SelectedSource } from '../context/source.js';
import type { CopySource } from '../copy/index.js';
import { fetchRemoteSource, isRemoteUrl } from '../copy/remote.js';
import { resolveStageSource, type AddInstruction, type CopyInstruction } from '../dockerfile/index.js';
import { resolveUser } from '../run/user.js';
import { BuildError } from './errors.js';
import type { CopyStepRunner, StageExecutor } from './stage.js';

/** Where the copy runner reads from and keeps its records. */
export interface CopyRunnerOptions {
  /** The build context directory. */
  readonly contextDir: string;
  /** The Dockerfile path (for `<Dockerfile>.dockerignore`). */
  readonly dockerfile?: string;
  /** Persistent hash records of context files (`<store>/cache/checksums`). */
  readonly cacheDir: string;
  /** Staging space for downloads and heredoc files (`<store>/tmp`). */
  readonly tmpDir: string;
}

type CopyLike = CopyInstruction | AddInstruction;

/** Wraps a context/copy error with the instruction's `Dockerfile:LINE`. */
function located(instruction: CopyLike | undefined, err: unknown): never {
  if (err instanceof BuildError) throw err;
  if (err instanceof TsbuildError) throw new BuildError(instruction, err.message, { cause: err });
  throw err;
}

/** `--chmod=755` as a number. */
function parseChmod(instruction: CopyLike): number | undefined {
  if (instruction.chmod === undefined) return undefined;
  if (!/^[0-7]{1,4}$/.test(instruction.chmod)) throw new BuildError(instruction, `invalid --chmod "${instruction.chmod}": expected an octal mode such as 755`);
  return Number.parseInt(instruction.chmod, 8);
}

/** The copy engine, loaded on first use. */
const engine = (): Promise<typeof import('../copy/index.js')> => import('../copy/index.js');

/** A merged view of lower dirs (loaded on first use). */
async function imageFs(...args: ConstructorParameters<typeof ImageFs>): Promise<ImageFs> {
  const { ImageFs: View } = await import('../context/image-fs.js');
  return new View(...args);
}

/**
 * The COPY/ADD engine as the executor uses it: sources from the build context (filtered by `.dockerignore`), from
 * another stage or image (`COPY --from`), from URLs (ADD) or heredocs; a checksum of them for the cache key; and
 * the copy into a fresh upper dir over the stage's filesystem.
 */
export class CopyRunner implements CopyStepRunner {
  private readonly options: CopyRunnerOptions;
  private context: Promise<BuildContext> | undefined;
  /** Downloads made while computing a checksum, reused by the copy that follows. */
  private readonly downloads = new Map<string, RemoteSource>();
  private readonly scratchDirs: string[] = [];

  constructor(options: CopyRunnerOptions) {
    this.options = options;
  }

  private buildContext(): Promise<BuildContext> {
    return (this.context ??= openBuildContext(this.options.contextDir, this.options.dockerfile !== undefined ? { dockerfile: this.options.dockerfile } : {}));
  }

  /** A numeric `--chown` is part of the checksum; a named one is resolved later (the parent key fixes /etc/passwd). */
  private static numericChown(spec: string | undefined): { uid: number; gid: number } | undefined {
    const match = spec === undefined ? null : /^(\d+)(?::(\d+))?$/.exec(spec);
    if (!match) return undefined;
    const uid = Number(match[1]);
    return { uid, gid: match[2] !== undefined ? Number(match[2]) : uid };
  }

  /** Writes the instruction's heredoc files into a scratch dir and returns them as sources. */
  private async heredocSources(instruction: CopyLike): Promise<SelectedSource[]> {
    if (instruction.heredocs.length === 0) return [];
    const dir = await mkdtemp(join(this.options.tmpDir, 'heredoc-'));
    this.scratchDirs.push(dir);
    // the executor expanded the bodies (expandInstruction) already
    for (const heredoc of instruction.heredocs) await writeFile(join(dir, heredoc.name), heredoc.content, { mode: 0o644 });
    const context = await openBuildContext(dir);
    return context.select(instruction.heredocs.map((heredoc) => heredoc.name), { instruction: instruction.keyword });
  }

  /** The sources of an instruction, with a key part for each kind. */
  private async sources(stage: StageExecutor, instruction: CopyLike): Promise<{ local: SelectedSource[]; urls: string[]; fromKey?: string }> {
    const urls = instruction.keyword === 'ADD' ? instruction.sources.filter((source) => isRemoteUrl(source)) : [];
    const patterns = instruction.sources.filter((source) => !urls.includes(source));
    if (instruction.keyword === 'COPY' && instruction.from !== undefined) {
      const source = resolveStageSource(stage.dockerfile, instruction.from, stage.planned.index, instruction);
      const result = await stage.resolveSource(source, instruction);
      const lowerDirs = await stage.lowerDirsOf(result);
      const view = await imageFs(lowerDirs, { name: source.kind === 'stage' ? `stage ${instruction.from}` : instruction.from, instruction: 'COPY' });
      return { local: view.select(patterns), urls: [], fromKey: result.cacheKey };
    }
    const context = await this.buildContext();
    const local = patterns.length > 0 ? context.select(patterns, { instruction: instruction.keyword }) : [];
    return { local: [...local, ...(await this.heredocSources(instruction))], urls };
  }

  async checksum(stage: StageExecutor, instruction: CopyLike): Promise<string> {
    try {
      if (instruction.keyword === 'COPY' && instruction.from !== undefined) {
        // A stage's cache key names its content: no need to extract and hash it again.
        const source = resolveStageSource(stage.dockerfile, instruction.from, stage.planned.index, instruction);
        const result = await stage.resolveSource(source, instruction);
        return sha256Digest(`from ${result.cacheKey}`);
      }
      const { local, urls } = await this.sources(stage, instruction);
      const chown = CopyRunner.numericChown(instruction.chown);
      const parts: string[] = [];
      if (local.length > 0) {
        const { digest } = await checksumSources(local, { cacheDir: this.options.cacheDir, ...(chown ? { chown } : {}), ...(stage.signal ? { signal: stage.signal } : {}) });
        parts.push(digest);
      }
      for (const url of urls) {
        const download = await this.download(instruction, url, stage.signal);
        parts.push(`${url} ${download.digest}`);
      }
      return sha256Digest(parts.join('\n'));
    } catch (err) {
      located(instruction, err);
    }
  }

  private async download(instruction: CopyLike, url: string, signal: AbortSignal | undefined): Promise<RemoteSource & { digest: string }> {
    let download = this.downloads.get(url);
    if (!download) {
      const dir = await mkdtemp(join(this.options.tmpDir, 'download-'));
      this.scratchDirs.push(dir);
      const checksum = instruction.keyword === 'ADD' ? instruction.checksum : undefined;
      download = await fetchRemoteSource(url, { dir, ...(checksum !== undefined ? { checksum } : {}), ...(signal ? { signal } : {}) });
      this.downloads.set(url, download);
    }
    return download as RemoteSource & { digest: string };
  }

  async copy(stage: StageExecutor, instruction: CopyLike, upper: string): Promise<void> {
    try {
      const lowerDirs = await stage.lowerDirs();
      const chmod = parseChmod(instruction);
      let chown: { uid: number; gid: number } | undefined;
      if (instruction.chown !== undefined) chown = CopyRunner.numericChown(instruction.chown) ?? (await this.resolveChown(instruction, lowerDirs));
      const { local, urls } = await this.sources(stage, instruction);
      const sources: CopySource[] = [...local];
      for (const url of urls) sources.push(await this.download(instruction, url, stage.signal));
      await mkdir(upper, { recursive: true });
      const { copyToUpperDir } = await engine();
      await copyToUpperDir({
        sources,
        dest: instruction.dest,
        workdir: stage.config.config.WorkingDir || '/',
        lowerDirs,
        upperDir: upper,
        ...(chown ? { chown } : {}),
        ...(chmod !== undefined ? { chmod } : {}),
        isAdd: instruction.keyword === 'ADD',
        ...(instruction.keyword === 'ADD' && instruction.checksum !== undefined ? { checksum: instruction.checksum } : {}),
        timestamp: stage.timestamp,
        ...(stage.signal ? { signal: stage.signal } : {}),
      });
    } catch (err) {
      located(instruction, err);
    } finally {
      await this.cleanup();
    }
  }

  /** `--chown=name[:group]` through the image's /etc/passwd and /etc/group; no group means gid = uid (docker). */
  private async resolveChown(instruction: CopyLike, lowerDirs: readonly string[]): Promise<{ uid: number; gid: number }> {
    const spec = instruction.chown!;
    const [user, group] = spec.split(':') as [string, string | undefined];
    const reader = (await imageFs(lowerDirs)).userDbReader();
    try {
      const resolved = await resolveUser(reader, group !== undefined ? `${user}:${group}` : user);
      return { uid: resolved.uid, gid: group !== undefined ? resolved.gid : resolved.uid };
    } catch (err) {
      throw new BuildError(instruction, `--chown=${spec}: ${(err as Error).message}`, { cause: err });
    }
  }

  async makeWorkdir(stage: StageExecutor, path: string, upper: string): Promise<boolean> {
    const lowerDirs = await stage.lowerDirs();
    let owner: { uid: number; gid: number } | undefined;
    const user = stage.config.config.User;
    if (user) {
      const resolved = await resolveUser((await imageFs(lowerDirs)).userDbReader(), user).catch(() => undefined);
      if (resolved) owner = { uid: resolved.uid, gid: resolved.gid };
    }
    const { makeDirectoryInUpper } = await engine();
    return makeDirectoryInUpper({ path, lowerDirs, upperDir: upper, ...(owner ? { owner } : {}), timestamp: stage.timestamp });
  }

  /** Removes downloads and heredoc files. */
  async cleanup(): Promise<void> {
    this.downloads.clear();
    for (const dir of this.scratchDirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}
