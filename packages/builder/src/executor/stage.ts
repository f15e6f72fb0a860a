import { Writable } from 'node:stream';
import { layerCompression, layerMediaType, parseDigest, type Descriptor, type Digest } from '@tsbuild/oci';
import type { ImageStore } from '@tsbuild/image';
import {
  expandInstruction,
  parseInstruction,
  resolveRunCommand,
  StageArgs,
  type ArgInstruction,
  type BuildPlan,
  type Dockerfile,
  type Instruction,
  type PlannedStage,
  type RunInstruction,
  type StageInstruction,
  type StageSource,
} from '../dockerfile/index.js';
import { SCRIPT_PATH } from '../run/sandbox-script.js';
import { chainIDs } from './chain.js';
import { BuildError, type ErrorLocation } from './errors.js';
import type { BuildEventHandler } from './events.js';
import { envMap, type MutableConfig } from './image-config.js';
import { mountPointsToExclude, removeExcluded, upperHasChanges, writeLayerToStore, type LayerFormat } from './layer-writer.js';
import { applyMetadata, shellOf, type MetadataInstruction, type MetadataState } from './metadata.js';
import type { Snapshots } from './snapshots.js';
import { stepKey, type StepCache, type StepRecord } from './step-cache.js';

/** A layer of the image being built: its descriptor (blob in the store) and diffID. */
export interface BuiltLayer {
  readonly descriptor: Descriptor;
  readonly diffID: Digest;
}

/** The state of a stage after its last instruction: what `FROM <stage>` and `COPY --from` start from. */
export interface StageResult {
  readonly config: MutableConfig;
  readonly layers: readonly BuiltLayer[];
  readonly cacheKey: string;
}

/** What a stage needs from the build that runs it. */
export interface StageContext {
  readonly store: ImageStore;
  readonly snapshots: Snapshots;
  readonly cache: StepCache;
  readonly dockerfile: Dockerfile;
  readonly plan: BuildPlan;
  readonly layerFormat: LayerFormat;
  readonly network: 'host' | 'none';
  readonly noCache: boolean;
  readonly onEvent: BuildEventHandler;
  readonly signal: AbortSignal | undefined;
  /** The build's timestamp for new history entries (SOURCE_DATE_EPOCH when given). */
  readonly now: () => string;
  /** Numbers steps across stages. */
  readonly nextStep: () => number;
  readonly totalSteps: number;
  /** Counts steps the plan could not know of (a base image's ONBUILD triggers). */
  readonly addSteps: (count: number) => void;
  /** Runs COPY and ADD (the copy engine). */
  readonly copy: CopyStepRunner;
  /** The result of an earlier stage, or of an image (pulled if needed), for `COPY --from`. */
  readonly resolveSource: (source: StageSource, instruction?: ErrorLocation) => Promise<StageResult>;
  /** The lower dirs (top first) of a stage result, extracting snapshots as needed. */
  readonly lowerDirsOf: (result: StageResult) => Promise<string[]>;
}

/** Executes COPY/ADD and WORKDIR's directory creation into an upper dir; provided by the build. */
export interface CopyStepRunner {
  /** A checksum of what a COPY/ADD would copy (for its cache key). */
  checksum(stage: StageExecutor, instruction: StageInstruction & { keyword: 'COPY' | 'ADD' }): Promise<string>;
  /** Copies into `upper` (a fresh dir) over the stage's current filesystem. */
  copy(stage: StageExecutor, instruction: StageInstruction & { keyword: 'COPY' | 'ADD' }, upper: string): Promise<void>;
  /** Creates the WORKDIR directory in `upper` if the image lacks it; returns whether it did. */
  makeWorkdir(stage: StageExecutor, path: string, upper: string): Promise<boolean>;
}

/**
 * Keeps the last lines a RUN printed, for the error message when it fails. Standard output and error share one
 * `lines` list, so the tail keeps the order the lines came in and an error printed last is not pushed out.
 */
