// Benchmark: `tsbuild push` and `tsbuild pull` of a ~1 GB multi-layer image to and from a loopback docker-registry,
// side by side with `skopeo copy` between the same store's OCI layout and the registry, in the same run. Each tool
// and run gets a fresh registry (nothing is skipped as already there) and a fresh destination for pulls. Reports the
// median wall time of the runs and the peak RSS of each command (python's getrusage around the child).
//
//   npm run build && node bench/registry/cli-push-pull.mjs
//   BENCH_LAYERS=8 BENCH_LAYER_MIB=128 BENCH_RUNS=4 node bench/registry/cli-push-pull.mjs
//   BENCH_DIR=/mnt/tmpfs node bench/registry/cli-push-pull.mjs   (store, layouts and registry data there: steadier than ext4)
//
// The layers are gzip streams (level 0: stored blocks, cheap to make) of random data, so skopeo keeps them as they
// are instead of compressing them; the image is loaded into a tsbuild store from an oci-archive made with tar.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { startRegistry } from './registry.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const TSBUILD = join(here, '..', '..', 'cli', 'bin', 'tsbuild.cjs');
const LAYERS = Number(process.env.BENCH_LAYERS ?? 8);
const LAYER_MIB = Number(process.env.BENCH_LAYER_MIB ?? 128);
const RUNS = Number(process.env.BENCH_RUNS ?? 4); // even: each tool pulls first equally often
const run = promisify(execFile);

/** Writes one gzip (stored blocks) layer of random data into `blobs`; returns its descriptor. */
async function writeLayer(blobs, index) {
  const temp = join(blobs, `tmp-${index}`);
  const hash = createHash('sha256');
  let size = 0;
  const gzip = createGzip({ level: 0 });
  const out = createWriteStream(temp);
  gzip.on('data', (chunk) => {
    hash.update(chunk);
    size += chunk.length;
  });
  gzip.pipe(out);
  for (let i = 0; i < LAYER_MIB; i++) {
    if (!gzip.write(randomBytes(1024 * 1024))) await once(gzip, 'drain');
  }
  gzip.end();
  await once(out, 'finish');
  const digest = `sha256:${hash.digest('hex')}`;
  await rename(temp, join(blobs, digest.slice(7)));
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size };
}

async function writeBlob(blobs, mediaType, bytes) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(join(blobs, digest.slice(7)), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Makes an oci-archive of the bench image (`bench:latest`); returns its path, size and manifest digest. */
async function makeArchive(scratch) {
  const layout = join(scratch, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layers = [];
  for (let i = 0; i < LAYERS; i++) layers.push(await writeLayer(blobs, i));
  // the diff_ids are not checked by push or pull; make them distinct and well formed
  const diffIDs = layers.map((layer) => `sha256:${createHash('sha256').update(`diff ${layer.digest}`).digest('hex')}`);
  const config = await writeBlob(blobs, 'application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIDs }, config: {} })));
  const manifest = await writeBlob(
    blobs,
    'application/vnd.oci.image.manifest.v1+json',
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers })),
  );
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bench:latest' } }] }));
  const archive = join(scratch, 'bench.oci.tar');
  await run('tar', ['-cf', archive, '-C', layout, '.']);
  await rm(layout, { recursive: true, force: true });
  return { archive, bytes: layers.reduce((sum, layer) => sum + layer.size, 0), digest: manifest.digest };
}

const WRAPPER = [
  'import resource, subprocess, sys, time',
  't = time.time()',
  'r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)',
  'd = time.time() - t',
  'sys.stdout.write(r.stdout.decode() + r.stderr.decode())',
  'print("__RUSAGE__ %f %d %d" % (d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode))',
].join('\n');

