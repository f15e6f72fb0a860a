import { TsbuildError } from '@tsbuild/oci';

/** Where a problem sits in a Dockerfile: the file name as the user knows it and 1-based lines. */
export interface SourceLocation {
  /** The Dockerfile's name for messages, e.g. `Dockerfile` or `app/Dockerfile.prod`. */
  readonly file: string;
  /** First line (1-based). */
  readonly line: number;
  /** Last line (1-based), when the problem spans several lines. */
  readonly endLine?: number;
}

const MAX_EXCERPT = 100;

function excerpt(text: string): string {
  const first = text.split('\n', 1)[0]!.replace(/\r$/, '').trim();
  return first.length > MAX_EXCERPT ? `${first.slice(0, MAX_EXCERPT - 1)}…` : first;
}

/**
 * A Dockerfile that cannot be parsed, planned or expanded. The message starts with `<file>:<line>: ` and, when
 * there is one, ends by quoting the offending text, e.g.
 * ``Dockerfile:3: unknown instruction "FOO" (in `FOO bar`)``.
 */
export class DockerfileError extends TsbuildError {
  /** The Dockerfile's name as given to the parser. */
  readonly file: string;
  /** First line of the offending instruction (1-based). */
  readonly line: number;
  /** Last line of the offending instruction (1-based). */
  readonly endLine: number;
  /** What is wrong, without the location prefix. */
  readonly reason: string;
  /** The offending text, when known. */
  readonly text: string | undefined;

  constructor(reason: string, location: SourceLocation, text?: string, options?: { cause?: unknown }) {
    const quoted = text !== undefined && text.trim() !== '' ? ` (in \`${excerpt(text)}\`)` : '';
    super('DOCKERFILE', `${location.file}:${location.line}: ${reason}${quoted}`, options);
    this.file = location.file;
    this.line = location.line;
    this.endLine = location.endLine ?? location.line;
    this.reason = reason;
    this.text = text;
  }
}

/**
 * A word that cannot be expanded: a variable syntax error (`${}`, `${X:=y}`, a missing `}`), an unterminated quote,
 * or a `${X?message}` / `${X:?message}` whose variable is unset or empty. It has no location: callers that know
 * the instruction turn it into a {@link DockerfileError}.
 */
export class WordExpansionError extends TsbuildError {
  /** The word that was being expanded. */
  readonly word: string;
  /** What is wrong with it. */
  readonly reason: string;

  constructor(word: string, reason: string) {
    super('WORD_EXPANSION', `failed to expand ${JSON.stringify(word)}: ${reason}`);
    this.word = word;
    this.reason = reason;
  }
}
