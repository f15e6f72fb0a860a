/**
 * The first stage of the front end: Dockerfile text → a list of instruction nodes shaped like BuildKit's parser
 * AST. It handles parser directives, the byte-order mark, CRLF, line continuations (with comment lines and blank
 * lines inside them dropped), heredoc bodies and the per-instruction argument rules of `line-parsers.ts`.
 */
import { DockerfileError } from './errors.js';
import { chompHeredocContent, heredocOperatorsInLine, type Heredoc, type HeredocOperator } from './heredoc.js';
import { LineSyntaxError, parseLine, type ParsedLine } from './line-parsers.js';
import { isSpace, type EscapeToken } from './shell-lexer.js';

/** A parser directive from the top of the file (`# syntax=…`, `# escape=…`, `# check=…`). */
export interface ParserDirective {
  /** Lower-cased name. */
  readonly name: 'syntax' | 'escape' | 'check';
  /** The value, trimmed. */
  readonly value: string;
  /** 1-based line. */
  readonly line: number;
}

/** Something legal but suspicious in the Dockerfile, e.g. an empty line inside a line continuation. */
export interface DockerfileWarning {
  /** 1-based line. */
  readonly line: number;
  /** What is suspicious. */
  readonly message: string;
}

/** One instruction as the parser sees it: keyword, flags and argument nodes, unexpanded. */
export interface AstNode extends ParsedLine {
  /** The logical line: physical lines joined with the continuation escapes removed and comment lines dropped. */
  readonly original: string;
  /** The instruction an ONBUILD line carries (same lines as its parent). */
  readonly child?: AstNode;
  /** Heredoc bodies that follow the line, in the order of their operators. */
  readonly heredocs: readonly Heredoc[];
  /** First physical line (1-based). */
  readonly startLine: number;
  /** Last physical line, including heredoc bodies and delimiters (1-based). */
  readonly endLine: number;
  /** The exact source text of those lines. */
  readonly text: string;
}

/** A parsed Dockerfile before instructions are typed. */
export interface DockerfileAst {
  /** The file name used in messages. */
  readonly file: string;
  /** The escape character in effect (from `# escape=`, default `\`). */
  readonly escapeToken: EscapeToken;
  /** The parser directives at the top of the file. */
  readonly directives: readonly ParserDirective[];
  /** The instructions, in order. */
  readonly nodes: readonly AstNode[];
  /** Warnings (empty continuation lines). */
  readonly warnings: readonly DockerfileWarning[];
}

/** Options of {@link parseAst}. */
export interface ParseAstOptions {
  /** The name to use in error messages (default `Dockerfile`). */
  readonly filename?: string;
  /** The escape character before any `# escape=` directive (default `\`). */
  readonly escapeToken?: EscapeToken;
}

const DIRECTIVE = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const DIRECTIVE_NAMES = new Set(['syntax', 'escape', 'check']);

/** Reads directives from the first lines until one line is not a directive. */
class DirectiveReader {
  private done = false;
  private readonly seen = new Set<string>();
  readonly directives: ParserDirective[] = [];

  /** Returns the directive on this line, if any. */
  read(token: string, line: number): ParserDirective | undefined {
    if (this.done) return undefined;
    const match = DIRECTIVE.exec(token);
    const name = match?.[1]!.toLowerCase();
    if (!match || name === undefined || !DIRECTIVE_NAMES.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new LineSyntaxError(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    const directive: ParserDirective = { name: name as ParserDirective['name'], value: match[2]!, line };
    this.directives.push(directive);
    return directive;
  }
}

function trimNewline(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === '\n' || line[end - 1] === '\r')) end--;
  return line.slice(0, end);
}

function trimLeadingSpace(line: string): string {
  let i = 0;
  while (i < line.length && isSpace(line[i]!)) i++;
  return line.slice(i);
}

function isComment(line: string): boolean {
  return trimLeadingSpace(line).startsWith('#');
}

function escapeRegex(token: EscapeToken): string {
  return token === '\\' ? '\\\\' : '`';
}

/**
 * A line ends in a continuation when its last non-blank character is the escape character, unless that one is
 * itself escaped (`\\` at the end is a literal backslash). A line holding only the escape character continues.
 */
