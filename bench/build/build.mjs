// Build benchmark: tsbuild beside buildah 1.28 (`build --layers --isolation chroot`, overlay driver) on the same
// four contexts, the same backing store and in the same run. See bench/build/README.md.
//
//   npm run build && node bench/build/build.mjs                 (as root)
//   BENCH_TMPFS=1 node bench/build/build.mjs                    both stores on one tmpfs (steadier than ext4)
//   BENCH_CONTEXTS="small debian" BENCH_SCENARIOS="noop change" BENCH_RUNS=3 node bench/build/build.mjs
//   node bench/build/build.mjs --clean                          remove the cached inputs (contexts, base images)
//
// Scenarios per context: cold (store wiped, base pulled from the loopback registry), noop (rebuild, nothing
// changed), change (the file named in the context's CHANGE gets new content). The two tools take turns, the one
// that goes first alternating, and each cell is the median of the runs. Extras: per-RUN overhead (tsbuild: the
// step durations of 20 RUNs that each change one small file, median; buildah: (t(20 RUNs) - t(0 RUNs)) / 20) and
// the peak RSS of tsbuild building many-files cold.
// tsbuild runs as installed: the cli/bin/tsbuild launcher, in the environment the bench was started with.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../registry/registry.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const cli = join(repo, 'cli/bin/tsbuild');
const scratch = process.env.BENCH_SCRATCH ?? '/tmp/tsbuild-bench-build';
const inputs = join(scratch, 'inputs');
const stores = join(scratch, 'stores');
const logs = join(scratch, 'logs');

const CONTEXTS = (process.env.BENCH_CONTEXTS ?? 'small many-files multistage debian').split(/\s+/).filter(Boolean);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'cold noop change').split(/\s+/).filter(Boolean);
const TOOLS = (process.env.BENCH_TOOLS ?? 'tsbuild buildah').split(/\s+/).filter(Boolean);
const RUNS = { cold: 3, noop: 5, change: 5 };
for (const s of Object.keys(RUNS)) if (process.env.BENCH_RUNS) RUNS[s] = Number(process.env.BENCH_RUNS);
const EXTRAS = (process.env.BENCH_EXTRAS ?? 'run rss').split(/\s+/).filter(Boolean);

/** The goals of issue 6: ratio tsbuild/buildah, same run. */
const GOALS = {
  'small/cold': 0.8, 'small/noop': 0.2, 'small/change': 0.5,
  'many-files/cold': 0.6, 'many-files/noop': 0.2, 'many-files/change': 0.5,
  'multistage/noop': 0.3, 'multistage/change': 0.5,
  'debian/cold': 0.8, 'debian/noop': 0.3,
};

if (process.argv.includes('--clean')) {
  cleanupStores();
  rmSync(scratch, { recursive: true, force: true });
  console.log(`removed ${scratch}`);
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.error('build.mjs: run as root (RUN sandboxes and buildah need it)');
  process.exit(2);
}

