/**
 * Stage planning: resolve the global ARGs, each stage's base (scratch, an earlier stage or an image) and platform,
 * the stages each one reads from (`COPY --from`, `RUN --mount=from=`), and which stages the target needs.
 */
import { hostPlatform, InvalidReferenceError, parsePlatform, type Platform } from '@tsbuild/oci';
import { isPredefinedArg, isProxyArg, platformArgs, StageArgs } from './args.js';
import { DockerfileError } from './errors.js';
import { expandInstruction, expandWordAt } from './expand.js';
import type { CopyInstruction, Instruction, RunInstruction, StageInstruction } from './instructions.js';
import { MountSyntaxError, splitCsvRecord } from './mount.js';
import type { Dockerfile, Stage } from './parse.js';

/** Where a stage starts from. */
export type StageBase =
  | { readonly kind: 'scratch' }
  | { readonly kind: 'stage'; readonly index: number }
  | { readonly kind: 'image'; readonly reference: string };

/** What `COPY --from=` or `RUN --mount=from=` names: an earlier stage or an image. */
export type StageSource = { readonly kind: 'stage'; readonly index: number } | { readonly kind: 'image'; readonly reference: string };

/** A `COPY --from` or `RUN --mount=…,from=…` of a stage and what it resolved to. */
export interface StageReference {
  /** The COPY or RUN. */
  readonly instruction: CopyInstruction | RunInstruction;
  /** The `from` value after expansion. */
  readonly from: string;
  readonly source: StageSource;
}

/** A stage with its base, platform and dependencies resolved. */
export interface PlannedStage {
  /** 0-based index. */
  readonly index: number;
  /** The `AS` name, lower-cased. */
  readonly name?: string;
  /** The parsed stage. */
  readonly stage: Stage;
  /** The FROM image after expansion with the global args. */
  readonly baseName: string;
  readonly base: StageBase;
  /** `FROM --platform` (expanded and parsed), else the target platform. */
  readonly platform: Platform;
  /** True when FROM had `--platform`. */
  readonly explicitPlatform: boolean;
  /** `COPY --from` and `RUN --mount=from=` references, in order. */
  readonly references: readonly StageReference[];
  /** Indices of the stages this one needs (its base and what it copies or mounts from), ascending. */
  readonly dependencies: readonly number[];
}

/** The build: every stage planned, the target, and the stages to run in order. */
export interface BuildPlan {
  readonly dockerfile: Dockerfile;
  /** Every stage, by index. */
  readonly stages: readonly PlannedStage[];
  /** The stage to build (`--target`, else the last one). */
  readonly target: PlannedStage;
  /** The stages the target needs, itself included, dependencies first (ascending index). */
  readonly order: readonly PlannedStage[];
  /** Indices of the stages the target does not need (not built). */
  readonly skipped: readonly number[];
  /** The global scope: platform args and meta ARGs with build args applied; FROM lines expand against it. */
  readonly globalArgs: ReadonlyMap<string, string>;
  /** The `--build-arg` values. */
  readonly buildArgs: ReadonlyMap<string, string>;
  /**
   * Proxy args given as build args (`HTTP_PROXY`, …): add them to RUN's environment even when undeclared, but
   * never to the image config or history.
   */
  readonly proxyArgs: ReadonlyMap<string, string>;
  /** The target platform. */
  readonly platform: Platform;
  /** The platform of the build host. */
  readonly buildPlatform: Platform;
  /** Build args that no ARG of the needed stages (or of the global scope) declares. */
  readonly unusedBuildArgs: readonly string[];
  /** Human-readable warnings (unused build args, a FROM naming a later stage, empty continuation lines). */
  readonly warnings: readonly string[];
}

/** Options of {@link planStages}. */
export interface PlanOptions {
  /** The stage to build, by name (case-insensitive) or index; default the last stage. */
  readonly target?: string;
  /** `--build-arg` values. */
  readonly buildArgs?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** The target platform (`--platform`); default the host's. */
  readonly platform?: Platform | string;
  /** The build host's platform; default the host's. */
  readonly buildPlatform?: Platform;
}

function toMap(values: PlanOptions['buildArgs']): Map<string, string> {
  if (values === undefined) return new Map();
  if (values instanceof Map) return new Map(values);
  return new Map(Object.entries(values as Readonly<Record<string, string>>));
}

function locationOf(instruction: Instruction) {
  return { file: instruction.file, line: instruction.startLine, endLine: instruction.endLine };
}

function toPlatform(value: Platform | string | undefined, fallback: Platform): Platform {
  if (value === undefined) return fallback;
  return typeof value === 'string' ? parsePlatform(value) : value;
}

