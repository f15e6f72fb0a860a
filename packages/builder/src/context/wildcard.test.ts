import { describe, expect, test } from 'vitest';
import { ContextError } from './errors.js';
import { compileComponent, hasWildcards, splitAtWildcard, unescapeWildcards } from './wildcard.js';

// Go's filepath.Match, as docker and BuildKit apply it to COPY sources, one path component at a time.
describe('compileComponent (Go filepath.Match rules)', () => {
  const cases: Array<[pattern: string, name: string, matches: boolean]> = [
    ['*', 'a.txt', true],
    ['*', '.hidden', true], // no dotfile rule in Go
    ['*.txt', 'a.txt', true],
    ['*.txt', 'a.txt.bak', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a?c', 'aéc', true], // one character, not one byte
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[^a-c]x', 'dx', true],
    ['[^a-c]x', 'ax', false],
    ['[!a]', '!', true], // `!` is a literal in Go classes (negation is `^`)
    ['[!a]', 'b', false],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['n\\?pe', 'n?pe', true],
    ['n\\?pe', 'nope', false],
    ['[[]xyz]', '[xyz]', true],
    ['[[]xyz]', 'x', false],
    ['**', 'anything', true], // `**` is `*`: one component
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['[\\]]', ']', true],
    ['(a)+', '(a)+', true], // regexp syntax is literal
    ['$x', '$x', true],
  ];
  test.each(cases)('%s vs %s → %s', (pattern, name, matches) => {
    expect(compileComponent(pattern)(name)).toBe(matches);
  });

  test.each(['[', '[a', '[]', '[a-]', 'a\\', '[z-a]'])('bad pattern %s is an error naming it', (pattern) => {
    expect(() => compileComponent(pattern)).toThrow(ContextError);
    expect(() => compileComponent(pattern)).toThrow(JSON.stringify(pattern));
  });
});

describe('hasWildcards and splitting', () => {
  test('an escaped wildcard does not make a pattern', () => {
    expect(hasWildcards('app/*.txt')).toBe(true);
    expect(hasWildcards('app/[x]')).toBe(true);
    expect(hasWildcards('app/n\\?pe/file.txt')).toBe(false);
    expect(hasWildcards('plain/path')).toBe(false);
    expect(unescapeWildcards('n\\?pe/st\\*uv')).toBe('n?pe/st*uv');
  });

  test('the literal prefix stops at the first component with a wildcard', () => {
    expect(splitAtWildcard(['app', '[[]xyz]', 'file.txt'])).toEqual({ literal: ['app'], patterns: ['[[]xyz]', 'file.txt'] });
    expect(splitAtWildcard(['a', 'b'])).toEqual({ literal: ['a', 'b'], patterns: [] });
    expect(splitAtWildcard(['*'])).toEqual({ literal: [], patterns: ['*'] });
  });
});
