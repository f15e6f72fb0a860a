import type { Stats } from 'node:fs';
import { ContextError } from './errors.js';
import { sourceEntryOf, type SelectedSource, type SourceEntry, type SourceOrigin } from './source.js';
import { compileComponent, splitAtWildcard, unescapeWildcards } from './wildcard.js';

/** What the selection needs of a node of a source tree. */
export interface TreeNodeBase {
  /** Path below the tree root (`''` for the root). */
  readonly rel: string;
  /** `lstat` of the node. */
  readonly stats: Stats;
  /** Host path of the node. */
  readonly hostPath: string;
  /** Host root the node lives under (see {@link SourceEntry.hostRoot}). */
  readonly hostRoot: string;
}

/** A tree COPY/ADD sources are selected from: the build context or a stage/image filesystem. */
export interface SourceTree<N extends TreeNodeBase> {
  /** Context (owners reset) or image (owners kept). */
  readonly origin: SourceOrigin;
  /** `COPY` or `ADD`, for messages. */
  readonly instruction: string;
  /** Cleans a source argument into components below the root. @throws {ContextError} when it leaves the root. */
  components(pattern: string): string[];
  /** Looks components up from the root, following every symlink (inside the tree); undefined when missing. */
  resolve(components: readonly string[], pattern: string): N | undefined;
  /** The visible entries of a directory node, in byte order, symlinks not followed. */
  children(dir: N): N[];
  /** The entries of a selected node (the node itself first, `rel` relative to it). */
  walk(node: N, signal?: AbortSignal): Generator<SourceEntry>;
  /** The error for a literal source that does not exist. */
  notFound(pattern: string): ContextError;
}

function toSelected<N extends TreeNodeBase>(tree: SourceTree<N>, pattern: string, node: N, name: string): SelectedSource {
  return {
    kind: 'local',
    pattern,
    path: node.rel,
    name,
    origin: tree.origin,
    entry: sourceEntryOf('', node.stats, node.hostPath, node.hostRoot),
    walk: (signal?: AbortSignal) => tree.walk(node, signal),
  };
}

/** Looks literal components up as written, then (if that fails and they hold escapes) unescaped. */
function resolveLiteral<N extends TreeNodeBase>(
  tree: SourceTree<N>,
  literal: readonly string[],
  pattern: string,
): { node: N; components: readonly string[] } | undefined {
  const node = tree.resolve(literal, pattern);
  if (node !== undefined) return { node, components: literal };
  const unescaped = literal.map(unescapeWildcards);
  if (unescaped.some((part, i) => part !== literal[i])) {
    const second = tree.resolve(unescaped, pattern);
    if (second !== undefined) return { node: second, components: unescaped };
  }
  return undefined;
}

/** Every path below `base` whose components match `matchers` one for one, in walk order (Go's `filepath.Walk`). */
function globBelow<N extends TreeNodeBase>(tree: SourceTree<N>, base: N, matchers: ReadonlyArray<(name: string) => boolean>): N[] {
  const out: N[] = [];
  const visit = (dir: N, depth: number): void => {
    const matcher = matchers[depth]!;
    for (const child of tree.children(dir)) {
      const name = child.rel.slice(child.rel.lastIndexOf('/') + 1);
      if (!matcher(name)) continue;
      if (depth === matchers.length - 1) out.push(child);
      else if (child.stats.isDirectory()) visit(child, depth + 1);
    }
  };
  if (base.stats.isDirectory()) visit(base, 0);
  return out;
}

/**
 * Selects the sources of one COPY/ADD from a tree, with docker's rules: a path without wildcards must exist (else
 * `file not found in build context or excluded by .dockerignore`); a path with wildcards selects every match (in
 * walk order) and may select nothing as long as the instruction as a whole selects something (else `no source files
 * were specified`); a selected symlink is followed (inside the tree) and copied under its own name.
 * @throws {ContextError}
 */
export function selectFromTree<N extends TreeNodeBase>(tree: SourceTree<N>, patterns: readonly string[]): SelectedSource[] {
  const selected: SelectedSource[] = [];
  const empty: string[] = [];
  for (const pattern of patterns) {
    const components = tree.components(pattern);
    const { literal, patterns: rest } = splitAtWildcard(components);
    if (rest.length === 0) {
      const found = resolveLiteral(tree, literal, pattern);
      if (found === undefined) throw tree.notFound(pattern);
      selected.push(toSelected(tree, pattern, found.node, found.components.at(-1) ?? ''));
      continue;
    }
    const matchers = rest.map(compileComponent);
    const base = resolveLiteral(tree, literal, pattern);
    const matches = base === undefined ? [] : globBelow(tree, base.node, matchers);
    if (matches.length === 0) empty.push(pattern);
    for (const match of matches) {
      const followed = match.stats.isSymbolicLink() ? tree.resolve(match.rel === '' ? [] : match.rel.split('/'), pattern) : match;
      if (followed === undefined) throw tree.notFound(match.rel);
      selected.push(toSelected(tree, pattern, followed, match.rel.slice(match.rel.lastIndexOf('/') + 1)));
    }
  }
  if (selected.length === 0) {
    const which = empty.map((pattern) => JSON.stringify(pattern)).join(', ');
    throw new ContextError('NO_SOURCE_FILES', `${tree.instruction} failed: no source files were specified: nothing matches ${which}`, {
      path: empty[0] ?? '',
    });
  }
  return selected;
}
