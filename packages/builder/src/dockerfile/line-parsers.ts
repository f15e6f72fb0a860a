/**
 * Splits one logical Dockerfile line (continuations already joined) into keyword, `--flags` and argument nodes,
 * following the rules of BuildKit's parser: which instructions take JSON, which split on white space, how ENV and
 * LABEL pairs and ARG words are cut. Nothing is expanded and quotes are kept, except inside decoded JSON.
 */
import type { EscapeToken } from './shell-lexer.js';
import { isSpace } from './shell-lexer.js';

/** A problem in one logical line; the caller adds the location. */
export class LineSyntaxError extends Error {}

/** The argument nodes of one logical line. */
export interface ParsedLine {
  /** The instruction keyword as written (`run`, `RUN`, `Run`). */
  readonly keyword: string;
  /** `--name[=value]` words before the arguments, quotes removed; a lone `--` ends them and is dropped. */
  readonly flags: readonly string[];
  /** The argument nodes; their meaning depends on the instruction (see {@link parseLine}). */
  readonly args: readonly string[];
  /** True when the arguments came from a JSON array (exec form). */
  readonly json: boolean;
  /** The instruction an ONBUILD line carries. */
  readonly child?: ParsedLine;
}

/** Separators of BuildKit's `reWhitespace`: space, tab, vertical tab, form feed, carriage return. */
const WHITESPACE_RUN = /[\t\v\f\r ]+/;

// White space is all in the BMP, so scanning UTF-16 code units finds the same ends as scanning code points.
function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start]!)) start++;
  while (end > start && isSpace(text[end - 1]!)) end--;
  return text.slice(start, end);
}

function trimLeftSpace(text: string): string {
  let i = 0;
  while (i < text.length && isSpace(text[i]!)) i++;
  return text.slice(i);
}

/** Splits at the first run of white space into at most two parts. */
function splitOnce(text: string): [string] | [string, string] {
  const match = WHITESPACE_RUN.exec(text);
  if (!match) return [text];
  return [text.slice(0, match.index), text.slice(match.index + match[0].length)];
}

/**
 * Reads the leading `--flag` words of an argument text. Flag words may contain quotes (removed) and `\` escapes.
 * Returns the flags and the text after them.
 */
export function extractFlags(text: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  const chars = Array.from(text);
  let pos = 0;
  for (;;) {
    while (pos < chars.length && isSpace(chars[pos]!)) pos++;
    if (pos >= chars.length) return { flags, rest: '' };
    if (chars[pos] !== '-' || chars[pos + 1] !== '-') return { flags, rest: chars.slice(pos).join('') };
    let word = '';
    let quote: string | undefined;
    let blankOk = false;
    for (; pos < chars.length; pos++) {
      const ch = chars[pos]!;
      if (quote === undefined) {
        if (isSpace(ch)) break;
        if (ch === "'" || ch === '"') {
          quote = ch;
          blankOk = true;
          continue;
        }
      } else if (ch === quote) {
        quote = undefined;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === chars.length) continue; // a trailing backslash is dropped
        pos++;
        word += chars[pos];
        continue;
      }
      word += ch;
    }
    if (word === '--') {
      // `--` ends the flags; the rest of the line is the arguments.
      return { flags, rest: chars.slice(pos).join('') };
    }
    if (blankOk || word.length > 0) flags.push(word);
  }
}

/**
 * Splits text into words on unquoted white space, keeping quotes and escapes in the words (BuildKit's
 * `parseWords`, used by ENV, LABEL and ARG). The escape character keeps the next character in the word, even a
 * quote; inside single quotes it is literal.
 */
export function splitWordsKeepingQuotes(text: string, escapeToken: EscapeToken): string[] {
  const words: string[] = [];
  const chars = Array.from(text);
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  let blankOk = false;
  for (let pos = 0; pos < chars.length; pos++) {
    let ch = chars[pos]!;
    if (!inWord) {
      if (isSpace(ch)) continue;
      inWord = true;
    }
    if (quote === undefined) {
      if (isSpace(ch)) {
        if (blankOk || word.length > 0) words.push(word);
        word = '';
        blankOk = false;
        inWord = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
      } else if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue; // an escape at the very end is dropped
        word += ch;
        pos++;
        ch = chars[pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      quote = undefined;
    } else if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        quote = undefined;
        continue;
      }
      word += ch;
      pos++;
      ch = chars[pos]!;
    }
    word += ch;
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word);
  return words;
}

/** The result of trying to read an argument text as a JSON array of strings. */
type JsonArgs = { kind: 'json'; args: string[] } | { kind: 'not-json' };

/** A JSON array whose elements are not all strings (`CMD ["a", 1]`, `CMD ["a", ["b"]]`): BuildKit rejects it. */
export class NotStringArrayError extends LineSyntaxError {
  constructor() {
    super('the JSON array must contain only strings (exec form); nested arrays, numbers and null are not allowed');
  }
}

/** Reads `["a", "b"]`. Text that is not a valid JSON array is not JSON (the shell form applies). */
export function parseJsonArgs(text: string): JsonArgs {
  const trimmed = trimLeftSpace(text);
  if (!trimmed.startsWith('[')) return { kind: 'not-json' };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { kind: 'not-json' };
  }
  if (!Array.isArray(value)) return { kind: 'not-json' };
  if (!value.every((item): item is string => typeof item === 'string')) throw new NotStringArrayError();
  return { kind: 'json', args: value };
}

