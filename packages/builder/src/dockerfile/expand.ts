/**
 * Which words of which instruction are expanded, and expanding them. FROM, ADD, COPY, ENV, ARG (defaults), LABEL, EXPOSE,
 * USER, WORKDIR, VOLUME and STOPSIGNAL expand their words (and COPY/ADD the bodies of unquoted heredocs); RUN, CMD,
 * ENTRYPOINT, SHELL, HEALTHCHECK and MAINTAINER keep them as written (the shell expands them at run time, except
 * RUN's `--mount` values, see {@link expandRunMounts}); ONBUILD triggers are expanded when they are replayed.
 */
import { DockerfileError, WordExpansionError } from './errors.js';
import type { Heredoc } from './heredoc.js';
import type { Instruction, RunInstruction } from './instructions.js';
import { MountSyntaxError, parseMount, type RunMount } from './mount.js';
import {
  processWordWithMatches,
  type Environment,
  type EscapeToken,
  type LexOptions,
} from './shell-lexer.js';

/** Options of {@link expandInstruction}. */
export interface ExpandOptions {
  /** The Dockerfile's escape character (`Dockerfile.escapeToken`; default `\`). */
  readonly escapeToken?: EscapeToken;
}

/** An instruction with its words expanded, and the variables the expansion looked up. */
export interface ExpandedInstruction<T extends Instruction> {
  /** The same instruction with every expandable word replaced by its expansion (quotes removed). */
  readonly instruction: T;
  /** Variables referred to that were set: what a cache key depends on. */
  readonly used: ReadonlySet<string>;
  /** Variables referred to that were not set (they expanded to nothing or to a default). */
  readonly unset: ReadonlySet<string>;
}

/** Replaces words and heredoc bodies; a pure function used for expansion and for syntax checks. */
interface WordMapper {
  word(word: string): string;
  heredoc(content: string): string;
}

function mapHeredocs(heredocs: readonly Heredoc[], mapper: WordMapper): readonly Heredoc[] {
  return heredocs.map((heredoc) => (heredoc.expand ? { ...heredoc, content: mapper.heredoc(heredoc.content) } : heredoc));
}

/** Applies `mapper` to exactly the words BuildKit expands for this instruction (same keyword out as in). */
function mapInstructionWords<T extends Instruction>(instruction: T, mapper: WordMapper): T {
  return mapWords(instruction, mapper) as T;
}

function mapWords(i: Instruction, mapper: WordMapper): Instruction {
  const w = (word: string): string => mapper.word(word);
  switch (i.keyword) {
    case 'FROM': {
      return { ...i, image: w(i.image), ...(i.platform === undefined ? {} : { platform: w(i.platform) }) };
    }
    case 'COPY':
    case 'ADD': {
      const common = {
        sources: i.sources.map(w),
        dest: w(i.dest),
        heredocs: mapHeredocs(i.heredocs, mapper),
        excludes: i.excludes.map(w),
        ...(i.chown === undefined ? {} : { chown: w(i.chown) }),
        ...(i.chmod === undefined ? {} : { chmod: w(i.chmod) }),
      };
      if (i.keyword === 'COPY') return { ...i, ...common, ...(i.from === undefined ? {} : { from: w(i.from) }) };
      return { ...i, ...common, ...(i.checksum === undefined ? {} : { checksum: w(i.checksum) }) };
    }
    case 'ENV':
    case 'LABEL':
      return { ...i, pairs: i.pairs.map((pair) => ({ key: w(pair.key), value: w(pair.value) })) };
    case 'ARG':
      return {
        ...i,
        args: i.args.map((arg) => (arg.default === undefined ? arg : { name: arg.name, default: w(arg.default) })),
      };
    case 'EXPOSE':
      return { ...i, ports: i.ports.flatMap((port) => w(port).split(/\s+/).filter((p) => p !== '')) };
    case 'USER':
      return { ...i, user: w(i.user) };
    case 'WORKDIR':
      return { ...i, path: w(i.path) };
    case 'VOLUME':
      return { ...i, volumes: i.volumes.map(w) };
    case 'STOPSIGNAL':
      return { ...i, signal: w(i.signal) };
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
    case 'SHELL':
    case 'HEALTHCHECK':
    case 'MAINTAINER':
    case 'ONBUILD':
      return i;
  }
}