class OutputTail extends Writable {
  private partial = '';

  constructor(
    private readonly forward: (data: Buffer) => void,
    private readonly lines: string[],
    private readonly keep = 10,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward(chunk);
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    callback();
  }

  /** The last line of this stream when it did not end with a newline. */
  pending(): string[] {
    return this.partial ? [this.partial] : [];
  }
}

/**
 * Runs one stage's instructions over its base: each step is looked up in the step cache by its key and either
 * reused (`CACHED`: nothing runs) or executed — RUN in a namespaced overlay snapshot, COPY/ADD through the copy
 * engine, everything else as a config change — and recorded.
 */
export class StageExecutor {
  readonly planned: PlannedStage;
  config: MutableConfig;
  layers: BuiltLayer[];
  cacheKey: string;
  readonly args: StageArgs;
  private readonly context: StageContext;
  private readonly metadata: MetadataState = { cmdSet: false };

  constructor(context: StageContext, planned: PlannedStage, base: StageResult) {
    this.context = context;
    this.planned = planned;
    this.config = structuredClone(base.config);
    this.layers = [...base.layers];
    this.cacheKey = base.cacheKey;
    this.args = new StageArgs(context.plan, context.dockerfile.escapeToken);
  }

  /** The stage's name for progress lines (`stage-1` or its AS name). */
  get label(): string {
    return this.planned.name ?? `stage-${this.planned.index}`;
  }

  /** The store the stage's blobs are in. */
  get store(): ImageStore {
    return this.context.store;
  }

  /** The abort signal of the build. */
  get signal(): AbortSignal | undefined {
    return this.context.signal;
  }

  /** The Dockerfile being built. */
  get dockerfile(): Dockerfile {
    return this.context.dockerfile;
  }

  /** Timestamp for files and directories a step creates (SOURCE_DATE_EPOCH when given). */
  get timestamp(): Date {
    return new Date(this.context.now());
  }

  /** The stage's filesystem as overlay lower dirs (top first), extracting missing snapshots. */
  async lowerDirs(): Promise<string[]> {
    return this.context.lowerDirsOf(this.result());
  }

  /** What `COPY --from=<value>` refers to. */
  async resolveSource(source: StageSource, instruction?: ErrorLocation): Promise<StageResult> {
    return this.context.resolveSource(source, instruction);
  }

  /** The lower dirs of another stage or image. */
  async lowerDirsOf(result: StageResult): Promise<string[]> {
    return this.context.lowerDirsOf(result);
  }

  /** The stage's ENV as a map (what words expand against, with ARGs under it). */
  private envLookup(): (name: string) => string | undefined {
    return this.args.expansionEnv(envMap(this.config.config.Env));
  }

  /** The result to hand to later stages. */
  result(): StageResult {
    return { config: this.config, layers: this.layers, cacheKey: this.cacheKey };
  }

  /** Runs the base image's ONBUILD triggers (then clears them, as docker does) and every instruction. */
  async run(): Promise<StageResult> {
    const triggers = this.config.config.OnBuild ?? [];
    delete this.config.config.OnBuild; // triggers run once, in the first image built on the base
    this.context.addSteps(triggers.length);
    for (const expression of triggers) {
      let trigger: Instruction;
      try {
        trigger = parseInstruction(expression, { filename: `${this.planned.baseName} ONBUILD`, escapeToken: this.context.dockerfile.escapeToken });
      } catch (err) {
        throw new BuildError(this.planned.stage.from, `ONBUILD trigger of ${this.planned.baseName} is invalid: ${(err as Error).message}`);
      }
      if (trigger.keyword === 'FROM' || trigger.keyword === 'ONBUILD' || trigger.keyword === 'MAINTAINER') {
        throw new BuildError(this.planned.stage.from, `ONBUILD ${trigger.keyword} is not allowed (in ${this.planned.baseName})`);
      }
      await this.execute(trigger as StageInstruction);
    }
    for (const instruction of this.planned.stage.instructions) await this.execute(instruction);
    return this.result();
  }

