import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import type { IgnoreRules } from './dockerignore.js';
import { ContextError } from './errors.js';
import type { SourceTree, TreeNodeBase } from './select.js';
import { byName, joinRel, MAX_SYMLINKS, sourceEntryOf, type SourceEntry } from './source.js';

/** A path of the build context. */
export type ContextNode = TreeNodeBase;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * The build context as COPY sees it: the directory read in place, minus what `.dockerignore` excludes. An excluded
 * directory is still there when something below it is re-included by a `!` pattern (holding only that), as in
 * the context docker sends. Symlinks are followed only for a selected source path, and only while they stay
 * inside the context.
 */
export class ContextTree implements SourceTree<ContextNode> {
  readonly origin = 'context' as const;
  /** Real path of the context directory. */
  readonly root: string;
  /** The ignore rules in force. */
  readonly rules: IgnoreRules;
  /** `COPY` or `ADD`, for messages. */
  readonly instruction: string;
  /** Prefix of error messages (`COPY failed: `). */
  private readonly prefix: string;
  private readonly includedBelowCache = new Map<string, boolean>();

  constructor(root: string, rules: IgnoreRules, instruction = 'COPY') {
    this.root = root;
    this.rules = rules;
    this.instruction = instruction;
    this.prefix = `${instruction} failed: `;
  }

  /** Host path of a context-relative path. */
  hostPath(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /** Cleans a source argument: a leading `/` means the context root; `..` may not climb out of it. */
  components(pattern: string): string[] {
    const parts: string[] = [];
    for (const part of pattern.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (parts.length === 0) {
          throw new ContextError('SOURCE_OUTSIDE_CONTEXT', `${this.prefix}forbidden path outside the build context: ${pattern}`, { path: pattern });
        }
        parts.pop();
      } else parts.push(part);
    }
    return parts;
  }

  /** Whether some entry below the directory `rel` is included (which keeps an excluded directory visible). */
  private includedBelow(rel: string): boolean {
    const cached = this.includedBelowCache.get(rel);
    if (cached !== undefined) return cached;
    let found = false;
    if (this.rules.mayIncludeBelow(rel)) {
      let names: string[] = [];
      try {
        names = readdirSync(this.hostPath(rel));
      } catch {
        names = [];
      }
      for (const name of names) {
        const child = joinRel(rel, name);
        if (!this.rules.excludes(child)) {
          found = true;
          break;
        }
        const stats = lstatOrUndefined(this.hostPath(child));
        if (stats?.isDirectory() === true && this.includedBelow(child)) {
          found = true;
          break;
        }
      }
    }
    this.includedBelowCache.set(rel, found);
    return found;
  }

  /** Whether a path is part of the filtered context. */
  visible(rel: string, stats: Stats): boolean {
    if (rel === '' || !this.rules.excludes(rel)) return true;
    return stats.isDirectory() && this.includedBelow(rel);
  }

  /** The node of a context-relative path (not following a final symlink), if it is in the filtered context. */
  node(rel: string): ContextNode | undefined {
    const hostPath = this.hostPath(rel);
    const stats = lstatOrUndefined(hostPath);
    if (stats === undefined || !this.visible(rel, stats)) return undefined;
    return { rel, stats, hostPath, hostRoot: this.root };
  }

  private outside(pattern: string, link: string, target: string): ContextError {
    return new ContextError(
      'SOURCE_OUTSIDE_CONTEXT',
      `${this.prefix}forbidden path outside the build context: ${pattern} (symlink ${link} points to ${target})`,
      { path: pattern },
    );
  }