function locatedError(instruction: Instruction, err: unknown): unknown {
  if (err instanceof WordExpansionError) {
    return new DockerfileError(err.message, { file: instruction.file, line: instruction.startLine, endLine: instruction.endLine }, instruction.original, {
      cause: err,
    });
  }
  return err;
}

/** Collects the variables looked up while mapping words. */
function expandingMapper(env: Environment, options: ExpandOptions, used: Set<string>, unset: Set<string>): WordMapper {
  const run = (text: string, lex: LexOptions): string => {
    const result = processWordWithMatches(text, env, lex);
    for (const name of result.matched) used.add(name);
    for (const name of result.unmatched) unset.add(name);
    return result.value;
  };
  return {
    word: (word) => run(word, { escapeToken: options.escapeToken ?? '\\' }),
    // BuildKit expands COPY/ADD heredoc bodies with quotes left alone and `\` as the escape character.
    heredoc: (content) => run(content, { escapeToken: '\\', skipProcessQuotes: true }),
  };
}

/**
 * Expands an instruction's words against `env` (the stage's ARG values and ENV at this point, see `StageArgs`),
 * with the Dockerfile's escape character. Words of RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER and ONBUILD
 * are returned as written.
 * @throws DockerfileError (located at the instruction) for a variable syntax error or a failed `${V?msg}`.
 */
export function expandInstruction<T extends Instruction>(instruction: T, env: Environment, options: ExpandOptions = {}): ExpandedInstruction<T> {
  const used = new Set<string>();
  const unset = new Set<string>();
  try {
    const expanded = mapInstructionWords(instruction, expandingMapper(env, options, used, unset));
    return { instruction: expanded, used, unset };
  } catch (err) {
    throw locatedError(instruction, err);
  }
}

/**
 * Expands a single word with the Dockerfile's rules (quote removal, escapes, `${…}` forms).
 * @throws DockerfileError located at `instruction` when the word cannot be expanded.
 */
export function expandWordAt(instruction: Instruction, word: string, env: Environment, options: ExpandOptions = {}): string {
  try {
    return processWordWithMatches(word, env, { escapeToken: options.escapeToken ?? '\\' }).value;
  } catch (err) {
    throw locatedError(instruction, err);
  }
}

/**
 * Parses RUN's `--mount` specs with their values expanded against `env` (`from=` is never expanded).
 * @throws DockerfileError (located at the RUN) for a bad mount or a failed expansion.
 */
export function expandRunMounts(run: RunInstruction, env: Environment, options: ExpandOptions = {}): RunMount[] {
  const expand = (value: string): string => expandWordAt(run, value, env, options);
  return run.mounts.map((spec) => {
    try {
      return parseMount(spec, expand);
    } catch (err) {
      if (err instanceof MountSyntaxError) {
        throw new DockerfileError(`--mount: ${err.message}`, { file: run.file, line: run.startLine, endLine: run.endLine }, run.original);
      }
      throw err;
    }
  });
}

/** Every variable set and non-empty: only syntax can fail (`${X?}` and `${X:?}` pass). */
const ANY_VALUE = (): string => 'x';

/**
 * Checks the variable syntax of every expandable word without knowing the environment, so `${}`, `${X:=y}`, a
 * missing `}` or an unterminated quote is reported at parse time.
 * @throws DockerfileError located at the instruction.
 */
export function checkInstructionWords(instruction: Instruction, escapeToken: EscapeToken): void {
  try {
    mapInstructionWords(instruction, {
      word: (word) => processWordWithMatches(word, ANY_VALUE, { escapeToken }).value,
      heredoc: (content) => processWordWithMatches(content, ANY_VALUE, { escapeToken: '\\', skipProcessQuotes: true }).value,
    });
  } catch (err) {
    throw locatedError(instruction, err);
  }
}