  /** Executes one instruction as a step. */
  async execute(instruction: StageInstruction): Promise<void> {
    this.context.signal?.throwIfAborted();
    const step = this.context.nextStep();
    const started = Date.now();
    this.context.onEvent({ type: 'step-start', step, total: this.context.totalSteps, stage: this.label, text: instruction.original });
    let cached = false;
    let layerSize: number | undefined;
    if (instruction.keyword === 'ARG') {
      cached = await this.argStep(instruction);
    } else if (instruction.keyword === 'RUN') {
      ({ cached, layerSize } = await this.runStep(instruction, step));
    } else if (instruction.keyword === 'COPY' || instruction.keyword === 'ADD') {
      ({ cached, layerSize } = await this.copyStep(instruction));
    } else if (instruction.keyword === 'WORKDIR') {
      ({ cached, layerSize } = await this.workdirStep(instruction));
    } else {
      cached = await this.metadataStep(instruction as MetadataInstruction);
    }
    this.context.onEvent({ type: 'step-done', step, cached, durationMs: Date.now() - started, ...(layerSize !== undefined ? { layerSize } : {}) });
  }

  /** Looks a key up unless `--no-cache`; a record whose layer blob is gone counts as a miss. */
  private async lookup(key: string): Promise<StepRecord | undefined> {
    if (this.context.noCache) return undefined;
    const record = await this.context.cache.get(key);
    if (!record) return undefined;
    if (record.layer && !(await this.context.store.layout.hasBlob(record.layer.digest, record.layer.size))) return undefined;
    return record;
  }

  /** Appends a history entry and, when there is one, a layer; advances the cache key. */
  private commitStep(key: string, createdBy: string, record: StepRecord): void {
    this.cacheKey = key;
    if (record.layer) {
      const { digest, diffID, size, mediaType } = record.layer;
      this.layers.push({ descriptor: { mediaType, digest, size }, diffID });
      this.config.rootfs.diff_ids.push(diffID);
    }
    this.config.history.push({ created: record.created, created_by: createdBy, ...(record.layer ? {} : { empty_layer: true }) });
  }

  private async metadataStep(instruction: MetadataInstruction): Promise<boolean> {
    const { instruction: expanded } = expandInstruction(instruction, this.envLookup(), this.context.dockerfile);
    const createdBy = applyMetadata(this.config, expanded, this.metadata);
    const key = stepKey(this.cacheKey, { step: createdBy });
    const hit = await this.lookup(key);
    const record = hit ?? { created: this.context.now() };
    if (!hit) await this.context.cache.put(key, record); // a hit is already recorded: no write (and no fsync)
    this.commitStep(key, createdBy, record);
    return hit !== undefined; // reported CACHED like every other reused step
  }

  private async argStep(instruction: ArgInstruction): Promise<boolean> {
    const resolved = this.args.declare(instruction, envMap(this.config.config.Env));
    const createdBy = `ARG ${resolved.map((arg) => (arg.value !== undefined ? `${arg.name}=${arg.value}` : arg.name)).join(' ')}`;
    // Keyed by the names only: as with docker, a new value is a cache miss where it is used (every later RUN has
    // it in its environment; other steps key on their expanded words), not at its definition.
    const key = stepKey(this.cacheKey, { step: 'ARG', names: resolved.map((arg) => arg.name) });
    const hit = await this.lookup(key);
    const record = hit ?? { created: this.context.now() };
    if (!hit) await this.context.cache.put(key, record); // a hit is already recorded: no write (and no fsync)
    this.commitStep(key, createdBy, record);
    return hit !== undefined; // reported CACHED like every other reused step
  }

