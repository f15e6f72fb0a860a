import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import ignore from '@balena/dockerignore';
import { ContextError } from './errors.js';
import { compileComponent } from './wildcard.js';

/** The `.dockerignore` rules of a build context, with the walk-pruning question docker's matcher leaves open. */
export interface IgnoreRules {
  /** The file the rules were read from; undefined when the context has none. */
  readonly file: string | undefined;
  /** Whether there are no rules at all (nothing is excluded). */
  readonly empty: boolean;
  /**
   * Whether a context path (relative, `/`-separated, e.g. `src/a.txt`) is excluded, by docker's rules: the last
   * matching pattern wins, a pattern also matches everything below what it names, `!` re-includes.
   */
  excludes(rel: string): boolean;
  /**
   * Whether some `!` pattern could re-include a path below the directory `rel`. A walk may skip an excluded
   * directory only when this is false. Conservative: a pattern with `**` may match anywhere.
   */
  mayIncludeBelow(rel: string): boolean;
}

interface NegatedPattern {
  readonly components: readonly string[];
}

/** Cleans a pattern as docker does (`filepath.Clean`, leading `/` dropped); undefined for one that says nothing. */
function cleanPattern(raw: string): { negated: boolean; pattern: string } | undefined {
  if (raw.startsWith('#')) return undefined;
  let pattern = raw.trim();
  if (pattern === '') return undefined;
  let negated = false;
  if (pattern.startsWith('!')) {
    negated = true;
    pattern = pattern.slice(1).trim();
  }
  if (pattern === '') return undefined;
  pattern = normalize(pattern).replace(/(?<=.)\/$/, '');
  if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
  return { negated, pattern };
}

function componentMayMatch(pattern: string, name: string): boolean {
  try {
    return compileComponent(pattern)(name);
  } catch {
    return true;
  }
}

/** Whether a `!` pattern could match `dir` itself, something above it (which re-includes below) or below it. */
function reachesBelow(negation: NegatedPattern, dir: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    if (i === negation.components.length || i === dir.length) return true;
    const component = negation.components[i]!;
    if (component.includes('**')) return true; // `**` spans any number of directories: anything may follow
    if (!componentMayMatch(component, dir[i]!)) return false;
  }
}

/**
 * Escapes the characters that Go's matcher takes literally but `@balena/dockerignore` would pass into its regular
 * expression as syntax (`c++`, `a(b)`, `{x}`, `a|b`); classes and backslash escapes are left as they are.
 */
function literalRegexSyntax(line: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\') {
      out += line.slice(i, i + 2);
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
    } else out += '+(){}|'.includes(ch) ? `\\${ch}` : ch;
  }
  return out;
}

/** Parses the text of a `.dockerignore` file (comments, blank lines, BOM and `\r\n` handled). */
export function parseIgnoreRules(text: string, file?: string): IgnoreRules {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split(/\r?\n/);
  // A CommonJS package: its default export is the module, whose `default` is the factory.
  const matcher = ignore.default({ ignorecase: false }).add(lines.map((line) => (line.startsWith('#') ? line : literalRegexSyntax(line))));
  try {
    matcher.ignores('.dockerignore-check'); // compiles every rule now, so a bad one fails here, not mid-walk
  } catch (error) {
    throw new ContextError('BAD_DOCKERIGNORE', `${file ?? '.dockerignore'}: invalid pattern: ${(error as Error).message}`, { path: file ?? '', cause: error });
  }
  const negations: NegatedPattern[] = [];
  let count = 0;
  for (const line of lines) {
    const rule = cleanPattern(line);
    if (rule === undefined) continue;
    count++;
    if (rule.negated) negations.push({ components: rule.pattern.split('/') });
  }
  const empty = count === 0;
  return {
    file,
    empty,
    excludes: (rel) => !empty && rel !== '' && matcher.ignores(rel),
    mayIncludeBelow: (rel) => {
      if (negations.length === 0) return false;
      const dir = rel === '' ? [] : rel.split('/');
      return negations.some((negation) => reachesBelow(negation, dir));
    },
  };
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ContextError('CONTEXT_NOT_FOUND', `cannot read ${path}: ${(error as Error).message}`, { path, cause: error });
  }
}

/**
 * Loads the ignore rules of a build: `<Dockerfile>.dockerignore` next to the Dockerfile when it exists (BuildKit's
 * rule; it takes precedence), else `<context>/.dockerignore`, else no rules.
 */
export async function loadIgnoreRules(contextDir: string, dockerfilePath?: string): Promise<IgnoreRules> {
  const candidates = dockerfilePath === undefined ? [] : [`${dockerfilePath}.dockerignore`];
  candidates.push(join(contextDir, '.dockerignore'));
  for (const candidate of candidates) {
    const text = await readIfPresent(candidate);
    if (text !== undefined) return parseIgnoreRules(text, candidate);
  }
  return parseIgnoreRules('', undefined);
}
