// Bundles the compiled CLI (cli/dist/main.js and the workspace packages it imports) into cli/dist/bundle/: a few
// ES modules instead of ~130, split at the CLI's lazy `import()`s so each command still loads only what it uses.
// Loading one module graph of 130 files costs a cached no-op build more than the build itself; `tsbuild` (cli/bin)
// runs the bundle. Run after `tsc -b` (the root `build`, `prepare` and `test` scripts do).
//
//   node scripts/bundle-cli.mjs
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'cli', 'dist', 'bundle');

// Native addons and the HTTP client stay in node_modules: addons cannot be bundled, and undici is large and
// loaded only by registry commands.
const external = ['zstd-napi', '@napi-rs/xattr', 'undici'];

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'cli', 'dist', 'main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // CommonJS dependencies bundled into ES modules call `require` for Node's built-in modules.
  banner: { js: "import { createRequire as __tsbuildCreateRequire } from 'node:module';\nconst require = __tsbuildCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
