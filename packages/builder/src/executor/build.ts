import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  MediaType,
  parseDigest,
  sha256Digest,
  type Compression,
  type Digest,
  type ImageManifest,
  type Platform,
} from '@tsbuild/oci';
import { ImageNotFoundError, storeName, type HeldLock, type ImageStore } from '@tsbuild/image';
import { parseDockerfile, planStages, type PlannedStage, type StageSource } from '../dockerfile/index.js';
import { CopyRunner } from './copy-runner.js';
import { BuildError, type ErrorLocation } from './errors.js';
import type { BuildEventHandler } from './events.js';
import { configBytes, configFromBase, scratchConfig } from './image-config.js';
import { Snapshots } from './snapshots.js';
import { layerDescriptorFor, StageExecutor, type CopyStepRunner, type StageContext, type StageResult } from './stage.js';
import { StepCache, stepKey } from './step-cache.js';

/** When to pull a base image from its registry. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** Options of {@link buildImage}. */
export interface BuildOptions {
  /** The store the base images come from and the image goes to. */
  readonly store: ImageStore;
  /** The build context directory (read in place). */
  readonly context: string;
  /** Path of the Dockerfile (default `<context>/Dockerfile`); it may be outside the context. */
  readonly dockerfile?: string;
  /** The Dockerfile's text, when it does not come from a file (`-f -`). */
  readonly dockerfileText?: string;
  /** Names to give the image (`-t`). */
  readonly tags?: readonly string[];
  /** `--build-arg` values. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** The stage to build (`--target`). */
  readonly target?: string;
  /** Ignore the step cache (`--no-cache`). */
  readonly noCache?: boolean;
  /** When to pull base images (default `missing`). */
  readonly pull?: PullPolicy;
  /** Network of RUN steps (default `host`). */
  readonly network?: 'host' | 'none';
  /** Labels added to the image (`--label`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Manifest and media types: OCI (default) or Docker schema 2. */
  readonly format?: 'oci' | 'docker';
  /** Target platform (default the host's). */
  readonly platform?: string;
  /** Layer compression (default gzip). */
  readonly compression?: Compression;
  /** SOURCE_DATE_EPOCH: timestamps of new history entries and a clamp for file mtimes in new layers. */
  readonly sourceDateEpoch?: number;
  /** Pulls a base image into the store (the registry client lives outside this package). */
  readonly pullImage?: (reference: string, options: { platform: Platform; signal?: AbortSignal }) => Promise<void>;
  /** The COPY/ADD engine (default: {@link CopyRunner} over the context). */
  readonly copy?: CopyStepRunner;
  readonly onEvent?: BuildEventHandler;
  readonly signal?: AbortSignal;
}

/** What a build made. */
export interface BuildResult {
  /** The image ID (config digest). */
  readonly id: Digest;
  readonly manifestDigest: Digest;
  /** The names it was tagged with. */
  readonly names: readonly string[];
}