interface ParsedArgs {
  args: string[];
  json: boolean;
  child?: ParsedLine;
}

type ArgsParser = (rest: string, escapeToken: EscapeToken) => ParsedArgs;

const noArgs = (): ParsedArgs => ({ args: [], json: false });

/** The whole rest of the line as one node (MAINTAINER, STOPSIGNAL, USER, WORKDIR). */
const parseString: ArgsParser = (rest) => (rest === '' ? noArgs() : { args: [rest], json: false });

/** Words split on white space, quotes kept (FROM, EXPOSE). */
const parseWhitespaceDelimited: ArgsParser = (rest) =>
  rest === '' ? noArgs() : { args: rest.split(WHITESPACE_RUN), json: false };

/** JSON array (exec form) or the whole rest as one node (RUN, CMD, ENTRYPOINT, SHELL). */
const parseMaybeJson: ArgsParser = (rest) => {
  if (rest === '') return noArgs();
  const json = parseJsonArgs(rest);
  if (json.kind === 'json') return { args: json.args, json: true };
  return { args: [rest], json: false };
};

/** JSON array or words split on white space (COPY, ADD, VOLUME). */
const parseMaybeJsonToList: ArgsParser = (rest, escapeToken) => {
  const json = parseJsonArgs(rest);
  if (json.kind === 'json') return { args: json.args, json: true };
  return parseWhitespaceDelimited(rest, escapeToken);
};

/**
 * ENV and LABEL: `KEY value with spaces` (legacy form: the whole rest is the value) or `k=v k2="v 2" ...`.
 * Each pair becomes three nodes: key, value, separator (`""` for the legacy form, `"="` otherwise).
 */
function parseNameValue(keyword: string): ArgsParser {
  return (rest, escapeToken) => {
    const words = splitWordsKeepingQuotes(rest, escapeToken);
    if (words.length === 0) return noArgs();
    if (!words[0]!.includes('=')) {
      const parts = splitOnce(rest);
      if (parts.length < 2) {
        throw new LineSyntaxError(`${keyword} needs a value: use ${keyword} name=value (or the older ${keyword} name value)`);
      }
      return { args: [parts[0], parts[1]!, ''], json: false };
    }
    const args: string[] = [];
    for (const word of words) {
      const eq = word.indexOf('=');
      if (eq < 0) {
        throw new LineSyntaxError(`${keyword}: cannot find "=" in "${word}"; each item must have the form name=value`);
      }
      args.push(word.slice(0, eq), word.slice(eq + 1), '=');
    }
    return { args, json: false };
  };
}

/** ARG: the raw `name[=value]` words. */
const parseNameOrNameValue: ArgsParser = (rest, escapeToken) => ({
  args: splitWordsKeepingQuotes(rest, escapeToken),
  json: false,
});

/** HEALTHCHECK: the type word (`CMD`, `NONE`), then JSON or one shell-form node. */
const parseHealthcheck: ArgsParser = (rest, escapeToken) => {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep]!)) sep++;
  if (sep === 0) return noArgs();
  let next = sep;
  while (next < rest.length && isSpace(rest[next]!)) next++;
  const command = parseMaybeJson(rest.slice(next), escapeToken);
  return { args: [rest.slice(0, sep), ...command.args], json: command.json };
};

/** ONBUILD: the trigger instruction, parsed as a line of its own. */
const parseSubCommand: ArgsParser = (rest, escapeToken) => {
  if (rest === '') return noArgs();
  return { args: [], json: false, child: parseLine(rest, escapeToken) };
};

const PARSERS: Readonly<Record<string, ArgsParser>> = {
  add: parseMaybeJsonToList,
  arg: parseNameOrNameValue,
  cmd: parseMaybeJson,
  copy: parseMaybeJsonToList,
  entrypoint: parseMaybeJson,
  env: parseNameValue('ENV'),
  expose: parseWhitespaceDelimited,
  from: parseWhitespaceDelimited,
  healthcheck: parseHealthcheck,
  label: parseNameValue('LABEL'),
  maintainer: parseString,
  onbuild: parseSubCommand,
  run: parseMaybeJson,
  shell: parseMaybeJson,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJsonToList,
  workdir: parseString,
};

/**
 * Parses one logical line into keyword, flags and argument nodes. An unknown keyword gets no arguments (the
 * typed layer reports it).
 * @throws LineSyntaxError for a JSON array of non-strings, or ENV/LABEL without a value or `=`.
 */
export function parseLine(line: string, escapeToken: EscapeToken): ParsedLine {
  const parts = splitOnce(trimSpace(line));
  const keyword = parts[0];
  let flags: string[] = [];
  let rest = '';
  if (parts.length === 2) {
    const extracted = extractFlags(parts[1]!);
    flags = extracted.flags;
    rest = trimSpace(extracted.rest);
  }
  const parser = PARSERS[keyword.toLowerCase()];
  const parsed: ParsedArgs = parser ? parser(rest, escapeToken) : noArgs();
  const result: ParsedLine = { keyword, flags, args: parsed.args, json: parsed.json };
  return parsed.child ? { ...result, child: parsed.child } : result;
}
