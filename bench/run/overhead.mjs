// Benchmark: the fixed cost of one sandboxed RUN (overlay mount, namespaces, /dev, /proc, /sys, binds, tini,
// the command, teardown and removal of the run dir), as root.
//
//   npx tsc -b packages/builder && node bench/run/overhead.mjs
//   BENCH_REPS=100 BENCH_LOWERS=150 node bench/run/overhead.mjs
//
// Cases (each a fresh upper/work dir; the wall time of one `runInSnapshot` call, median / p90 / min; the cases
// take turns, so load from elsewhere on the machine hits them alike):
//   true, 1 lower              ['true'] on a busybox root file system (Debian's busybox-static)
//   true, N lowers             the same under N extra one-file lower dirs (BENCH_LOWERS, default 150)
//   one small file, as a user  sh -c 'echo x > /tmp/f' as USER app, network none
//   floor: unshare + true      `unshare --mount --pid --fork true`: the namespaces alone, no mounts (what no
//                              sandbox can go below)
// One call of each case (the first locates the host tools, once per process) is a warm-up and not counted.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { runInSnapshot } = await import(pathToFileURL(join(here, '../../packages/builder/dist/run/index.js')).href);

const REPS = Number(process.env.BENCH_REPS ?? 50);
const LOWERS = Number(process.env.BENCH_LOWERS ?? 150);

const base = mkdtempSync(join(tmpdir(), 'tsbuild-bench-run-'));
try {
  const rootfs = join(base, 'rootfs');
  makeBusyboxRootfs(rootfs);
  const lowers = Array.from({ length: LOWERS }, (_, index) => {
    const dir = join(base, 'layers', String(index));
    mkdirSync(join(dir, 'layers'), { recursive: true });
    writeFileSync(join(dir, 'layers', String(index)), `${index}\n`);
    return dir;
  });

  let run = 0;
  const sandboxed = (command, lowerDirs, extra = {}) => async () => {
    run += 1;
    const upperDir = join(base, `run-${run}`, 'upper');
    const workDir = join(base, `run-${run}`, 'work');
    mkdirSync(upperDir, { recursive: true });
    mkdirSync(workDir);
    const started = performance.now();
    const result = await runInSnapshot({ lowerDirs, upperDir, workDir, command, env: [], ...extra });
    const elapsed = performance.now() - started;
    if (result.exitCode !== 0) throw new Error(`${command.join(' ')} exited ${result.exitCode}`);
    rmSync(join(base, `run-${run}`), { recursive: true, force: true });
    return elapsed;
  };
  const floor = async () => {
    const started = performance.now();
    await new Promise((resolve, reject) => {
      const child = spawn('unshare', ['--mount', '--pid', '--fork', 'true'], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`unshare exited ${code}`))));
    });
    return performance.now() - started;
  };

  const cases = [
    ['true, 1 lower', sandboxed(['true'], [rootfs])],
    [`true, ${LOWERS + 1} lowers`, sandboxed(['true'], [...lowers, rootfs])],
    ['one small file, as a user', sandboxed(['sh', '-c', 'echo x > /tmp/f'], [rootfs], { user: 'app', network: 'none' })],
    ['floor: unshare + true', floor],
  ];
  execFileSync('sync'); // the fixture's own writeback must not land in the timings
  for (const [, once] of cases) await once(); // warm-up: locates the host tools once, fills caches
  console.log(`RUN overhead, ${REPS} runs each (ms)`);
  console.log('case'.padEnd(32), 'median'.padStart(8), 'p90'.padStart(8), 'min'.padStart(8));
  // interleaved, so a burst of load from elsewhere on the machine hits every case alike
  const times = cases.map(() => []);
  for (let index = 0; index < REPS; index += 1) {
    for (const [position, [, once]] of cases.entries()) times[position].push(await once());
  }
  for (const [position, [name]] of cases.entries()) {
    const sorted = times[position].sort((a, b) => a - b);
    const at = (fraction) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
    console.log(name.padEnd(32), at(0.5).toFixed(1).padStart(8), at(0.9).toFixed(1).padStart(8), sorted[0].toFixed(1).padStart(8));
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}

/** A busybox root file system from Debian's busybox-static, with a user `app` (1000:1000). */
function makeBusyboxRootfs(root) {
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  const applets = execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    mkdirSync(join(root, dirname(applet)), { recursive: true });
    symlinkSync('/bin/busybox', join(root, applet));
  }
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
  mkdirSync(join(root, 'tmp'));
  chmodSync(join(root, 'tmp'), 0o1777);
}