/** Reads the Dockerfile from its file or the given text. */
async function readDockerfile(options: BuildOptions): Promise<{ text: string; name: string }> {
  if (options.dockerfileText !== undefined) return { text: options.dockerfileText, name: 'Dockerfile' };
  const path = options.dockerfile ?? resolve(options.context, 'Dockerfile');
  try {
    return { text: await readFile(path, 'utf8'), name: options.dockerfile ?? 'Dockerfile' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BuildError(undefined, `cannot read the Dockerfile ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/**
 * Builds a Dockerfile into the store: parses and plans it, runs the stages the target needs (unused ones are
 * skipped) step by step with the step cache, and commits the target stage as an image with the given names.
 * Nothing is tagged unless every step succeeds.
 */
export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  // the shared garbage-collection lock: `tsbuild prune` cannot remove a layer this build wrote before it is tagged.
  // Asked for at once (taking it starts a short child process) and awaited before the first stage runs.
  const gcLock = options.store.lockForWriting();
  gcLock.catch(() => undefined);
  try {
    return await buildHoldingLock(options, gcLock);
  } finally {
    await gcLock.then((lock) => lock.release(), () => undefined);
  }
}

async function buildHoldingLock(options: BuildOptions, gcLock: Promise<HeldLock>): Promise<BuildResult> {
  const started = Date.now();
  const onEvent: BuildEventHandler = options.onEvent ?? (() => undefined);
  const names = (options.tags ?? []).map((tag) => storeName(tag));
  const { text, name } = await readDockerfile(options);
  const dockerfile = parseDockerfile(text, { filename: name });
  const plan = planStages(dockerfile, {
    ...(options.target !== undefined ? { target: options.target } : {}),
    buildArgs: options.buildArgs ?? {},
    ...(options.platform !== undefined ? { platform: options.platform } : {}),
  });
  for (const warning of plan.warnings) onEvent({ type: 'warning', message: warning });
  const label = (stage: PlannedStage): string => stage.name ?? `stage-${stage.index}`;
  let totalSteps = plan.order.reduce((sum, stage) => sum + stage.stage.instructions.length + 1, 0);
  onEvent({ type: 'plan', stages: plan.order.map(label), skipped: plan.skipped.map((i) => label(plan.stages[i]!)), steps: totalSteps });

  const store = options.store;
  const snapshots = new Snapshots(store.snapshotsDir);
  await snapshots.init();
  const cache = new StepCache(store.cacheDir);
  const epoch = options.sourceDateEpoch;
  const copyRunner =
    options.copy ??
    new CopyRunner({
      contextDir: options.context,
      ...(options.dockerfile !== undefined ? { dockerfile: options.dockerfile } : {}),
      cacheDir: join(store.cacheDir, 'checksums'),
      tmpDir: store.tmpDir,
    });
  let step = 0;
  const results = new Map<number, StageResult>();
  const images = new Map<string, Promise<StageResult>>();

  const imageResult = (reference: string, platform: Platform, instruction: ErrorLocation): Promise<StageResult> => {
    let pending = images.get(reference);
    if (!pending) {
      pending = resolveBaseImage(options, reference, platform, instruction, onEvent);
      images.set(reference, pending);
    }
    return pending;
  };

  const context: StageContext = {
    store,
    snapshots,
    cache,
    dockerfile,
    plan,
    layerFormat: {
      compression: options.compression ?? 'gzip',
      mediaTypeFlavour: options.format === 'docker' ? 'docker' : 'oci',
      ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
    },
    network: options.network ?? 'host',
    noCache: options.noCache === true,
    onEvent,
    signal: options.signal,
    now: () => (epoch !== undefined ? new Date(epoch * 1000) : new Date()).toISOString(),
    nextStep: () => ++step,
    get totalSteps() {
      return totalSteps;
    },
    addSteps: (count: number) => {
      totalSteps += count;
    },
    copy: copyRunner,
    resolveSource: async (source: StageSource, instruction?: ErrorLocation) => {
      if (source.kind === 'stage') {
        const result = results.get(source.index);
        if (!result) throw new BuildError(undefined, `stage ${source.index} has not been built`);
        return result;
      }
      return imageResult(source.reference, plan.platform, instruction ?? plan.target.stage.from);
    },
    lowerDirsOf: (result: StageResult) =>
      snapshots.ensure(
        result.layers.map((layer) => ({ descriptor: layer.descriptor, diffID: layer.diffID, open: async () => store.layout.openBlob(layer.descriptor) })),
        options.signal,
      ),
  };

  await gcLock;
  try {
    for (const planned of plan.order) await runStage(planned);
  } finally {
    if (copyRunner instanceof CopyRunner) await copyRunner.cleanup();
  }
  const target = results.get(plan.target.index)!;
  const committed = await commitImage(store, target, names, options);
  onEvent({ type: 'image', id: committed.id, manifestDigest: committed.manifestDigest, names, durationMs: Date.now() - started });
  return { ...committed, names };

  async function runStage(planned: PlannedStage): Promise<void> {
    options.signal?.throwIfAborted();
    const fromStep = ++step;
    const fromStarted = Date.now();
    onEvent({ type: 'step-start', step: fromStep, total: totalSteps, stage: label(planned), text: planned.stage.from.original });
    let base: StageResult;
    if (planned.base.kind === 'scratch') {
      base = { config: scratchConfig(planned.platform), layers: [], cacheKey: stepKey('', { from: 'scratch', platform: planned.platform }) };
    } else if (planned.base.kind === 'stage') {
      const result = results.get(planned.base.index);
      if (!result) throw new BuildError(planned.stage.from, `stage ${planned.base.index} has not been built`);
      base = result;
    } else {
      base = await imageResult(planned.base.reference, planned.platform, planned.stage.from);
    }
    onEvent({ type: 'step-done', step: fromStep, cached: false, durationMs: Date.now() - fromStarted });
    const executor = new StageExecutor(context, planned, base);
    results.set(planned.index, await executor.run());
  }
}

/** Finds a base image in the store (pulling it when the policy says so) and opens it as a stage start. */
async function resolveBaseImage(
  options: BuildOptions,
  reference: string,
  platform: Platform,
  instruction: ErrorLocation,
  onEvent: BuildEventHandler,
): Promise<StageResult> {
  const store = options.store;
  const policy = options.pull ?? 'missing';
  const pull = async (): Promise<void> => {
    if (!options.pullImage) throw new BuildError(instruction, `image ${reference} is not in the local store and pulling is not available`);
    onEvent({ type: 'base', reference, state: 'pull' });
    await options.pullImage(reference, { platform, ...(options.signal ? { signal: options.signal } : {}) });
  };
  if (policy === 'always') await pull();
  let found;
  try {
    found = await store.findImage(reference);
  } catch (err) {
    if (!(err instanceof ImageNotFoundError)) throw new BuildError(instruction, (err as Error).message, { cause: err });
    if (policy === 'never') throw new BuildError(instruction, `image ${reference} is not in the local store (pulling is turned off)`);
    await pull();
    found = await store.findImage(reference).catch((e: unknown) => {
      throw new BuildError(instruction, (e as Error).message, { cause: e });
    });
  }
  const image = await store.imageFromDescriptor(found.manifest);
  const config = configFromBase(image.configBytes);
  if (config.architecture !== platform.architecture || config.os !== platform.os) {
    onEvent({ type: 'warning', message: `${reference} is ${config.os}/${config.architecture}, not the target ${platform.os}/${platform.architecture}` });
  }
  onEvent({ type: 'base', reference, state: 'ready' });
  return {
    config,
    layers: image.layers.map((layer) => ({ descriptor: layer.descriptor, diffID: layer.diffID })),
    cacheKey: stepKey('', { from: image.manifest.digest }),
  };
}

/** Writes the target stage's config and manifest to the store and gives the image its names. */
async function commitImage(store: ImageStore, result: StageResult, names: readonly string[], options: BuildOptions): Promise<{ id: Digest; manifestDigest: Digest }> {
  const config = structuredClone(result.config);
  if (options.labels && Object.keys(options.labels).length > 0) config.config.Labels = { ...(config.config.Labels ?? {}), ...options.labels };
  const lastCreated = config.history.at(-1)?.created;
  if (lastCreated !== undefined) config.created = lastCreated;
  const docker = options.format === 'docker';
  const bytes = configBytes(config);
  const configDigest = sha256Digest(bytes);
  await store.layout.putBlobBytes(bytes, configDigest);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
    config: { mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: configDigest, size: bytes.length },
    layers: result.layers.map((layer) => layerDescriptorFor(layer.descriptor, docker ? 'docker' : 'oci')),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = sha256Digest(manifestBytes);
  await store.addImage({ bytes: manifestBytes, digest: manifestDigest, mediaType: manifest.mediaType! }, names);
  return { id: parseDigest(configDigest), manifestDigest };
}