function log(text) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...options });
  if (result.status !== 0 && !options.allowFail) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${(result.stderr ?? '').slice(-3000)}${(result.stdout ?? '').slice(-2000)}`);
  }
  return result;
}

/** Mount points at or under a directory, deepest first. */
function mountsUnder(dir) {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((m) => m !== undefined)
    .map((m) => m.replace(/\\040/g, ' '));
  return mounts.filter((m) => m === dir || m.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

function unmountUnder(dir, keep = new Set()) {
  for (const m of mountsUnder(dir)) if (!keep.has(m)) run('umount', ['-l', m], { allowFail: true });
}

let registriesConf;
const buildahBase = (root) => ['--registries-conf', registriesConf, '--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--storage-driver', 'overlay'];

function storeOf(tool, ctx) {
  return join(stores, tool, ctx);
}

let tmpfsMounted = false;

function wipe(tool, root) {
  if (!existsSync(root)) return;
  if (tool === 'buildah') run('buildah', [...buildahBase(root), 'rm', '--all'], { allowFail: true });
  unmountUnder(root);
  rmSync(root, { recursive: true, force: true });
}

function cleanupStores() {
  if (!existsSync(stores)) return;
  for (const tool of ['buildah', 'tsbuild']) {
    const dir = join(stores, tool);
    if (!existsSync(dir)) continue;
    for (const ctx of [...CONTEXTS, 'run-0', 'run-20']) wipe(tool, join(dir, ctx));
  }
  unmountUnder(stores, new Set([stores]));
  if (mountsUnder(stores).includes(stores)) run('umount', [stores], { allowFail: true });
  rmSync(stores, { recursive: true, force: true });
}

function buildCommand(tool, ctx, dir, extra = []) {
  const root = storeOf(tool, ctx);
  if (tool === 'tsbuild') {
    return [cli, ['--root', root, 'build', '--progress', 'plain', ...extra, '-t', `bench/${ctx}:latest`, '-f', join(dir, 'Dockerfile'), dir]];
  }
  return ['buildah', [...buildahBase(root), 'build', '--layers', '--isolation', 'chroot', ...extra, '-t', `bench/${ctx}`, '-f', join(dir, 'Dockerfile'), dir]];
}

/** Runs one build, returns seconds; its output goes to a log file. */
function timedBuild(tool, ctx, dir, label, extra = []) {
  const [command, args] = buildCommand(tool, ctx, dir, extra);
  const started = performance.now();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  const seconds = (performance.now() - started) / 1000;
  writeFileSync(join(logs, `${ctx}-${label}-${tool}.log`), `${result.stdout}\n--- stderr\n${result.stderr}`);
  if (result.status !== 0) throw new Error(`${tool} build of ${ctx} (${label}) failed; see ${join(logs, `${ctx}-${label}-${tool}.log`)}\n${result.stderr.slice(-2000)}`);
  return { seconds, output: `${result.stdout}${result.stderr}` };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function changeFile(dir) {
  const file = join(dir, readFileSync(join(dir, 'CHANGE'), 'utf8').trim());
  const orig = join(dir, 'CHANGE.orig');
  if (!existsSync(orig)) copyFileSync(file, orig);
  writeFileSync(file, `${readFileSync(orig, 'utf8')}change ${process.hrtime.bigint()}\n`);
}

function restoreFile(dir) {
  const orig = join(dir, 'CHANGE.orig');
  if (!existsSync(orig)) return;
  const file = join(dir, readFileSync(join(dir, 'CHANGE'), 'utf8').trim());
  const info = statSync(orig);
  copyFileSync(orig, file);
  utimesSync(file, info.atime, info.mtime);
  rmSync(orig);
}

/** How many RUN/COPY/ADD steps really ran (were not cache hits), from a tsbuild plain log or a buildah log. */
function stepsRun(tool, output) {
  const lines = output.split('\n');
  let count = 0;
  if (tool === 'tsbuild') {
    const labels = new Map();
    for (const line of lines) {
      const start = /^#(\d+) \[[^\]]+\] (\S+)/.exec(line);
      if (start) labels.set(start[1], start[2]);
      const done = /^#(\d+) DONE /.exec(line);
      if (done && /^(RUN|COPY|ADD)$/.test(labels.get(done[1]) ?? '')) count++;
    }
    return count;
  }
  let current;
  for (const line of lines) {
    const step = /^(?:\[\d+\/\d+\] )?STEP \d+\/\d+: (\S+)/.exec(line);
    if (step) {
      if (current !== undefined && /^(RUN|COPY|ADD)$/.test(current)) count++;
      current = step[1];
    } else if (line.startsWith('--> Using cache')) current = undefined;
  }
  if (current !== undefined && /^(RUN|COPY|ADD)$/.test(current)) count++;
  return count;
}

const results = [];
let registry;
const cleanupAll = async () => {
  for (const dir of CONTEXTS.map((ctx) => join(inputs, 'ctx', ctx))) restoreFile(dir);
  cleanupStores();
  if (registry) await registry.stop().catch(() => undefined);
  registry = undefined;
};
process.on('SIGINT', () => {
  log('interrupted: cleaning up');
  cleanupAll().finally(() => process.exit(130));
});

try {
  mkdirSync(logs, { recursive: true });
  log('base images (cached in inputs/bases)');
  run('bash', [join(here, 'base-images.sh'), join(inputs, 'bases'), 'busybox', ...(CONTEXTS.includes('debian') ? ['debian'] : [])], { stdio: ['ignore', 'inherit', 'inherit'] });
  registry = await startRegistry();
  log(`registry at ${registry.host}`);
  registriesConf = join(scratch, 'registries.conf');
  writeFileSync(
    registriesConf,
    `unqualified-search-registries = []\n[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`,
  );
  const baseRoot = join(inputs, 'bases', 'store');
  for (const image of ['busybox:latest', ...(CONTEXTS.includes('debian') ? ['debian:bookworm-slim'] : [])]) {
    run(cli, ['--root', baseRoot, 'push', image, `${registry.host}/${image}`]);
  }
  log('contexts (cached in inputs/ctx)');
  run('bash', [join(here, 'gen-contexts.sh'), join(inputs, 'ctx'), registry.host, ...CONTEXTS], { stdio: ['ignore', 'inherit', 'inherit'] });

  mkdirSync(stores, { recursive: true });
  if (process.env.BENCH_TMPFS && process.env.BENCH_TMPFS !== '0') {
    const size = /^\d+[kmg]$/i.test(process.env.BENCH_TMPFS) ? process.env.BENCH_TMPFS : '16g';
    run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', stores]);
    tmpfsMounted = true;
  }
  const backing = tmpfsMounted ? 'tmpfs' : run('stat', ['-f', '-c', '%T', stores]).stdout.trim();
  log(`stores on ${backing}: ${stores}`);

  for (const ctx of CONTEXTS) {
    const dir = join(inputs, 'ctx', ctx);
    for (const tool of TOOLS) wipe(tool, storeOf(tool, ctx));
    for (const scenario of SCENARIOS) {
      const times = Object.fromEntries(TOOLS.map((tool) => [tool, []]));
      const ran = Object.fromEntries(TOOLS.map((tool) => [tool, []]));
      if (scenario !== 'cold') {
        // make sure both have the image (and a record of the context) before timing rebuilds
        for (const tool of TOOLS) timedBuild(tool, ctx, dir, `${scenario}-warmup`);
      }
      for (let i = 0; i < RUNS[scenario]; i++) {
        if (scenario === 'change') changeFile(dir);
        const order = i % 2 === 0 ? TOOLS : [...TOOLS].reverse();
        for (const tool of order) {
          if (scenario === 'cold') wipe(tool, storeOf(tool, ctx));
          const { seconds, output } = timedBuild(tool, ctx, dir, scenario);
          times[tool].push(seconds);
          ran[tool].push(stepsRun(tool, output));
        }
      }
      if (scenario === 'change') restoreFile(dir);
      const cell = { context: ctx, scenario, backing, runs: RUNS[scenario] };
      for (const tool of TOOLS) cell[tool] = { median: median(times[tool]), min: Math.min(...times[tool]), max: Math.max(...times[tool]), stepsRun: ran[tool].at(-1) };
      results.push(cell);
      log(`${ctx} ${scenario}: ${TOOLS.map((tool) => `${tool} ${cell[tool].median.toFixed(2)} s (${cell[tool].min.toFixed(2)}-${cell[tool].max.toFixed(2)}, steps run ${cell[tool].stepsRun})`).join(', ')}`);
    }
    for (const tool of TOOLS) if (!(ctx === 'many-files' && EXTRAS.includes('rss'))) wipe(tool, storeOf(tool, ctx));
  }

  const extras = {};
  if (EXTRAS.includes('rss') && TOOLS.includes('tsbuild')) {
    // peak RSS of the tsbuild process tree (the largest single process) on a cold many-files build
    const dir = join(inputs, 'ctx', 'many-files');
    run('bash', [join(here, 'gen-contexts.sh'), join(inputs, 'ctx'), registry.host, 'many-files']);
    const root = storeOf('tsbuild', 'many-files');
    wipe('tsbuild', root);
    const [command, args] = buildCommand('tsbuild', 'many-files', dir);
    const measured = run('/usr/bin/time', ['-f', 'maxrss_kb=%M', command, ...args]);
    const kb = Number(/maxrss_kb=(\d+)/.exec(measured.stderr)?.[1]);
    const noop = run('/usr/bin/time', ['-f', 'maxrss_kb=%M', command, ...args]);
    const kbNoop = Number(/maxrss_kb=(\d+)/.exec(noop.stderr)?.[1]);
    extras.rss = { coldMB: kb / 1024, noopMB: kbNoop / 1024 };
    log(`tsbuild peak RSS on many-files: cold ${(kb / 1024).toFixed(0)} MB, no-op ${(kbNoop / 1024).toFixed(0)} MB`);
    for (const tool of TOOLS) wipe(tool, storeOf(tool, 'many-files'));
  }
  if (EXTRAS.includes('run')) extras.run = await runOverhead();

  const table = renderTable(results, extras, backing);
  writeFileSync(join(scratch, 'results.json'), JSON.stringify({ results, extras, backing, date: new Date().toISOString() }, null, 2));
  writeFileSync(join(scratch, 'results.md'), table);
  console.log(table);
  log(`results: ${join(scratch, 'results.md')}, ${join(scratch, 'results.json')}, build logs in ${logs}`);
} finally {
  await cleanupAll();
}

/** Per-RUN overhead: 20 RUN steps that each write one small file. */
async function runOverhead() {
  const N = Number(process.env.BENCH_RUN_STEPS ?? 20);
  const out = {};
  for (const [name, count] of [['run-0', 0], ['run-20', N]]) {
    const dir = join(inputs, 'ctx', name);
    mkdirSync(dir, { recursive: true });
    const lines = [`FROM ${registry.host}/busybox:latest`, 'ENV STEP=overhead'];
    for (let i = 0; i < count; i++) lines.push(`RUN echo ${i} > /step-${i}.txt`);
    writeFileSync(join(dir, 'Dockerfile'), `${lines.join('\n')}\n`);
  }
  const reps = Number(process.env.BENCH_RUN_REPS ?? 3);
  const totals = { tsbuild: { 'run-0': [], 'run-20': [] }, buildah: { 'run-0': [], 'run-20': [] } };
  const stepDurations = [];
  for (const tool of TOOLS) {
    for (const name of ['run-0', 'run-20']) {
      const dir = join(inputs, 'ctx', name);
      wipe(tool, storeOf(tool, name));
      timedBuild(tool, name, dir, 'pull'); // pulls the base; later builds time the steps only
      for (let i = 0; i < reps; i++) {
        const { seconds, output } = timedBuild(tool, name, dir, 'nocache', ['--no-cache']);
        totals[tool][name].push(seconds);
        if (tool === 'tsbuild' && name === 'run-20') {
          for (const match of output.matchAll(/^#\d+ DONE (\d+\.\d)s$/gm)) stepDurations.push(Number(match[1]));
        }
      }
      wipe(tool, storeOf(tool, name));
    }
  }
  rmSync(join(inputs, 'ctx', 'run-0'), { recursive: true, force: true });
  const result = {};
  for (const tool of TOOLS) {
    result[tool] = { perRunMs: ((median(totals[tool]['run-20']) - median(totals[tool]['run-0'])) / N) * 1000 };
  }
  const precise = await preciseStepTimes(N);
  if (precise) result.tsbuild.stepMedianMs = precise;
  log(`per-RUN overhead: ${TOOLS.map((tool) => `${tool} ${result[tool].perRunMs.toFixed(0)} ms`).join(', ')}${precise ? `, tsbuild step median ${precise.toFixed(0)} ms` : ''}`);
  return result;
}

/** tsbuild's RUN step durations in ms (build events, not the 0.1 s progress lines): median. */
async function preciseStepTimes(N) {
  if (!TOOLS.includes('tsbuild')) return undefined;
  const dir = join(inputs, 'ctx', 'run-20');
  const root = storeOf('tsbuild', 'run-20');
  wipe('tsbuild', root);
  timedBuild('tsbuild', 'run-20', dir, 'pull');
  const script = join(here, 'step-times.mjs');
  const result = run('node', [script, root, dir, String(N)]);
  wipe('tsbuild', root);
  rmSync(dir, { recursive: true, force: true });
  return Number(result.stdout.trim());
}

function renderTable(rows, extras, backingStore) {
  const lines = [];
  lines.push(`Build benchmark, ${new Date().toISOString().slice(0, 16)}Z, stores on ${backingStore}; medians in seconds (min-max), runs per cell in brackets.`);
  lines.push('');
  lines.push('| context | scenario | tsbuild | buildah | ratio | goal | met |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const row of rows) {
    const t = row.tsbuild;
    const b = row.buildah;
    const goal = GOALS[`${row.context}/${row.scenario}`];
    const ratio = t && b ? t.median / b.median : undefined;
    const fmt = (x) => (x ? `${x.median.toFixed(2)} (${x.min.toFixed(2)}-${x.max.toFixed(2)})` : '-');
    lines.push(
      `| ${row.context} | ${row.scenario} [${row.runs}] | ${fmt(t)} | ${fmt(b)} | ${ratio !== undefined ? ratio.toFixed(2) : '-'} | ${goal !== undefined ? `<= ${goal}` : '-'} | ${goal === undefined || ratio === undefined ? '' : ratio <= goal ? 'yes' : 'NO'} |`,
    );
  }
  lines.push('');
  if (extras.run) {
    const r = extras.run;
    lines.push(
      `Per-RUN overhead (a RUN writing one small file): tsbuild ${r.tsbuild ? `${r.tsbuild.perRunMs.toFixed(0)} ms per RUN from build totals, step median ${r.tsbuild.stepMedianMs?.toFixed(0) ?? '-'} ms` : '-'}; buildah ${r.buildah ? `${r.buildah.perRunMs.toFixed(0)} ms` : '-'} (goal: tsbuild median < 100 ms).`,
    );
  }
  if (extras.rss) lines.push(`Peak RSS of tsbuild on many-files: cold build ${extras.rss.coldMB.toFixed(0)} MB, no-op rebuild ${extras.rss.noopMB.toFixed(0)} MB (goal < 200 MB).`);
  return `${lines.join('\n')}\n`;
}

