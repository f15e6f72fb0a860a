// Benchmark: the COPY source checksum (step cache key) on a many-files context, cold and as a no-op rebuild.
//
//   npx tsc -b packages/builder && node bench/context/checksum.mjs
//   BENCH_CONTEXT=/path/to/context BENCH_REPS=5 node bench/context/checksum.mjs
//
// The context is the `many-files` one of ../shared/peers/bench/gen.sh (20,000 files, ~150 MB) when that script is
// there (same content as the buildah figures), else a tree of the same shape made here; BENCH_CONTEXT uses an
// existing directory instead. Each measurement runs in a fresh child process, as a build would (timed from
// openBuildContext to the digest), with the page cache warm (the floors are warm too):
//   cold          no hash record yet: every file is read and hashed, the record is written
//   no-op         unchanged context, record present: a metadata walk, nothing read
//   one change    one file rewritten: that file is hashed again
//   floor: hash   sha256 of every file's content in one process (the ~0.9 s the issue quotes)
//   floor: walk   lstat of every entry, nothing else
// The generated context and the record are removed at the end (BENCH_KEEP=1 keeps them).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const contextDist = pathToFileURL(join(here, '../../packages/builder/dist/context/index.js')).href;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const GEN = process.env.BENCH_GEN ?? join(here, '../../../shared/peers/bench/gen.sh');

// ---------------------------------------------------------------------------------------------------------------
// Child mode: one checksum, reported as JSON.
if (process.argv[2] === '--child') {
  const [, , , context, cacheDir] = process.argv;
  const { openBuildContext, checksumSources } = await import(contextDist);
  const started = process.hrtime.bigint();
  const ctx = await openBuildContext(context);
  const result = await checksumSources(ctx.select(['.']), { cacheDir });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ seconds, ...result, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------------------

function mulberry32(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A node_modules-like tree: `count` files, `mb` MiB in total, log-normal sizes, text-like content. */
function generate(root, count = 20000, mb = 150) {
  const rand = mulberry32(20240101);
  const normal = () => Math.sqrt(-2 * Math.log(rand() || 1e-9)) * Math.cos(2 * Math.PI * rand());
  const sizes = Array.from({ length: count }, () => Math.min(Math.floor(Math.exp(8 + 1.3 * normal())), 2 << 20) + 1);
  const scale = (mb * 1024 * 1024) / sizes.reduce((a, b) => a + b, 0);
  const words = 'function return const var let this module exports require => { } ( ) ; \n'.split(' ');
  let text = '';
  while (text.length < 4 << 20) text += `${words[Math.floor(rand() * words.length)]}${Math.floor(rand() * 1e6).toString(36)} `;
  const pool = Buffer.from(text + text);
  const packages = Math.max(1, Math.floor(count / 100));
  mkdirSync(join(root, 'src'), { recursive: true });
  writeFileSync(join(root, 'src/index.js'), 'console.log("hello");\n');
  sizes.forEach((size, i) => {
    const pkg = i % packages;
    const k = Math.floor(i / packages);
    const sub = ['lib', 'dist', 'lib/internal', 'dist/esm', `node_modules/dep-${k % 3}`][k % 5];
    const path = join(root, 'node_modules', `pkg-${String(pkg).padStart(4, '0')}`, sub, `file-${k}.js`);
    mkdirSync(dirname(path), { recursive: true });
    const bytes = Math.max(1, Math.floor(size * scale));
    const offset = Math.floor(rand() * (pool.length / 2));
    writeFileSync(path, pool.subarray(offset, offset + Math.min(bytes, pool.length / 2)));
  });
}

function prepareContext(scratch) {
  if (process.env.BENCH_CONTEXT) return { dir: process.env.BENCH_CONTEXT, change: process.env.BENCH_CHANGE ?? 'src/index.js', source: 'BENCH_CONTEXT' };
  if (existsSync(GEN)) {
    execFileSync('bash', [GEN, 'many-files'], { env: { ...process.env, PEERS_SCRATCH: scratch }, stdio: ['ignore', 'ignore', 'inherit'] });
    return { dir: join(scratch, 'ctx/many-files'), change: 'src/index.js', source: 'peers gen.sh many-files' };
  }
  const dir = join(scratch, 'many-files');
  generate(dir);
  return { dir, change: 'src/index.js', source: 'generated here (same shape as gen.sh many-files)' };
}

function walk(dir, visit) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stats = lstatSync(path);
    visit(path, stats);
    if (stats.isDirectory()) walk(path, visit);
  }
}

function child(context, cacheDir) {
  const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', context, cacheDir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function timed(fn) {
  const started = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const scratch = mkdtempSync(join(tmpdir(), 'tsbuild-bench-context-'));
try {
  const { dir, change, source } = prepareContext(scratch);
  let files = 0;
  let bytes = 0;
  walk(dir, (_path, stats) => {
    if (stats.isFile()) {
      files++;
      bytes += stats.size;
    }
  });
  // Let the newest files leave the racy window, as files edited before a build normally have.
  await new Promise((resolve) => setTimeout(resolve, 2100));

  const buffer = Buffer.allocUnsafe(4 << 20);
  const hashFloor = median(
    Array.from({ length: REPS }, () =>
      timed(() =>
        walk(dir, (path, stats) => {
          if (!stats.isFile()) return;
          const hash = createHash('sha256');
          const fd = openSync(path, 'r');
          for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
          closeSync(fd);
          hash.digest();
        }),
      ),
    ),
  );
  const walkFloor = median(Array.from({ length: REPS }, () => timed(() => walk(dir, () => undefined))));

  const cold = [];
  const noop = [];
  const changed = [];
  for (let rep = 0; rep < REPS; rep++) {
    const cacheDir = join(scratch, `cache-${rep}`);
    cold.push(child(dir, cacheDir));
    noop.push(child(dir, cacheDir));
    writeFileSync(join(dir, change), `console.log("change ${rep}");\n`);
    changed.push(child(dir, cacheDir));
    await new Promise((resolve) => setTimeout(resolve, 2100)); // out of the racy window before the next cold run
  }
  const row = (name, runs) => {
    const seconds = median(runs.map((run) => run.seconds));
    const last = runs[runs.length - 1];
    return `| ${name} | ${seconds.toFixed(3)} s | ${last.filesHashed} | ${last.filesReused} | ${(last.bytesHashed / 1048576).toFixed(1)} MiB | ${Math.round(last.maxRssMiB)} MiB |`;
  };
  console.log(`context: ${source}: ${files} files, ${(bytes / 1048576).toFixed(1)} MiB (${dir})`);
  console.log(`median of ${REPS} runs, each in a fresh process (time from openBuildContext to the digest; module loading not included)\n`);
  console.log('| run | time | files hashed | hashes reused | read | peak RSS |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(row('cold (no record)', cold));
  console.log(row('no-op rebuild', noop));
  console.log(row('one file changed', changed));
  console.log(`| floor: sha256 of every file | ${hashFloor.toFixed(3)} s | ${files} | | ${(bytes / 1048576).toFixed(1)} MiB | |`);
  console.log(`| floor: lstat walk | ${walkFloor.toFixed(3)} s | | | | |`);
  const agree = cold.every((run, i) => run.digest === noop[i].digest && run.digest !== changed[i].digest);
  console.log(`\nno-op / cold: ${(median(noop.map((r) => r.seconds)) / median(cold.map((r) => r.seconds))).toFixed(3)}; cold and no-op digests agree, the change shows: ${agree}`);
} finally {
  if (process.env.BENCH_KEEP !== '1') rmSync(scratch, { recursive: true, force: true });
  else console.log(`kept ${scratch}`);
}
