import { ContextError } from './errors.js';

/**
 * COPY/ADD source wildcards, with the rules of Go's `filepath.Match` that docker and BuildKit apply to each path
 * component: `*` is any run of characters, `?` one character, `[abc]`, `[a-z]` and `[^a-z]` a character class, and
 * a backslash makes the next character literal (`[[]` and `\[` both match a literal `[`). None of them matches a
 * `/`, so `**` is the same as `*` (one component): BuildKit's COPY has no recursive wildcard. A leading dot needs
 * no special pattern (`*` matches `.hidden`).
 */

/** Whether a path has an unescaped `*`, `?` or `[`, which makes it a pattern (docker's `containsWildcards`). */
export function hasWildcards(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** A path with its backslash escapes removed (`n\?pe` → `n?pe`). */
export function unescapeWildcards(path: string): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch === '\\' && i + 1 < path.length) {
      out += path[i + 1];
      i++;
    } else out += ch;
  }
  return out;
}

function literal(ch: string): string {
  return /^[A-Za-z0-9_]$/.test(ch) ? ch : `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

function bad(pattern: string, why: string): ContextError {
  return new ContextError('BAD_SOURCE_PATTERN', `invalid wildcard pattern ${JSON.stringify(pattern)}: ${why}`, { path: pattern });
}

/**
 * Compiles one path component of a pattern into a test for names.
 * @throws {ContextError} `BAD_SOURCE_PATTERN` for an unterminated class, an empty range bound or a trailing `\`.
 */
export function compileComponent(pattern: string): (name: string) => boolean {
  const chars = Array.from(pattern);
  let source = '^';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      source += '[^/]*';
    } else if (ch === '?') {
      source += '[^/]';
    } else if (ch === '\\') {
      if (i + 1 >= chars.length) throw bad(pattern, 'it ends with a backslash');
      source += literal(chars[++i]!);
    } else if (ch === '[') {
      i++;
      let negate = false;
      if (chars[i] === '^') {
        negate = true;
        i++;
      }
      let body = '';
      let ranges = 0;
      const bound = (): string => {
        let c = chars[i];
        if (c === undefined) throw bad(pattern, 'a character class is not closed');
        if (c === '\\') {
          i++;
          c = chars[i];
          if (c === undefined) throw bad(pattern, 'it ends with a backslash');
        } else if (c === '-' || c === ']') {
          throw bad(pattern, `unexpected ${JSON.stringify(c)} in a character class`);
        }
        i++;
        return c;
      };
      for (;;) {
        if (chars[i] === ']' && ranges > 0) break;
        const lo = bound();
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          hi = bound();
          if (hi.codePointAt(0)! < lo.codePointAt(0)!) throw bad(pattern, `range ${lo}-${hi} is reversed`);
        }
        body += lo === hi ? literal(lo) : `${literal(lo)}-${literal(hi)}`;
        ranges++;
      }
      source += negate ? `[^/${body}]` : `[${body}]`;
    } else {
      source += literal(ch);
    }
  }
  const regexp = new RegExp(`${source}$`, 'u');
  return (name) => regexp.test(name);
}

/**
 * Splits path components into the literal leading part and the rest from the first component that has a
 * wildcard on (`['app', '*', 'x']` → literal `['app']`, patterns `['*', 'x']`). Literal components are returned as
 * written: a name may hold a real backslash, so callers look them up as written first and unescaped second.
 */
export function splitAtWildcard(components: readonly string[]): { literal: string[]; patterns: string[] } {
  const index = components.findIndex(hasWildcards);
  if (index === -1) return { literal: [...components], patterns: [] };
  return { literal: components.slice(0, index), patterns: components.slice(index) };
}
