/**
 * The Dockerfile front end: parse (BuildKit's parser rules), typed instructions, word expansion (BuildKit's shell
 * lexer), ARG scoping and stage planning.
 *
 * ```ts
 * const dockerfile = parseDockerfile(text, { filename: 'Dockerfile' });
 * const plan = planStages(dockerfile, { target, buildArgs, platform });
 * for (const stage of plan.order) {
 *   const args = new StageArgs(plan, dockerfile.escapeToken);
 *   for (const instruction of stage.stage.instructions) {
 *     if (instruction.keyword === 'ARG') { args.declare(instruction, env); continue; }
 *     const { instruction: expanded, used } = expandInstruction(instruction, args.expansionEnv(env), dockerfile);
 *     // execute `expanded`…
 *   }
 * }
 * ```
 * @packageDocumentation
 */
export { DockerfileError, WordExpansionError, type SourceLocation } from './errors.js';
export {
  processWord,
  processWordWithMatches,
  processWords,
  environmentLookup,
  type Environment,
  type EscapeToken,
  type LexOptions,
  type WordExpansion,
} from './shell-lexer.js';
export { parseAst, type AstNode, type DockerfileAst, type DockerfileWarning, type ParseAstOptions, type ParserDirective } from './ast.js';
export { dumpAst, goQuote } from './dump.js';
export { chompHeredocContent, parseHeredocOperator, type Heredoc, type HeredocOperator } from './heredoc.js';
export type * from './instructions.js';
export { INSTRUCTION_FLAGS, type FlagKind, type FlagSpec } from './flags.js';
export { parseGoDuration } from './duration.js';
export { parseMount, type CacheSharing, type MountType, type RunMount } from './mount.js';
export {
  parseDockerfile,
  parseInstruction,
  type Dockerfile,
  type ParseDockerfileOptions,
  type ParseInstructionOptions,
  type Stage,
} from './parse.js';
export {
  checkInstructionWords,
  expandInstruction,
  expandRunMounts,
  expandWordAt,
  type ExpandedInstruction,
  type ExpandOptions,
} from './expand.js';
export {
  isPredefinedArg,
  isProxyArg,
  platformArgs,
  PLATFORM_ARGS,
  PROXY_ARGS,
  StageArgs,
  type ArgScope,
  type ResolvedArg,
} from './args.js';
export {
  planStages,
  resolveStageSource,
  type BuildPlan,
  type PlannedStage,
  type PlanOptions,
  type StageBase,
  type StageReference,
  type StageSource,
} from './stages.js';
export { resolveRunCommand, type RunCommand } from './run-command.js';
export { editDistance } from './instruction-parser.js';
