import { lstatSync, readdirSync, type Stats } from 'node:fs';

/** One node met by {@link walkTree}. */
export interface TreeNode {
  /** Path relative to the root, `/`-separated, without a leading `./` (e.g. `etc/passwd`). */
  readonly rel: string;
  /** Absolute path on disk. */
  readonly abs: string;
  /** `lstat` of the node (symlinks are not followed). */
  readonly stat: Stats;
}

/** Options of {@link walkTree}. */
export interface TreeWalkOptions {
  /** Relative paths left out together with everything below them. */
  exclude?: ReadonlySet<string>;
  /** Decides, for a directory, whether to go into it (default: always). */
  descend?: (node: TreeNode) => boolean;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Walks a directory tree depth first, parents before children, children in sorted name order: the order a
 * layer's entries are written in, so the same tree always gives the same archive whatever the order the
 * filesystem returns names in. The root itself is not yielded. Symlinks are never followed.
 */
export function* walkTree(root: string, options: TreeWalkOptions = {}): Generator<TreeNode> {
  const exclude = options.exclude;
  const stack: Array<{ rel: string; abs: string; names: string[]; next: number }> = [
    { rel: '', abs: root, names: readdirSync(root).sort(byName), next: 0 },
  ];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.names.length) {
      stack.pop();
      continue;
    }
    const name = top.names[top.next++]!;
    const rel = top.rel === '' ? name : `${top.rel}/${name}`;
    if (exclude !== undefined && exclude.has(rel)) continue;
    const abs = `${top.abs}/${name}`;
    const stat = lstatSync(abs);
    const node: TreeNode = { rel, abs, stat };
    yield node;
    if (stat.isDirectory() && (options.descend === undefined || options.descend(node))) {
      stack.push({ rel, abs, names: readdirSync(abs).sort(byName), next: 0 });
    }
  }
}