  /**
   * Looks components up from the context root following every symlink, which must stay inside the context (an
   * absolute target or one that climbs above the root is an error, not a lookup on the host).
   */
  resolve(components: readonly string[], pattern: string): ContextNode | undefined {
    const resolved: string[] = [];
    let pending = [...components];
    let links = 0;
    let stats: Stats | undefined = lstatOrUndefined(this.root);
    while (pending.length > 0) {
      const [name, ...rest] = pending as [string, ...string[]];
      pending = rest;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        // Arguments are clean: a `..` here comes from a symlink target and may not climb above the context.
        if (resolved.length === 0) throw this.outside(pattern, components.join('/'), '..');
        resolved.pop();
        stats = undefined;
        continue;
      }
      resolved.push(name);
      const rel = resolved.join('/');
      stats = lstatOrUndefined(this.hostPath(rel));
      if (stats === undefined) return undefined;
      if (stats.isSymbolicLink()) {
        if (this.rules.excludes(rel)) return undefined;
        if (++links > MAX_SYMLINKS) {
          throw new ContextError('SOURCE_NOT_FOUND', `${this.prefix}too many levels of symbolic links in ${pattern}`, { path: pattern });
        }
        const target = readlinkSync(this.hostPath(rel));
        if (target.startsWith('/')) throw this.outside(pattern, rel, target);
        resolved.pop();
        let depth = resolved.length;
        for (const part of target.split('/')) {
          if (part === '..') depth--;
          else if (part !== '' && part !== '.') depth++;
          if (depth < 0) throw this.outside(pattern, rel, target);
        }
        pending = [...target.split('/'), ...pending];
        continue;
      }
      if (pending.some((part) => part !== '' && part !== '.') && !stats.isDirectory()) return undefined;
    }
    const rel = resolved.join('/');
    stats ??= lstatOrUndefined(this.hostPath(rel));
    if (stats === undefined || !this.visible(rel, stats)) return undefined;
    return { rel, stats, hostPath: this.hostPath(rel), hostRoot: this.root };
  }

  /** The visible entries of a directory, in byte order. */
  children(dir: ContextNode): ContextNode[] {
    const out: ContextNode[] = [];
    for (const name of readdirSync(dir.hostPath).sort(byName)) {
      const node = this.node(joinRel(dir.rel, name));
      if (node !== undefined) out.push(node);
    }
    return out;
  }

  /**
   * The entries of a selected node: the node, then (for a directory) everything below that is included, parents
   * first, in byte order. An excluded directory is listed just before the first included entry below it, and not
   * entered at all when no `!` pattern can reach below it.
   */
  *walk(node: ContextNode, signal?: AbortSignal): Generator<SourceEntry> {
    yield sourceEntryOf('', node.stats, node.hostPath, this.root);
    if (!node.stats.isDirectory()) return;
    interface Frame {
      rel: string;
      sub: string;
      names: string[];
      next: number;
      pending: SourceEntry | undefined;
    }
    const stack: Frame[] = [{ rel: node.rel, sub: '', names: readdirSync(node.hostPath).sort(byName), next: 0, pending: undefined }];
    let pendingCount = 0;
    let count = 0;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.names.length) {
        if (top.pending !== undefined) pendingCount--;
        stack.pop();
        continue;
      }
      const name = top.names[top.next++]!;
      const rel = joinRel(top.rel, name);
      const sub = joinRel(top.sub, name);
      if ((++count & 255) === 0) signal?.throwIfAborted();
      const hostPath = this.hostPath(rel);
      const stats = lstatOrUndefined(hostPath);
      if (stats === undefined) continue; // removed while we walk
      const excluded = this.rules.excludes(rel);
      const isDir = stats.isDirectory();
      if (excluded && !(isDir && this.rules.mayIncludeBelow(rel))) continue;
      const entry = sourceEntryOf(sub, stats, hostPath, this.root, stats.isSymbolicLink() ? readlinkSync(hostPath) : undefined);
      if (!excluded) {
        if (pendingCount > 0) {
          for (const frame of stack) {
            if (frame.pending === undefined) continue;
            yield frame.pending;
            frame.pending = undefined;
            pendingCount--;
          }
        }
        yield entry;
      }
      if (isDir) {
        stack.push({ rel, sub, names: readdirSync(hostPath).sort(byName), next: 0, pending: excluded ? entry : undefined });
        if (excluded) pendingCount++;
      }
    }
  }

  /** The error for a literal source that is missing or excluded. */
  notFound(pattern: string): ContextError {
    return new ContextError(
      'SOURCE_NOT_FOUND',
      `${this.prefix}file not found in build context or excluded by .dockerignore: stat ${pattern}: file does not exist`,
      { path: pattern },
    );
  }
}
