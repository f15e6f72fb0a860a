import { readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ContextTree } from './context-tree.js';
import { loadIgnoreRules, type IgnoreRules } from './dockerignore.js';
import { ContextError } from './errors.js';
import { selectFromTree } from './select.js';
import type { SelectedSource } from './source.js';

/** Options of {@link openBuildContext}. */
export interface BuildContextOptions {
  /**
   * The Dockerfile (`-f`): absolute, or relative to the current directory as docker reads it; it may be outside the
   * context. Default: `Dockerfile` (else `dockerfile`) in the context. Its `<name>.dockerignore` sibling, when
   * present, replaces the context's `.dockerignore`.
   */
  dockerfile?: string;
}

/** Options of {@link BuildContext.select}. */
export interface SelectOptions {
  /** The instruction named in error messages (default `COPY`). */
  instruction?: 'COPY' | 'ADD';
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * A build context read in place (never copied): a directory, its `.dockerignore` rules and the Dockerfile. The
 * Dockerfile and the ignore file are always readable by the builder; COPY and ADD see only what the rules let
 * through, so they do not copy those two files either when the rules exclude them.
 */
export class BuildContext {
  /** Real path of the context directory (symlinks resolved). */
  readonly dir: string;
  /** Absolute path of the Dockerfile (which need not exist when the Dockerfile comes from elsewhere, e.g. stdin). */
  readonly dockerfilePath: string;
  /** The `.dockerignore` rules in force. */
  readonly ignoreRules: IgnoreRules;
  private readonly trees = new Map<string, ContextTree>();

  constructor(dir: string, dockerfilePath: string, ignoreRules: IgnoreRules) {
    this.dir = dir;
    this.dockerfilePath = dockerfilePath;
    this.ignoreRules = ignoreRules;
  }

  /** The text of the Dockerfile. @throws {ContextError} `DOCKERFILE_NOT_FOUND`. */
  async readDockerfile(): Promise<string> {
    try {
      return await readFile(this.dockerfilePath, 'utf8');
    } catch (error) {
      throw new ContextError('DOCKERFILE_NOT_FOUND', `cannot read the Dockerfile ${this.dockerfilePath}: ${(error as Error).message}`, {
        path: this.dockerfilePath,
        cause: error,
      });
    }
  }

  /** Whether the ignore rules exclude a context path (`src/a.txt`). */
  isExcluded(rel: string): boolean {
    return this.ignoreRules.excludes(rel);
  }

  /** The filtered view of the context that COPY reads. */
  tree(instruction: 'COPY' | 'ADD' = 'COPY'): ContextTree {
    let tree = this.trees.get(instruction);
    if (tree === undefined) {
      tree = new ContextTree(this.dir, this.ignoreRules, instruction);
      this.trees.set(instruction, tree);
    }
    return tree;
  }

  /**
   * Selects the sources of a COPY/ADD: paths relative to the context (a leading `/` is the context root), with
   * wildcards; see {@link selectFromTree} for the rules. Sources are checked to stay inside the context.
   * @throws {ContextError}
   */
  select(patterns: readonly string[], options: SelectOptions = {}): SelectedSource[] {
    return selectFromTree(this.tree(options.instruction), patterns);
  }
}

/**
 * Opens a build context directory: resolves its real path, finds the Dockerfile and loads the ignore rules.
 * @throws {ContextError} `CONTEXT_NOT_FOUND` when the directory does not exist or is not a directory.
 */
export async function openBuildContext(dir: string, options: BuildContextOptions = {}): Promise<BuildContext> {
  let real: string;
  try {
    real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new ContextError('CONTEXT_NOT_FOUND', `unable to prepare context: path ${JSON.stringify(dir)} is not a directory: ${(error as Error).message}`, {
      path: dir,
      cause: error,
    });
  }
  let dockerfile: string;
  if (options.dockerfile !== undefined) dockerfile = resolve(options.dockerfile);
  else {
    dockerfile = join(real, 'Dockerfile');
    if (!(await isFile(dockerfile)) && (await isFile(join(real, 'dockerfile')))) dockerfile = join(real, 'dockerfile');
  }
  const rules = await loadIgnoreRules(real, dockerfile);
  return new BuildContext(real, dockerfile, rules);
}