  /** ARGs in scope for RUN, as BuildKit shows them in history (`|2 A=1 B=2 `). */
  private argsPrefix(): string {
    const entries = [...this.args.entries].filter(([name]) => !this.context.plan.proxyArgs.has(name));
    return entries.length === 0 ? '' : `|${entries.length} ${entries.map(([k, v]) => `${k}=${v}`).join(' ')} `;
  }

  /** RUN's environment: the config's Env, then declared ARGs and proxy args not already set (ENV wins). */
  private runEnvironment(): string[] {
    const env = [...(this.config.config.Env ?? [])];
    const set = envMap(env);
    for (const [name, value] of [...this.args.entries, ...this.context.plan.proxyArgs]) {
      if (!set.has(name)) {
        env.push(`${name}=${value}`);
        set.set(name, value);
      }
    }
    return env;
  }

  private async runStep(instruction: RunInstruction, step: number): Promise<{ cached: boolean; layerSize?: number }> {
    if (instruction.mounts.length > 0) throw new BuildError(instruction, 'RUN --mount is not supported by tsbuild yet');
    if (instruction.security === 'insecure') throw new BuildError(instruction, 'RUN --security=insecure is not supported');
    const command = resolveRunCommand(instruction);
    // a heredoc starting with #! runs as a script file (its #! line picks the interpreter)
    const script = command.kind === 'script' ? command.heredoc.content : undefined;
    const argv = command.kind === 'exec' ? [...command.argv] : command.kind === 'script' ? [SCRIPT_PATH] : [...shellOf(this.config), command.command];
    const env = this.runEnvironment();
    const network = instruction.network === 'none' ? 'none' : instruction.network === 'host' ? 'host' : this.context.network;
    const shown = command.kind === 'exec' ? JSON.stringify(argv) : command.kind === 'script' ? command.heredoc.content : argv.join(' ');
    const createdBy = `RUN ${this.argsPrefix()}${shown} # buildkit`;
    const key = stepKey(this.cacheKey, {
      step: 'RUN',
      argv,
      script,
      env: [...env].sort(),
      user: this.config.config.User ?? '',
      workdir: this.config.config.WorkingDir ?? '/',
      network,
      platform: `${this.config.os}/${this.config.architecture}`,
    });
    const hit = await this.lookup(key);
    if (hit) {
      this.commitStep(key, createdBy, hit);
      return { cached: true };
    }
    const lowerDirs = await this.lowerDirs();
    const area = await this.context.snapshots.newWorkArea();
    try {
      const emit = (stream: 'stdout' | 'stderr') => (data: Buffer) => this.context.onEvent({ type: 'output', step, stream, data });
      const lines: string[] = [];
      const stdout = new OutputTail(emit('stdout'), lines);
      const stderr = new OutputTail(emit('stderr'), lines);
      // the sandbox code is loaded only when a RUN really runs (a cached build needs none of it)
      const { runInSnapshot } = await import('../run/run-in-snapshot.js');
      const result = await runInSnapshot({
        lowerDirs,
        upperDir: area.upper,
        workDir: area.work,
        command: argv,
        ...(script !== undefined ? { script } : {}),
        env,
        cwd: this.config.config.WorkingDir || '/',
        ...(this.config.config.User ? { user: this.config.config.User } : {}),
        network,
        stdout,
        stderr,
        ...(this.context.signal ? { signal: this.context.signal } : {}),
      }).catch((err: unknown) => {
        if (this.context.signal?.aborted) throw err;
        throw new BuildError(instruction, (err as Error).message, { cause: err });
      });
      if (result.exitCode !== 0) {
        const how = result.signal ? `was killed by ${result.signal}` : `returned a non-zero code: ${result.exitCode}`;
        const tail = [...lines, ...stdout.pending(), ...stderr.pending()].slice(-10);
        throw new BuildError(instruction, `RUN ${command.kind === 'shell' ? command.command : shown}: the command ${how}`, { outputTail: tail });
      }
      const excluded = await mountPointsToExclude(area.upper, result.createdMountPoints, lowerDirs);
      const record = await this.layerFromUpper(area.upper, 'upper', excluded);
      await this.context.cache.put(key, record);
      this.commitStep(key, createdBy, record);
      return { cached: false, ...(record.layer ? { layerSize: record.layer.size } : {}) };
    } finally {
      await area.cleanup();
    }
  }

