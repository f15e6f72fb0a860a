import { afterAll, beforeEach, expect, test, vi } from 'vitest';

// Records every directory the context code lists, to check that excluded directories are not walked.
const listed = vi.hoisted(() => [] as string[]);
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const readdirSync = ((path: Parameters<typeof actual.readdirSync>[0], ...rest: unknown[]) => {
    listed.push(String(path));
    return (actual.readdirSync as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof actual.readdirSync;
  return { ...actual, default: { ...actual, readdirSync }, readdirSync };
});

const { cleanupTemp, tempDir, writeTree } = await import('./__fixtures__/tree.js');
const { openBuildContext } = await import('./build-context.js');

afterAll(cleanupTemp);
beforeEach(() => {
  listed.length = 0;
});

function names(dir: string): string[] {
  return listed.filter((path) => path.startsWith(`${dir}/`)).map((path) => path.slice(dir.length + 1));
}

test('an excluded directory no `!` pattern can reach is never listed', async () => {
  const dir = writeTree(tempDir(), { '.dockerignore': 'node_modules\n**/*.log\n', 'node_modules/a/b/c.js': 'c', 'src/x.js': 'x', 'src/debug.log': 'l' });
  const context = await openBuildContext(dir);
  const entries = [...context.select(['.'])[0]!.walk()].map((entry) => entry.rel);
  expect(entries).toEqual(['', '.dockerignore', 'src', 'src/x.js']);
  expect(names(dir)).toEqual(['src']);
});

test('with an exception below it, the walk enters the directory but not its unrelated subdirectories', async () => {
  const dir = writeTree(tempDir(), {
    '.dockerignore': 'node_modules\n!node_modules/keep/**\n',
    'node_modules/keep/k.js': 'k',
    'node_modules/drop/deep/d.js': 'd',
  });
  const context = await openBuildContext(dir);
  const entries = [...context.select(['.'])[0]!.walk()].map((entry) => entry.rel);
  expect(entries).toEqual(['', '.dockerignore', 'node_modules', 'node_modules/keep', 'node_modules/keep/k.js']);
  expect(names(dir)).toEqual(['node_modules', 'node_modules/keep']);
});
