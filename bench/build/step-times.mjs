// Helper of build.mjs: builds CONTEXT with --no-cache into the tsbuild store ROOT (the base image is already there)
// through the library, a few times, and prints the median duration in ms of the RUN steps (mount, namespaces, the
// command, diff, layer, commit), from the build's own step events.
//
//   node bench/build/step-times.mjs ROOT CONTEXT [expected RUN steps]
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const load = (pkg) => import(pathToFileURL(join(here, `../../packages/${pkg}/dist/index.js`)).href);
const [{ buildImage }, { ImageStore }] = await Promise.all([load('builder'), load('image')]);

const [root, context, expected] = process.argv.slice(2);
const store = await ImageStore.open(root);
const durations = [];
for (let rep = 0; rep < Number(process.env.BENCH_RUN_REPS ?? 3); rep++) {
  const runSteps = new Set();
  await buildImage({
    store,
    context,
    tags: ['bench/run-steps:latest'],
    noCache: true,
    pull: 'never',
    onEvent: (event) => {
      if (event.type === 'step-start' && event.text.startsWith('RUN ')) runSteps.add(event.step);
      if (event.type === 'step-done' && runSteps.has(event.step)) durations.push(event.durationMs);
    },
  });
  if (expected !== undefined && runSteps.size !== Number(expected)) throw new Error(`expected ${expected} RUN steps, saw ${runSteps.size}`);
}
durations.sort((a, b) => a - b);
console.log(durations[Math.floor(durations.length / 2)]);
