/**
 * The build executor: runs a planned Dockerfile step by step (RUN in namespaced overlay snapshots, COPY/ADD
 * through the copy engine, everything else as config changes) with a step cache, and commits the image to the
 * store. Also `runImage` for `tsbuild run`.
 * @packageDocumentation
 */
export { buildImage, type BuildOptions, type BuildResult, type PullPolicy } from './build.js';
export { runImage, type RunImageOptions } from './run-image.js';
export { BuildError } from './errors.js';
export { CopyRunner, type CopyRunnerOptions } from './copy-runner.js';
export type { BuildEvent, BuildEventHandler } from './events.js';
export type { CopyStepRunner, StageExecutor, StageResult, BuiltLayer } from './stage.js';
export { Snapshots, type WorkArea } from './snapshots.js';
export { chainIDs } from './chain.js';
export { pruneBuildCache, type BuildCachePruneResult } from './prune-cache.js';