  /**
   * Turns a finished upper dir into a layer blob in the store and the next snapshot (an empty diff makes no
   * layer), and returns the step's record.
   */
  async layerFromUpper(upper: string, kind: 'upper' | 'directory', excluded: readonly string[]): Promise<StepRecord> {
    const created = this.context.now();
    if (!(await upperHasChanges(upper, excluded))) return { created };
    const layer = await writeLayerToStore(this.context.store, upper, kind, this.context.layerFormat, excluded, this.context.signal);
    await removeExcluded(upper, excluded);
    const chain = chainIDs([...this.layers.map((l) => l.diffID), layer.diffID]).at(-1)!;
    await this.context.snapshots.adopt(chain, upper);
    return { created, layer: { digest: layer.digest, diffID: layer.diffID, size: layer.size, mediaType: layer.mediaType } };
  }

  private async copyStep(instruction: StageInstruction & { keyword: 'COPY' | 'ADD' }): Promise<{ cached: boolean; layerSize?: number }> {
    const { instruction: expanded } = expandInstruction(instruction, this.envLookup(), this.context.dockerfile);
    const checksum = await this.context.copy.checksum(this, expanded);
    const createdBy = `${expanded.original} # buildkit`;
    const key = stepKey(this.cacheKey, {
      step: expanded.keyword,
      sources: expanded.sources,
      dest: expanded.dest,
      workdir: this.config.config.WorkingDir ?? '/',
      chown: expanded.chown,
      chmod: expanded.chmod,
      from: expanded.keyword === 'COPY' ? expanded.from : undefined,
      checksum,
    });
    const hit = await this.lookup(key);
    if (hit) {
      this.commitStep(key, createdBy, hit);
      return { cached: true };
    }
    const area = await this.context.snapshots.newWorkArea();
    try {
      await this.context.copy.copy(this, expanded, area.upper);
      const record = await this.layerFromUpper(area.upper, 'upper', []);
      await this.context.cache.put(key, record);
      this.commitStep(key, createdBy, record);
      return { cached: false, ...(record.layer ? { layerSize: record.layer.size } : {}) };
    } finally {
      await area.cleanup();
    }
  }

  private async workdirStep(instruction: StageInstruction & { keyword: 'WORKDIR' }): Promise<{ cached: boolean; layerSize?: number }> {
    const { instruction: expanded } = expandInstruction(instruction, this.envLookup(), this.context.dockerfile);
    const createdBy = applyMetadata(this.config, expanded, this.metadata);
    const path = this.config.config.WorkingDir ?? '/';
    const key = stepKey(this.cacheKey, { step: createdBy, user: this.config.config.User ?? '' });
    const hit = await this.lookup(key);
    if (hit) {
      this.commitStep(key, createdBy, hit);
      return { cached: true };
    }
    const area = await this.context.snapshots.newWorkArea();
    try {
      const made = await this.context.copy.makeWorkdir(this, path, area.upper);
      const record = made ? await this.layerFromUpper(area.upper, 'upper', []) : { created: this.context.now() };
      await this.context.cache.put(key, record);
      this.commitStep(key, createdBy, record);
      return { cached: false, ...(record.layer ? { layerSize: record.layer.size } : {}) };
    } finally {
      await area.cleanup();
    }
  }
}

/** A layer descriptor with the media type for the wanted flavour (the blob's bytes are the same). */
export function layerDescriptorFor(descriptor: Descriptor, flavour: 'oci' | 'docker'): Descriptor {
  const compression = layerCompression(descriptor.mediaType) ?? 'gzip';
  return { ...descriptor, digest: parseDigest(descriptor.digest), mediaType: layerMediaType(compression, flavour) };
}
