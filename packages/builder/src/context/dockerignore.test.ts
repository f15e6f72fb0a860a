import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { cleanupTemp, tempDir } from './__fixtures__/tree.js';
import { loadIgnoreRules, parseIgnoreRules } from './dockerignore.js';

afterAll(cleanupTemp);

describe('parseIgnoreRules', () => {
  test("docker's matching rules: last match wins, parents match, `!` re-includes", () => {
    const rules = parseIgnoreRules('# comment\n*.md\n!README.md\nbuild/\ntmp\n/abs\n');
    expect(rules.excludes('notes.md')).toBe(true);
    expect(rules.excludes('README.md')).toBe(false);
    expect(rules.excludes('docs/notes.md')).toBe(false); // `*.md` is root-only
    expect(rules.excludes('build')).toBe(true);
    expect(rules.excludes('build/out/x.o')).toBe(true); // a pattern matches everything below what it names
    expect(rules.excludes('tmp/a')).toBe(true);
    expect(rules.excludes('a/tmp')).toBe(false);
    expect(rules.excludes('abs')).toBe(true);
    expect(rules.excludes('src/main.c')).toBe(false);
    expect(rules.excludes('')).toBe(false);
  });

  test('matching is case-sensitive, as on Linux', () => {
    const rules = parseIgnoreRules('*.LOG\n');
    expect(rules.excludes('a.LOG')).toBe(true);
    expect(rules.excludes('a.log')).toBe(false);
  });

  test('BOM, CRLF, blank lines and comments', () => {
    const rules = parseIgnoreRules('\uFEFFa.txt\r\n\r\n# b.txt\r\nc.txt\r\n');
    expect(rules.excludes('a.txt')).toBe(true);
    expect(rules.excludes('b.txt')).toBe(false);
    expect(rules.excludes('c.txt')).toBe(true);
    expect(parseIgnoreRules('# only a comment\n\n').empty).toBe(true);
  });

  test('regular-expression characters are literal, as in Go', () => {
    const rules = parseIgnoreRules('c++\na(b)\n{x}\n1|2\n[+]z\n');
    expect(rules.excludes('c++/main.cc')).toBe(true);
    expect(rules.excludes('cc')).toBe(false);
    expect(rules.excludes('a(b)')).toBe(true);
    expect(rules.excludes('{x}')).toBe(true);
    expect(rules.excludes('1|2')).toBe(true);
    expect(rules.excludes('1')).toBe(false);
    expect(rules.excludes('+z')).toBe(true);
    expect(() => parseIgnoreRules('ok\nbad[\n', '/ctx/.dockerignore')).toThrow('/ctx/.dockerignore: invalid pattern');
  });

  test('`**` patterns', () => {
    const rules = parseIgnoreRules('**/*.log\n**/node_modules\n');
    expect(rules.excludes('a.log')).toBe(true);
    expect(rules.excludes('x/y/z.log')).toBe(true);
    expect(rules.excludes('pkg/node_modules/dep/index.js')).toBe(true);
  });

  test('mayIncludeBelow: only a `!` pattern that can reach below a directory keeps the walk going', () => {
    expect(parseIgnoreRules('subdir\n').mayIncludeBelow('subdir')).toBe(false);
    const weird = parseIgnoreRules('subdir\n!*/sub1*\n');
    expect(weird.mayIncludeBelow('subdir')).toBe(true);
    expect(weird.mayIncludeBelow('subdir/sub1dir')).toBe(true); // `!*/sub1*` re-includes everything below subdir/sub1dir
    expect(weird.mayIncludeBelow('subdir/deeper')).toBe(false);
    const exact = parseIgnoreRules('**\n!folder1/file1\n');
    expect(exact.mayIncludeBelow('folder1')).toBe(true);
    expect(exact.mayIncludeBelow('folder2')).toBe(false);
    expect(exact.mayIncludeBelow('folder1/file1')).toBe(true); // a directory the pattern names: all of it comes back
    expect(exact.mayIncludeBelow('folder1/x')).toBe(false);
    const deep = parseIgnoreRules('volume/\n!**/oneline.txt\n');
    expect(deep.mayIncludeBelow('volume')).toBe(true);
    const minimal = parseIgnoreRules('stuff/huge/*\n!stuff/huge/usr/bin/*\n');
    expect(minimal.mayIncludeBelow('stuff/huge/usr')).toBe(true);
    expect(minimal.mayIncludeBelow('stuff/huge/var')).toBe(false);
  });
});

describe('loadIgnoreRules', () => {
  test('<Dockerfile>.dockerignore next to the Dockerfile wins over the context one', async () => {
    const context = tempDir();
    const elsewhere = tempDir();
    writeFileSync(join(context, '.dockerignore'), 'from-context\n');
    writeFileSync(join(elsewhere, 'app.Dockerfile.dockerignore'), 'from-dockerfile\n');
    const rules = await loadIgnoreRules(context, join(elsewhere, 'app.Dockerfile'));
    expect(rules.file).toBe(join(elsewhere, 'app.Dockerfile.dockerignore'));
    expect(rules.excludes('from-dockerfile')).toBe(true);
    expect(rules.excludes('from-context')).toBe(false);

    const fallback = await loadIgnoreRules(context, join(elsewhere, 'other.Dockerfile'));
    expect(fallback.file).toBe(join(context, '.dockerignore'));
    expect(fallback.excludes('from-context')).toBe(true);
  });

  test('no ignore file: nothing excluded', async () => {
    const rules = await loadIgnoreRules(tempDir());
    expect(rules.file).toBeUndefined();
    expect(rules.empty).toBe(true);
    expect(rules.excludes('anything')).toBe(false);
  });
});
