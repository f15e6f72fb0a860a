'use strict';
// Runs the CLI bundle (../dist/bundle/tsbuild.cjs, made by `npm run build`) the way Node runs a CommonJS module, but
// compiled from a V8 code cache: parsing and compiling ~800 KB of JavaScript is most of a cached no-op build's time.
// Each command (build, images, ...) keeps its own cache, written beside the bundle by the first run that finds none
// (or finds it stale: V8 checks it against the source and its own version and flags). A rebuild of the bundle
// removes the caches. Where the directory cannot be written, the CLI runs the same, only without a cache.
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

const bundleDir = join(__dirname, '..', 'dist', 'bundle');
const file = join(bundleDir, 'tsbuild.cjs');

/** The command a command line runs, for its cache's name: the first word after the global options. */
function commandName(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root') i++;
    else if (/^[a-z]{1,16}$/.test(argv[i])) return argv[i];
    else if (!argv[i].startsWith('-')) return 'other';
  }
  return 'options';
}

const cacheDir = join(bundleDir, 'v8-cache');
const cacheFile = join(cacheDir, `${commandName(process.argv.slice(2))}.bin`);
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
if (cachedData === undefined || script.cachedDataRejected === true) {
  // At exit the cache holds every function this run compiled, not only the top level.
  process.once('exit', () => {
    try {
      mkdirSync(cacheDir, { recursive: true });
      const temp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(temp, script.createCachedData());
      renameSync(temp, cacheFile);
    } catch {
      // a read-only installation: no cache
    }
  });
}
const bundle = { exports: {} };
script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, bundleDir);
