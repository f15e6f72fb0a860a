import { processWords } from './shell-lexer.js';

/**
 * A here-document attached to RUN, COPY or ADD (`RUN <<EOF`, `COPY <<-'EOT' /dst`). For COPY/ADD its name is the
 * name of the file it creates.
 */
export interface Heredoc {
  /** The delimiter word with quotes removed, e.g. `EOF` for `<<"EOF"`. */
  readonly name: string;
  /**
   * The body: every line between the instruction and the delimiter line, each ending in `\n` (CRLF is turned
   * into LF). With `<<-` the leading tabs of every line are already removed.
   */
  readonly content: string;
  /** False when any part of the delimiter was quoted (`<<'EOF'`, `<<"EOF"`, `<<E"O"F`): the body is literal. */
  readonly expand: boolean;
  /** True for `<<-`: leading tabs were stripped from the body and may precede the delimiter line. */
  readonly chomp: boolean;
  /** The file descriptor written before `<<` (`3<<EOF`), 0 when none. */
  readonly fd: number;
}

/** A heredoc operator found on an instruction line, before its body is read. */
export interface HeredocOperator {
  /** The delimiter with quotes removed. */
  readonly name: string;
  /** False when any part of the delimiter was quoted. */
  readonly expand: boolean;
  /** True for `<<-`. */
  readonly chomp: boolean;
  /** The file descriptor before `<<`, 0 when none. */
  readonly fd: number;
}

const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;

function countQuotes(text: string): number {
  let count = 0;
  for (const ch of text) if (ch === "'" || ch === '"') count++;
  return count;
}

/**
 * Reads one word as a heredoc operator (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`), or returns undefined when the
 * word is not one (`<<`, `<EOF`, `<<<EOF`, or a delimiter that is more than one word).
 * @throws WordExpansionError when the delimiter has an unterminated quote (`<<'EOF`).
 */
export function parseHeredocOperator(word: string): HeredocOperator | undefined {
  const match = HEREDOC_WORD.exec(word);
  if (!match) return undefined;
  const rest = match[3]!;
  if (rest === '') return undefined;
  const words = processWords(rest, {}, { skipUnsetEnv: true });
  if (words.length !== 1) return undefined;
  const rawWords = processWords(rest, {}, { skipUnsetEnv: true, rawQuotes: true });
  const name = words[0]!;
  return {
    name,
    expand: countQuotes(name) === countQuotes(rawWords[0] ?? ''),
    chomp: match[2] === '-',
    fd: match[1] === '' ? 0 : Number.parseInt(match[1]!, 10),
  };
}

/**
 * The heredoc operators of an instruction line, in order. Quoted or escaped `<<` is not an operator. A line that
 * cannot be split into words (an unterminated quote) has none.
 * @throws WordExpansionError for an operator with an unterminated quote in its delimiter.
 */
export function heredocOperatorsInLine(line: string): HeredocOperator[] {
  let words: string[];
  try {
    words = processWords(line, {}, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  } catch {
    return [];
  }
  const operators: HeredocOperator[] = [];
  for (const word of words) {
    const operator = parseHeredocOperator(word);
    if (operator) operators.push(operator);
  }
  return operators;
}

/** Removes the leading tabs of every line, as `<<-` asks. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
