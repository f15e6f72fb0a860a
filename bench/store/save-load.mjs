// Benchmark: `tsbuild save` and `tsbuild load` of a ~1 GB multi-layer image, side by side with `skopeo copy`
// between the same formats in the same run, with wall time (median of N) and peak RSS of each command.
//
//   npm run build && node bench/store/save-load.mjs
//   BENCH_RUNS=5 BENCH_DIR=/mnt/fast node bench/store/save-load.mjs
//   BENCH_TMPFS=1 node bench/store/save-load.mjs      (as root: everything on a fresh tmpfs, steadier)
//
// The image: 4 layers, ~1 GB uncompressed: 20,000 small text files (~150 MB), a 500 MB text-like file, 300 MB of
// random bytes, and a small layer. Inputs are a docker-archive (uncompressed layers, as `docker save` writes) and an
// oci-archive (gzip layers, made once with skopeo). skopeo copies into an OCI layout directory, the same kind of
// store tsbuild keeps.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const TSBUILD = fileURLToPath(new URL('../../cli/bin/tsbuild', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Runs a command under python's getrusage to measure its peak RSS; returns seconds and MiB. */
async function measure(argv) {
  const wrapper = [
    'import resource, subprocess, sys, time',
    't = time.monotonic()',
    'p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)',
    'e = time.monotonic() - t',
    'print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)',
  ].join('\n');
  const { stdout } = await exec('python3', ['-c', wrapper, ...argv], { maxBuffer: 1 << 20 });
  const [seconds, rssKiB, code] = stdout.trim().split(' ').map(Number);
  if (code !== 0) throw new Error(`${argv.join(' ')} exited with ${code}`);
  return { seconds, rssMiB: rssKiB / 1024 };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Deterministic text-like bytes (compress to roughly 40 %, like source trees). */
function textBlock(seed, size) {
  const words = ['const', 'function', 'return', 'import', 'export', 'value', 'index', 'layer', 'image', 'build', '{', '}', '(', ')', ';', '\n'];
  let state = seed >>> 0;
  const parts = [];
  let length = 0;
  while (length < size) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const word = words[state % words.length] + (state % 7 === 0 ? String(state % 1000) : '') + ' ';
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

async function writeBig(path, mib, kind, seed) {
  const out = createWriteStream(path);
  for (let i = 0; i < mib; i++) {
    const block = kind === 'random' ? (await import('node:crypto')).randomBytes(1 << 20) : textBlock(seed + i, 1 << 20);
    if (!out.write(block)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

async function makeImage(work) {
  const layers = [];
  const small = join(work, 'l1');
  for (let d = 0; d < 200; d++) {
    await mkdir(join(small, `pkg${d}`, 'lib'), { recursive: true });
    for (let f = 0; f < 100; f++) await writeFile(join(small, `pkg${d}`, 'lib', `f${f}.js`), textBlock(d * 1000 + f, 7500));
  }
  layers.push(small);
  const text = join(work, 'l2');
  await mkdir(text);
  await writeBig(join(text, 'data.txt'), 500, 'text', 7);
  layers.push(text);
  const random = join(work, 'l3');
  await mkdir(random);
  await writeBig(join(random, 'random.bin'), 300, 'random', 0);
  layers.push(random);
  const tiny = join(work, 'l4');
  await mkdir(tiny);
  await writeFile(join(tiny, 'hello'), 'hello\n');
  layers.push(tiny);

  const stage = join(work, 'stage');
  await mkdir(stage);
  const diffIDs = [];
  for (const [i, dir] of layers.entries()) {
    const tar = join(work, `layer${i}.tar`);
    await exec('tar', ['--sort=name', '--numeric-owner', '--mtime=@0', '-cf', tar, '-C', dir, '.']);
    const hash = createHash('sha256');
    for await (const chunk of (await import('node:fs')).createReadStream(tar)) hash.update(chunk);
    const diffID = `sha256:${hash.digest('hex')}`;
    await exec('mv', [tar, join(stage, `${diffID.slice(7)}.tar`)]);
    diffIDs.push(diffID);
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIDs } }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  await writeFile(join(stage, configName), config);
  await writeFile(join(stage, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: ['bench:1'], Layers: diffIDs.map((d) => `${d.slice(7)}.tar`) }]));
  const dockerArchive = join(work, 'bench.docker.tar');
  await exec('tar', ['-cf', dockerArchive, '-C', stage, '.']);
  await rm(stage, { recursive: true });
  for (const dir of layers) await rm(dir, { recursive: true });
  const ociArchive = join(work, 'bench.oci.tar');
  await exec('skopeo', ['copy', '-q', '--dest-compress', `docker-archive:${dockerArchive}`, `oci-archive:${ociArchive}:bench:1`], { maxBuffer: 1 << 24 });
  return { dockerArchive, ociArchive };
}

async function main() {
  let base = process.env.BENCH_DIR ? resolve(process.env.BENCH_DIR) : tmpdir();
  let tmpfs;
  if (process.env.BENCH_TMPFS) {
    tmpfs = await mkdtemp(join(tmpdir(), 'tsbuild-bench-tmpfs-'));
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=12g', 'tmpfs', tmpfs]);
    base = tmpfs;
  }
  const work = await mkdtemp(join(base, 'tsbuild-bench-save-load-'));
  try {
    console.error(`making the image in ${work} ...`);
    const { dockerArchive, ociArchive } = await makeImage(work);
    const sizes = { docker: (await exec('stat', ['-c', '%s', dockerArchive])).stdout.trim(), oci: (await exec('stat', ['-c', '%s', ociArchive])).stdout.trim() };
    console.error(`docker-archive ${(sizes.docker / 1e6).toFixed(0)} MB, oci-archive (gzip) ${(sizes.oci / 1e6).toFixed(0)} MB`);

    // A store holding the gzip image (for the save benchmarks).
    const savedStore = join(work, 'store-gzip');
    await exec(TSBUILD, ['--root', savedStore, 'load', '-i', ociArchive]);

    const scenarios = [
      {
        name: 'load docker-archive',
        tsbuild: (i) => [TSBUILD, '--root', join(work, `s-ld-${i}`), 'load', '-i', dockerArchive],
        skopeo: (i) => ['skopeo', 'copy', '-q', `docker-archive:${dockerArchive}`, `oci:${join(work, `k-ld-${i}`)}:bench:1`],
      },
      {
        name: 'load oci-archive (gzip)',
        tsbuild: (i) => [TSBUILD, '--root', join(work, `s-lo-${i}`), 'load', '-i', ociArchive],
        skopeo: (i) => ['skopeo', 'copy', '-q', `oci-archive:${ociArchive}`, `oci:${join(work, `k-lo-${i}`)}:bench:1`],
      },
      {
        name: 'save docker-archive (gunzip)',
        tsbuild: (i) => [TSBUILD, '--root', savedStore, 'save', '-o', join(work, `s-sd-${i}.tar`), 'bench:1'],
        skopeo: (i) => ['skopeo', 'copy', '-q', `oci:${join(savedStore, 'oci')}:bench:1`, `docker-archive:${join(work, `k-sd-${i}.tar`)}:bench:1`],
      },
      {
        name: 'save oci-archive',
        tsbuild: (i) => [TSBUILD, '--root', savedStore, 'save', '--format', 'oci-archive', '-o', join(work, `s-so-${i}.tar`), 'bench:1'],
        skopeo: (i) => ['skopeo', 'copy', '-q', `oci:${join(savedStore, 'oci')}:bench:1`, `oci-archive:${join(work, `k-so-${i}.tar`)}:bench:1`],
      },
    ];
    const rows = [];
    for (const scenario of scenarios) {
      const results = { tsbuild: [], skopeo: [] };
      for (let i = 0; i < RUNS; i++) {
        // alternate who goes first so page-cache warmth does not favour one tool
        const order = i % 2 === 0 ? ['tsbuild', 'skopeo'] : ['skopeo', 'tsbuild'];
        for (const tool of order) {
          await exec('sync');
          results[tool].push(await measure(scenario[tool](i)));
        }
        await exec('sh', ['-c', `rm -rf ${work}/s-l* ${work}/k-l* ${work}/s-s* ${work}/k-s*`]);
      }
      const t = median(results.tsbuild.map((r) => r.seconds));
      const k = median(results.skopeo.map((r) => r.seconds));
      rows.push({
        scenario: scenario.name,
        tsbuild: t,
        skopeo: k,
        ratio: t / k,
        rssTsbuild: Math.max(...results.tsbuild.map((r) => r.rssMiB)),
        rssSkopeo: Math.max(...results.skopeo.map((r) => r.rssMiB)),
      });
      console.error(`${scenario.name}: tsbuild ${t.toFixed(2)} s, skopeo ${k.toFixed(2)} s`);
    }
    console.log(`\nsave/load of a ${(sizes.docker / 1e9).toFixed(2)} GB 4-layer image, median of ${RUNS}, storage ${tmpfs ? 'tmpfs' : base}`);
    console.log('| scenario | tsbuild s | skopeo copy s | ratio (≤ 1.0 is the goal) | peak RSS tsbuild MiB | peak RSS skopeo MiB |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      console.log(`| ${r.scenario} | ${r.tsbuild.toFixed(2)} | ${r.skopeo.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.rssTsbuild.toFixed(0)} | ${r.rssSkopeo.toFixed(0)} |`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    if (tmpfs) {
      await exec('umount', [tmpfs]);
      await rm(tmpfs, { recursive: true, force: true });
    }
  }
}

await main();
