// A Node module loader for tests that start a separate Node process on the TypeScript sources (as vitest's
// aliases do for the test process itself): `@tsbuild/<pkg>` maps to `packages/<pkg>/src/index.ts`, `./x.js`
// to `./x.ts` when that exists, and `.ts` files are transpiled with the workspace's TypeScript.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const packages = new URL('../../../../', import.meta.url);

export async function resolve(specifier, context, next) {
  const match = /^@tsbuild\/([a-z-]+)$/.exec(specifier);
  if (match) return { url: new URL(`${match[1]}/src/index.ts`, packages).href, shortCircuit: true };
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const output = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  return { format: 'module', source: output.outputText, shortCircuit: true };
}