function continuationPattern(token: EscapeToken): RegExp {
  const e = escapeRegex(token);
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function withLines(parsed: ParsedLine, original: string, startLine: number, endLine: number, text: string, heredocs: readonly Heredoc[]): AstNode {
  const child = parsed.child
    ? withLines(parsed.child, original.replace(/^\s*onbuild\s*/i, ''), startLine, endLine, text, [])
    : undefined;
  const node: AstNode = {
    keyword: parsed.keyword,
    flags: parsed.flags,
    args: parsed.args,
    json: parsed.json,
    original,
    heredocs,
    startLine,
    endLine,
    text,
  };
  return child ? { ...node, child } : node;
}

const HEREDOC_KEYWORDS = new Set(['add', 'copy', 'run']);

function canContainHeredoc(parsed: ParsedLine): boolean {
  const target = parsed.keyword.toLowerCase() === 'onbuild' && parsed.child ? parsed.child : parsed;
  return HEREDOC_KEYWORDS.has(target.keyword.toLowerCase()) && !target.json;
}

/**
 * Parses Dockerfile text into instruction nodes (BuildKit's parser rules). Nothing is expanded and keywords are
 * not checked here (an unknown keyword becomes a node with no arguments).
 * @throws DockerfileError for an invalid or repeated directive, a JSON array of non-strings, ENV/LABEL without a
 *   value, an unterminated heredoc, or a file without instructions.
 */
export function parseAst(text: string, options: ParseAstOptions = {}): DockerfileAst {
  const file = options.filename ?? 'Dockerfile';
  const lines = splitLines(text);
  const directives = new DirectiveReader();
  const nodes: AstNode[] = [];
  const warnings: DockerfileWarning[] = [];
  let escapeToken: EscapeToken = options.escapeToken ?? '\\';
  let continuation = continuationPattern(escapeToken);
  let index = 0; // next line to read, 0-based; also the number of lines read so far

  const fail = (reason: string, line: number, endLine: number, source: string | undefined, cause?: unknown): never => {
    throw new DockerfileError(reason, { file, line, endLine }, source, cause === undefined ? undefined : { cause });
  };

  const trimContinuation = (line: string): { line: string; end: boolean } =>
    continuation.test(line) ? { line: line.replace(continuation, '$1'), end: false } : { line, end: true };

  while (index < lines.length) {
    let raw = lines[index]!;
    if (index === 0 && raw.startsWith('\uFEFF')) raw = raw.slice(1);
    index++;
    const startLine = index;
    const startIndex = index - 1;

    let token = trimLeadingSpace(trimNewline(raw));
    try {
      const directive = directives.read(token, startLine);
      if (directive?.name === 'escape') {
        if (directive.value !== '\\' && directive.value !== '`') {
          throw new LineSyntaxError(`invalid escape character "${directive.value}": use \` or \\`);
        }
        escapeToken = directive.value;
        continuation = continuationPattern(escapeToken);
      }
    } catch (err) {
      if (err instanceof LineSyntaxError) fail(err.message, startLine, startLine, raw);
      throw err;
    }
    if (isComment(token)) token = '';

    let { line: joined, end } = trimContinuation(token);
    if (end && joined.length === 0) continue;

    let emptyContinuationLine = 0;
    while (!end && index < lines.length) {
      const next = lines[index]!;
      index++;
      if (isComment(next)) continue;
      const trimmed = trimNewline(next);
      if (trimLeadingSpace(trimmed).length === 0) {
        emptyContinuationLine ||= index;
        continue;
      }
      const part = trimContinuation(trimmed);
      joined += part.line;
      end = part.end;
    }
    if (emptyContinuationLine > 0) {
      warnings.push({ line: emptyContinuationLine, message: 'empty line inside a line continuation (BuildKit will reject it in a future release)' });
    }

    const source = (): string => lines.slice(startIndex, index).join('');
    let parsed: ParsedLine;
    try {
      parsed = parseLine(joined, escapeToken);
    } catch (err) {
      if (err instanceof LineSyntaxError) fail(err.message, startLine, index, source());
      throw err;
    }

    const heredocs: Heredoc[] = [];
    if (canContainHeredoc(parsed) && joined.includes('<<')) {
      let operators: HeredocOperator[];
      try {
        operators = heredocOperatorsInLine(joined);
      } catch (err) {
        return fail(`invalid heredoc: ${(err as Error).message}`, startLine, index, source(), err);
      }
      for (const operator of operators) {
        let content = '';
        let terminated = false;
        while (index < lines.length) {
          const bodyLine = lines[index]!;
          index++;
          let candidate = trimNewline(bodyLine);
          if (operator.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === operator.name) {
            terminated = true;
            break;
          }
          content += bodyLine.endsWith('\r\n') ? `${bodyLine.slice(0, -2)}\n` : bodyLine;
        }
        if (!terminated) {
          fail(`unterminated heredoc: no line "${operator.name}" ends the heredoc started here`, startLine, index, source());
        }
        heredocs.push({
          name: operator.name,
          content: operator.chomp ? chompHeredocContent(content) : content,
          expand: operator.expand,
          chomp: operator.chomp,
          fd: operator.fd,
        });
      }
    }
    nodes.push(withLines(parsed, joined, startLine, index, source(), heredocs));
  }

  if (nodes.length === 0) {
    fail(
      lines.length === 0 ? 'the Dockerfile is empty' : 'the Dockerfile has no instructions (only comments, directives or blank lines)',
      Math.max(1, lines.length),
      Math.max(1, lines.length),
      undefined,
    );
  }
  return { file, escapeToken, directives: directives.directives, nodes, warnings };
}
