// One tsbuild side of the benchmark, in its own process so its peak RSS is its own:
//   node tsbuild-worker.mjs push LAYOUT_DIR TAG HOST/REPO:TAG
//   node tsbuild-worker.mjs pull HOST/REPO:TAG OUT_LAYOUT_DIR TAG
// Prints one JSON line: { seconds, maxRssMiB }.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseReference } from '@tsbuild/oci';
import { RegistryClient, resolveImage } from '@tsbuild/registry-client';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);

async function eachLimited(items, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const blobPath = (dir, digest) => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));

async function push(layout, tag, target) {
  const ref = parseReference(target);
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  const top = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  const manifestBytes = await readFile(blobPath(layout, top.digest));
  const manifest = JSON.parse(manifestBytes.toString('utf8'));
  const client = new RegistryClient({
    registry: ref.domain,
    ...(process.env.BENCH_MONOLITHIC_MIB ? { monolithicThreshold: Number(process.env.BENCH_MONOLITHIC_MIB) * 1024 * 1024 } : {}),
    ...(process.env.BENCH_CHUNK_MIB ? { chunkSize: Number(process.env.BENCH_CHUNK_MIB) * 1024 * 1024 } : {}),
  });
  try {
    await eachLimited([manifest.config, ...manifest.layers], CONCURRENCY, (blob) =>
      client.uploadBlob(ref.path, blob, () => createReadStream(blobPath(layout, blob.digest), { highWaterMark: 1024 * 1024 })),
    );
    await client.putManifest(ref.path, ref.tag, manifestBytes, top.mediaType);
  } finally {
    await client.close();
  }
}

async function pull(source, out, tag) {
  const ref = parseReference(source);
  const client = new RegistryClient({ registry: ref.domain });
  try {
    const image = await resolveImage(client, ref);
    await mkdir(join(out, 'blobs', 'sha256'), { recursive: true });
    await eachLimited([image.parsed.config, ...image.parsed.layers], CONCURRENCY, async (blob) => {
      const final = blobPath(out, blob.digest);
      await pipeline(client.getBlob(ref.path, blob), createWriteStream(`${final}.partial`));
      await rename(`${final}.partial`, final);
    });
    await writeFile(blobPath(out, image.manifest.digest), image.manifest.bytes);
    await writeFile(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const entry = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.bytes.length, annotations: { 'org.opencontainers.image.ref.name': tag } };
    await writeFile(join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  } finally {
    await client.close();
  }
}

const [mode, a, b, c] = process.argv.slice(2);
const started = process.hrtime.bigint();
if (mode === 'push') await push(a, b, c);
else if (mode === 'pull') await pull(a, b, c);
else throw new Error(`unknown mode ${mode}`);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