/** The `from=` values of a RUN's mounts (never expanded: BuildKit forbids variables there). */
function mountSources(run: RunInstruction): string[] {
  const sources: string[] = [];
  for (const spec of run.mounts) {
    try {
      for (const field of splitCsvRecord(spec)) {
        const eq = field.indexOf('=');
        if (eq > 0 && field.slice(0, eq).toLowerCase() === 'from' && field.length > eq + 1) sources.push(field.slice(eq + 1));
      }
    } catch (err) {
      if (err instanceof MountSyntaxError) throw new DockerfileError(`--mount: ${err.message}`, locationOf(run), run.original);
      throw err;
    }
  }
  return sources;
}

/**
 * Plans the build: resolves the global ARGs (platform args, then meta ARGs with build args overriding their
 * defaults), expands each FROM, resolves stage references, picks the target and the stages it needs (the others
 * are skipped), and lists build args nothing declares.
 *
 * `COPY --from` values are expanded against the stage's ARG and ENV instructions; ENV inherited from a base image
 * is not known here (the executor can re-resolve with {@link resolveStageSource}).
 * @throws DockerfileError for an unknown target, a FROM that expands to nothing, a bad `--platform`, or a
 *   `--from` that names the stage itself or a later stage.
 */
export function planStages(dockerfile: Dockerfile, options: PlanOptions = {}): BuildPlan {
  const host = hostPlatform();
  const buildPlatform = options.buildPlatform ?? host;
  let platform: Platform;
  try {
    platform = toPlatform(options.platform, host);
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw new InvalidReferenceError(`--platform: ${err.message}`);
    throw err;
  }
  const buildArgs = toMap(options.buildArgs);
  const warnings: string[] = dockerfile.warnings.map((warning) => `${dockerfile.file}:${warning.line}: ${warning.message}`);

  // Global scope: platform args (a build arg may override them), then meta ARGs in order.
  const globalArgs = platformArgs(platform, buildPlatform);
  for (const [name, value] of buildArgs) if (globalArgs.has(name)) globalArgs.set(name, value);
  const declaredGlobally = new Set<string>();
  for (const arg of dockerfile.metaArgs) {
    for (const declaration of arg.args) {
      declaredGlobally.add(declaration.name);
      let value = buildArgs.get(declaration.name);
      if (value === undefined && declaration.default !== undefined) {
        value = expandInstruction({ ...arg, args: [declaration] }, globalArgs, { escapeToken: dockerfile.escapeToken }).instruction.args[0]!.default;
      }
      if (value !== undefined) globalArgs.set(declaration.name, value);
    }
  }

  const stagesByName = new Map<string, Stage>();
  for (const stage of dockerfile.stages) if (stage.name !== undefined) stagesByName.set(stage.name, stage);

  const planned = dockerfile.stages.map((stage) => planStage(dockerfile, stage, stagesByName, globalArgs, buildArgs, platform, warnings));

  const target = findTarget(dockerfile, planned, options.target);
  const needed = new Set<number>();
  const visit = (index: number): void => {
    if (needed.has(index)) return;
    needed.add(index);
    for (const dependency of planned[index]!.dependencies) visit(dependency);
  };
  visit(target.index);
  const order = planned.filter((stage) => needed.has(stage.index));
  const skipped = planned.filter((stage) => !needed.has(stage.index)).map((stage) => stage.index);

  const declared = new Set(declaredGlobally);
  for (const stage of order) {
    for (const instruction of stage.stage.instructions) {
      if (instruction.keyword === 'ARG') for (const declaration of instruction.args) declared.add(declaration.name);
    }
  }
  const unusedBuildArgs = [...buildArgs.keys()].filter((name) => !declared.has(name) && !isPredefinedArg(name)).sort();
  if (unusedBuildArgs.length > 0) {
    warnings.push(`build arg${unusedBuildArgs.length > 1 ? 's' : ''} ${unusedBuildArgs.join(', ')} not consumed: no ARG instruction in the stages built declares ${unusedBuildArgs.length > 1 ? 'them' : 'it'}`);
  }
  const proxyArgs = new Map([...buildArgs].filter(([name]) => isProxyArg(name)));

  return {
    dockerfile,
    stages: planned,
    target,
    order,
    skipped,
    globalArgs,
    buildArgs,
    proxyArgs,
    platform,
    buildPlatform,
    unusedBuildArgs,
    warnings,
  };
}

function findTarget(dockerfile: Dockerfile, planned: readonly PlannedStage[], target: string | undefined): PlannedStage {
  if (target === undefined || target === '') return planned[planned.length - 1]!;
  const byName = planned.find((stage) => stage.name === target.toLowerCase());
  if (byName) return byName;
  if (/^\d+$/.test(target) && Number(target) < planned.length) return planned[Number(target)]!;
  const names = planned.flatMap((stage) => (stage.name === undefined ? [] : [stage.name]));
  const last = dockerfile.stages[dockerfile.stages.length - 1]!.from;
  throw new DockerfileError(
    `target stage "${target}" could not be found (${names.length > 0 ? `stages: ${names.join(', ')}` : 'no stage has a name: use FROM … AS name'})`,
    { file: dockerfile.file, line: last.startLine },
  );
}

