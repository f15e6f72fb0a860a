// Bundles the compiled CLI (cli/dist/main.js and the workspace packages it imports) into one CommonJS file,
// cli/dist/bundle/tsbuild.cjs, which cli/bin/tsbuild.cjs loads with a V8 code cache. Loading a graph of ES modules
// costs a cached no-op build more than the build itself: one script, compiled from a cache, is the cheapest start
// Node 20 offers. Modules the CLI imports lazily stay lazy (esbuild evaluates them on first use). Run after `tsc -b`
// (the root `build`, `prepare` and `test` scripts do).
//
//   node scripts/bundle-cli.mjs
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'cli', 'dist', 'bundle');

// Native addons and the HTTP client stay in node_modules: addons cannot be bundled, and undici is large and
// loaded only by registry commands (and by worker threads, from its own files).
const external = ['zstd-napi', '@napi-rs/xattr', 'undici'];

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(root, 'cli', 'dist', 'main.js')],
  outfile: join(outdir, 'tsbuild.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: [join(root, 'scripts', 'bundle-import-meta-url.js')],
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
// vm.Script (how the loader runs the bundle) has no loader for import(): every import must have been bundled.
for (const [path, output] of Object.entries(result.metafile.outputs)) {
  const dynamic = output.imports.filter((entry) => entry.kind === 'dynamic-import');
  if (dynamic.length > 0) throw new Error(`${path} keeps a dynamic import() of ${dynamic.map((entry) => entry.path).join(', ')}`);
}
