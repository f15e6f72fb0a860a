import { LayerError } from '../errors.js';

/**
 * Cleans an entry name from a layer into path components relative to the layer root: leading `/` and `./` are
 * dropped (an absolute name is read as relative to the root), `.` and empty components vanish, `..` goes up one
 * level. A name that would go above the root is rejected with a {@link LayerError} naming the entry; the root
 * itself is the empty array. `what` and `entry` word the error (e.g. a hardlink target of entry `entry`).
 */
export function cleanLayerPath(name: string, what = 'path', entry = name): string[] {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw new LayerError(`${what} ${JSON.stringify(name)} leads outside the layer root`, { entry });
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts;
}
