/**
 * The entry points of the front end: Dockerfile text → typed instructions grouped into stages.
 */
import { parseAst, type DockerfileWarning, type ParserDirective } from './ast.js';
import { DockerfileError } from './errors.js';
import { checkInstructionWords } from './expand.js';
import { toInstruction } from './instruction-parser.js';
import type { ArgInstruction, FromInstruction, Instruction, StageInstruction } from './instructions.js';
import type { EscapeToken } from './shell-lexer.js';

/** One build stage: a FROM and the instructions up to the next FROM. */
export interface Stage {
  /** 0-based position among the stages (what `COPY --from=0` refers to). */
  readonly index: number;
  /** The `AS` name, lower-cased. */
  readonly name?: string;
  /** The stage's FROM. */
  readonly from: FromInstruction;
  /** The instructions after FROM, in order. */
  readonly instructions: readonly StageInstruction[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** The file name used in messages. */
  readonly file: string;
  /** The escape character (`# escape=`), needed to expand words. */
  readonly escapeToken: EscapeToken;
  /** The `# syntax=` directive's value, when present (accepted and ignored: tsbuild has one built-in front end). */
  readonly syntax?: string;
  /** All parser directives. */
  readonly directives: readonly ParserDirective[];
  /** ARG instructions before the first FROM: their names are usable in FROM lines. */
  readonly metaArgs: readonly ArgInstruction[];
  /** The stages in file order. */
  readonly stages: readonly Stage[];
  /** Every instruction in file order (meta ARGs, then each FROM and its instructions). */
  readonly instructions: readonly Instruction[];
  /** Non-fatal findings, e.g. empty lines inside line continuations. */
  readonly warnings: readonly DockerfileWarning[];
}

/** Options of {@link parseDockerfile}. */
export interface ParseDockerfileOptions {
  /** The name to use in error messages (default `Dockerfile`). */
  readonly filename?: string;
}

/**
 * Parses a Dockerfile: directives, instructions with their flags checked, stages. Words stay unexpanded but their
 * variable syntax is checked. Keywords may be in any case; CRLF line ends and a byte-order mark are accepted.
 * @throws DockerfileError (`<file>:<line>: …`) for an empty file, an unknown instruction, an instruction other
 *   than ARG before the first FROM, a bad flag, a bad JSON form, ENV without a value, a duplicate stage name, a
 *   variable syntax error or an unterminated heredoc.
 */
export function parseDockerfile(text: string, options: ParseDockerfileOptions = {}): Dockerfile {
  const ast = parseAst(text, options.filename === undefined ? {} : { filename: options.filename });
  const file = ast.file;
  const metaArgs: ArgInstruction[] = [];
  const instructions: Instruction[] = [];
  const stages: { index: number; name?: string; from: FromInstruction; instructions: StageInstruction[] }[] = [];
  const stageLines = new Map<string, number>();

  for (const node of ast.nodes) {
    const instruction = toInstruction(node, file);
    checkInstructionWords(instruction, ast.escapeToken);
    instructions.push(instruction);
    const location = { file, line: instruction.startLine, endLine: instruction.endLine };
    if (instruction.keyword === 'FROM') {
      if (instruction.alias !== undefined) {
        const earlier = stageLines.get(instruction.alias);
        if (earlier !== undefined) {
          throw new DockerfileError(`duplicate stage name "${instruction.alias}" (already used on line ${earlier})`, location, node.text);
        }
        stageLines.set(instruction.alias, instruction.startLine);
      }
      stages.push({
        index: stages.length,
        ...(instruction.alias === undefined ? {} : { name: instruction.alias }),
        from: instruction,
        instructions: [],
      });
      continue;
    }
    const current = stages[stages.length - 1];
    if (current) {
      current.instructions.push(instruction);
    } else if (instruction.keyword === 'ARG') {
      metaArgs.push(instruction);
    } else {
      throw new DockerfileError(
        `${instruction.keyword} before the first FROM: a Dockerfile must start with FROM (only ARG may come before it)`,
        location,
        node.text,
      );
    }
  }
  if (stages.length === 0) {
    const last = instructions[instructions.length - 1]!;
    throw new DockerfileError('the Dockerfile has no FROM instruction', { file, line: last.startLine, endLine: last.endLine }, last.original);
  }
  const syntax = ast.directives.find((directive) => directive.name === 'syntax')?.value;
  return {
    file,
    escapeToken: ast.escapeToken,
    ...(syntax === undefined ? {} : { syntax }),
    directives: ast.directives,
    metaArgs,
    stages,
    instructions,
    warnings: ast.warnings,
  };
}

/** Options of {@link parseInstruction}. */
export interface ParseInstructionOptions {
  /** The name to use in error messages (default `Dockerfile`). */
  readonly filename?: string;
  /** The escape character (default `\`). */
  readonly escapeToken?: EscapeToken;
}

/**
 * Parses one instruction, e.g. an ONBUILD trigger replayed from a base image's config (`COPY . /app`, or
 * `RUN <<EOF\necho hi\nEOF` with its heredoc body). Line numbers count from the text's first line.
 * @throws DockerfileError when the text is not exactly one valid instruction.
 */
export function parseInstruction(text: string, options: ParseInstructionOptions = {}): Instruction {
  const ast = parseAst(text, {
    ...(options.filename === undefined ? {} : { filename: options.filename }),
    ...(options.escapeToken === undefined ? {} : { escapeToken: options.escapeToken }),
  });
  if (ast.nodes.length !== 1) {
    const second = ast.nodes[1]!;
    throw new DockerfileError(`expected one instruction, found ${ast.nodes.length}`, { file: ast.file, line: second.startLine }, second.text);
  }
  const instruction = toInstruction(ast.nodes[0]!, ast.file);
  checkInstructionWords(instruction, ast.escapeToken);
  return instruction;
}
