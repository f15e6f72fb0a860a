import { describe, expect, it } from 'vitest';
import { fastChecks } from './fast-checks.js';
import { ImageManifestSchema, zodSchemas, type Schemas } from './schemas.js';

const D = `sha256:${'c'.repeat(64)}`;
const descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 10, annotations: { a: 'b' }, urls: ['http://x'], platform: { os: 'linux', architecture: 'arm64', variant: 'v8', features: ['f'] } };

/** One valid document per schema, with every optional field present. */
const samples: { [K in keyof Schemas]: unknown } = {
  PlatformSchema: { os: 'linux', architecture: 'amd64', 'os.version': '1', 'os.features': ['x'], variant: 'v1', features: [] },
  DescriptorSchema: descriptor,
  ImageManifestSchema: { schemaVersion: 2, mediaType: 'm', artifactType: 'a', config: descriptor, layers: [descriptor, descriptor], subject: descriptor, annotations: { k: 'v' } },
  ImageIndexSchema: { schemaVersion: 2, mediaType: 'm', manifests: [descriptor], annotations: {} },
  HealthcheckSchema: { Test: ['CMD', 'true'], Interval: 1, Timeout: 2, StartPeriod: 3, StartInterval: 4, Retries: 5 },
  ContainerConfigSchema: {
    User: 'app', ExposedPorts: { '80/tcp': {} }, Env: ['A=1'], Entrypoint: ['sh'], Cmd: null, Volumes: { '/v': {} }, WorkingDir: '/', Labels: { l: 'v' },
    StopSignal: 'SIGTERM', ArgsEscaped: true, Healthcheck: { Test: ['NONE'] }, OnBuild: ['RUN x'], Shell: ['/bin/sh', '-c'],
  },
  HistorySchema: { created: 'now', created_by: 'RUN x', author: 'me', comment: 'c', empty_layer: true },
  ImageConfigSchema: {
    created: 'now', author: 'me', architecture: 'amd64', os: 'linux', 'os.version': 'v', 'os.features': [], variant: 'v',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'], Healthcheck: null }, rootfs: { type: 'layers', diff_ids: [D, D] },
    history: [{ created_by: 'x' }, { empty_layer: false }],
  },
  OciLayoutSchema: { imageLayoutVersion: '1.0.0' },
  DockerArchiveEntrySchema: { Config: 'c.json', RepoTags: ['a:1'], Layers: ['l.tar'], LayerSources: { [D]: descriptor } },
  DockerArchiveManifestSchema: [{ Config: 'c.json', RepoTags: null, Layers: [] }],
};

const replacements: unknown[] = [null, undefined, 0, -1, 1.5, 2, 2 ** 60, '', 'x', D, 'sha256:', true, false, [], ['x'], [1], {}, { a: 'b' }, { a: 1 }];

/** A small seeded generator, so a failure is reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Every path (as keys) to a value inside a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const result: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => result.push(...paths(item, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) for (const [key, item] of Object.entries(value)) result.push(...paths(item, [...prefix, key]));
  return result;
}

/** A copy of `value` with the thing at `path` replaced (or deleted, for undefined). */
function mutate(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

describe('the fast structural checks', () => {
  for (const name of Object.keys(samples) as (keyof Schemas)[]) {
    it(`agree with zod on ${name}, for the sample and 1500 mutations of it`, () => {
      const schema = zodSchemas()[name];
      const check = fastChecks[name];
      const sample = samples[name];
      expect(check(sample)).toBe(true);
      expect(schema.safeParse(sample).success).toBe(true);
      const next = random(name.length * 7919);
      const all = paths(sample);
      let invalid = 0;
      for (let i = 0; i < 1500; i++) {
        const path = all[Math.floor(next() * all.length)]!;
        const replacement = replacements[Math.floor(next() * replacements.length)];
        const mutated = mutate(sample, path, replacement);
        const zodSays = schema.safeParse(mutated).success;
        if (check(mutated) !== zodSays) throw new Error(`${name}: at ${JSON.stringify(path)} = ${JSON.stringify(replacement)}: zod says ${zodSays}`);
        if (!zodSays) invalid++;
      }
      expect(invalid).toBeGreaterThan(100);
    });
  }

  it('give zod errors when a document is invalid', () => {
    const result = ImageManifestSchema.safeParse({ schemaVersion: 2, config: descriptor, layers: [{ digest: D }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['layers', 0, 'mediaType']);
  });
});