/** Runs a command under python's getrusage(RUSAGE_CHILDREN): wall seconds, peak RSS (MiB) and output. */
async function measured(command, args, env) {
  const { stdout } = await run('python3', ['-c', WRAPPER, command, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
  const line = stdout.split('\n').find((l) => l.startsWith('__RUSAGE__'));
  const [, seconds, rssKiB, code] = line.split(' ');
  if (code !== '0') throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}`);
  return { seconds: Number(seconds), rssMiB: Number(rssKiB) / 1024, output: stdout.slice(0, stdout.indexOf('__RUSAGE__')) };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const scratch = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'tsbuild-bench-cli-push-pull-'));
const registries = [];
try {
  const env = { ...process.env, HOME: join(scratch, 'home') };
  delete env.REGISTRY_AUTH_FILE;
  delete env.XDG_RUNTIME_DIR;
  await mkdir(env.HOME, { recursive: true });
  const { archive, bytes, digest } = await makeArchive(scratch);
  const root = join(scratch, 'store');
  await run(process.execPath, [TSBUILD, '--root', root, 'load', '-i', archive], { env });
  await rm(archive);
  const tsbuild = (args) => measured(process.execPath, [...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []), TSBUILD, ...args], env);
  const skopeo = (args) => measured('skopeo', ['copy', '-q', ...args], env);

  const results = { tsbuildPush: [], skopeoPush: [], tsbuildPull: [], skopeoPull: [] };
  const digests = new Set();
  for (let i = 0; i < RUNS; i++) {
    const regTs = await startRegistry();
    const regSk = await startRegistry();
    registries.push(regTs, regSk);
    const repo = `bench/app${i}:1`;
    // the store remembers where it pushed blobs; forget it so no run mounts from an earlier one
    await rm(join(root, 'meta', 'blob-sources'), { recursive: true, force: true });
    const order = i % 2 === 0 ? ['ts', 'sk'] : ['sk', 'ts'];
    for (const tool of order) {
      if (tool === 'ts') {
        const push = await tsbuild(['--root', root, 'push', 'bench:latest', `${regTs.host}/${repo}`]);
        digests.add(push.output.split('\n').find((l) => l.startsWith('sha256:')));
        results.tsbuildPush.push(push);
      } else {
        results.skopeoPush.push(await skopeo(['--dest-tls-verify=false', `oci:${join(root, 'oci')}:bench:latest`, `docker://${regSk.host}/${repo}`]));
      }
    }
    // Right after the pushes, ~2 GB of pushed data is still being written back, and a process that touches new
    // memory pays ~5x for it (measured on the 2-core VM: 1 GiB costs ~3 s of system time instead of ~0.6 s; memory
    // freed a few seconds ago is cheap again): the first pull pays for both whichever tool runs it, and with an odd
    // BENCH_RUNS tsbuild pulls first more often. Sync, then touch and free 1.5 GiB, so neither pull does.
    await run('sync');
    await run(process.execPath, ['-e', 'const b = []; for (let i = 0; i < 1536; i++) b.push(Buffer.alloc(1 << 20, 1));']);
    for (const tool of order) {
      const out = join(scratch, `pulled-${tool}-${i}`);
      if (tool === 'ts') results.tsbuildPull.push(await tsbuild(['--root', out, 'pull', `${regTs.host}/${repo}`]));
      else results.skopeoPull.push(await skopeo(['--src-tls-verify=false', `docker://${regSk.host}/${repo}`, `oci:${out}:bench`]));
      await rm(out, { recursive: true, force: true });
    }
    await regTs.stop();
    await regSk.stop();
    registries.length = 0;
  }

  const mib = bytes / 1024 / 1024;
  const summary = (list) => ({ seconds: median(list.map((r) => r.seconds)), rssMiB: Math.max(...list.map((r) => r.rssMiB)) });
  const s = Object.fromEntries(Object.entries(results).map(([key, list]) => [key, summary(list)]));
  const row = (name, r, ratioTo) =>
    `| ${name.padEnd(13)} | ${r.seconds.toFixed(2).padStart(6)} s | ${(mib / r.seconds).toFixed(0).padStart(5)} MiB/s | ${r.rssMiB.toFixed(0).padStart(5)} MiB | ${ratioTo ? (r.seconds / ratioTo.seconds).toFixed(2).padStart(5) : '     '} |`;
  console.log(`image: ${LAYERS} layers, ${mib.toFixed(0)} MiB, manifest ${digest}; ${RUNS} runs, median time, peak RSS of any run`);
  console.log(`tsbuild pushed ${[...digests].join(', ')} (${digests.size === 1 && digests.has(digest) ? 'the same manifest digest' : 'DIFFERENT digest'})`);
  console.log('| command       |   time   |  throughput |  peak RSS | ratio |');
  console.log('| ------------- | -------- | ----------- | --------- | ----- |');
  console.log(row('tsbuild push', s.tsbuildPush, s.skopeoPush));
  console.log(row('skopeo push', s.skopeoPush));
  console.log(row('tsbuild pull', s.tsbuildPull, s.skopeoPull));
  console.log(row('skopeo pull', s.skopeoPull));
  console.log(`runs (s): ${Object.entries(results).map(([k, list]) => `${k} ${list.map((r) => r.seconds.toFixed(2)).join('/')}`).join('; ')}`);
} finally {
  for (const registry of registries) await registry.stop();
  await rm(scratch, { recursive: true, force: true });
}