function planStage(
  dockerfile: Dockerfile,
  stage: Stage,
  stagesByName: ReadonlyMap<string, Stage>,
  globalArgs: ReadonlyMap<string, string>,
  buildArgs: ReadonlyMap<string, string>,
  targetPlatform: Platform,
  warnings: string[],
): PlannedStage {
  const { from } = stage;
  const options = { escapeToken: dockerfile.escapeToken };
  const expandedFrom = expandInstruction(from, globalArgs, options).instruction;
  const baseName = expandedFrom.image;
  if (baseName === '') {
    throw new DockerfileError(`FROM ${from.image} expands to an empty image name (is the ARG declared before the first FROM?)`, locationOf(from), from.original);
  }
  let base: StageBase;
  const named = stagesByName.get(baseName.toLowerCase());
  if (baseName === 'scratch') {
    base = { kind: 'scratch' };
  } else if (named !== undefined && named.index < stage.index) {
    base = { kind: 'stage', index: named.index };
  } else {
    if (named !== undefined) {
      warnings.push(`${from.file}:${from.startLine}: FROM ${baseName} uses the image "${baseName}", not the stage of that name (a stage can only build on earlier stages)`);
    }
    base = { kind: 'image', reference: baseName };
  }

  let platform = targetPlatform;
  if (expandedFrom.platform !== undefined) {
    try {
      platform = parsePlatform(expandedFrom.platform);
    } catch (err) {
      if (err instanceof InvalidReferenceError) throw new DockerfileError(`--platform: ${err.message}`, locationOf(from), from.original);
      throw err;
    }
  }

  // Static walk of the stage's ARG and ENV to expand `COPY --from` values.
  const args = new StageArgs({ globalArgs, buildArgs }, dockerfile.escapeToken);
  const env = new Map<string, string>();
  const references: StageReference[] = [];
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case 'ARG':
      case 'ENV':
        // A default may need ENV from the base image (e.g. ${HOME:?}), unknown here: such a value stays unset
        // and the executor reports real failures when it runs the stage.
        try {
          if (instruction.keyword === 'ARG') args.declare(instruction, env);
          else for (const pair of expandInstruction(instruction, args.expansionEnv(env), options).instruction.pairs) env.set(pair.key, pair.value);
        } catch (err) {
          if (!(err instanceof DockerfileError)) throw err;
        }
        break;
      case 'COPY':
        if (instruction.from !== undefined) {
          const value = expandWordAt(instruction, instruction.from, args.expansionEnv(env), options);
          if (value === '') {
            throw new DockerfileError(`--from=${instruction.from} expands to an empty value`, locationOf(instruction), instruction.original);
          }
          references.push({ instruction, from: value, source: resolveStageSource(dockerfile, value, stage.index, instruction) });
        }
        break;
      case 'RUN':
        for (const value of mountSources(instruction)) {
          references.push({ instruction, from: value, source: resolveStageSource(dockerfile, value, stage.index, instruction) });
        }
        break;
      default:
        break;
    }
  }
  const dependencies = new Set<number>();
  if (base.kind === 'stage') dependencies.add(base.index);
  for (const reference of references) if (reference.source.kind === 'stage') dependencies.add(reference.source.index);

  return {
    index: stage.index,
    ...(stage.name === undefined ? {} : { name: stage.name }),
    stage,
    baseName,
    base,
    platform,
    explicitPlatform: expandedFrom.platform !== undefined,
    references,
    dependencies: [...dependencies].sort((a, b) => a - b),
  };
}

/**
 * Resolves a `COPY --from` / `RUN --mount=from=` value seen in stage `fromStage`: a stage name (case-insensitive),
 * a stage index, or otherwise an image reference.
 * @throws DockerfileError located at `instruction` when it names the stage itself or a later stage.
 */
export function resolveStageSource(dockerfile: Dockerfile, value: string, fromStage: number, instruction: StageInstruction): StageSource {
  const named = dockerfile.stages.find((stage) => stage.name === value.toLowerCase());
  const index = named ? named.index : /^\d+$/.test(value) ? Number(value) : undefined;
  if (index === undefined) return { kind: 'image', reference: value };
  if (index === fromStage) {
    throw new DockerfileError(`--from=${value} refers to the stage it is used in; it can only name an earlier stage`, locationOf(instruction), instruction.original);
  }
  if (index > fromStage) {
    const later = dockerfile.stages[index];
    const where = later ? `stage ${index} (line ${later.from.startLine})` : `stage ${index}, which does not exist`;
    throw new DockerfileError(`--from=${value} refers to ${where}; it can only name an earlier stage`, locationOf(instruction), instruction.original);
  }
  return { kind: 'stage', index };
}
