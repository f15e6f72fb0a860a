import { WordExpansionError } from './errors.js';

/** The escape character of a Dockerfile: `\` by default, or `` ` `` with `# escape=``. */
export type EscapeToken = '\\' | '`';

/**
 * Variables a word is expanded against: a map, a plain object (own properties only), or a lookup function that
 * returns `undefined` for an unset variable. A variable set to `''` is set (it matters for `${V-x}` and `${V?}`).
 */
export type Environment =
  | ReadonlyMap<string, string>
  | Readonly<Record<string, string>>
  | ((name: string) => string | undefined);

/** How the lexer treats quotes, escapes and unset variables. The defaults are what Dockerfile instructions use. */
export interface LexOptions {
  /** The escape character (default `\`). */
  readonly escapeToken?: EscapeToken;
  /** Keep quote characters in the result instead of removing them. */
  readonly rawQuotes?: boolean;
  /** Keep escape characters in the result instead of removing them. */
  readonly rawEscapes?: boolean;
  /** Treat `'` and `"` as ordinary characters (used for the content of COPY/ADD heredocs). */
  readonly skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`) instead of expanding them. */
  readonly skipUnsetEnv?: boolean;
}

/** The result of expanding one word, with the variables it referred to. */
export interface WordExpansion {
  /** The expanded word, quotes removed. */
  readonly value: string;
  /** Names that were looked up and found set. */
  readonly matched: ReadonlySet<string>;
  /** Names that were looked up and found unset. */
  readonly unmatched: ReadonlySet<string>;
}

/** Turns any {@link Environment} into a lookup function. */
export function environmentLookup(env: Environment): (name: string) => string | undefined {
  if (typeof env === 'function') return env;
  if (env instanceof Map) return (name) => env.get(name);
  const record = env as Readonly<Record<string, string>>;
  return (name) => (Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined);
}

const WHITE_SPACE = /^\p{White_Space}$/u;
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

/** Whether a character is white space in Go's `unicode.IsSpace` sense (the Unicode White_Space property). */
export function isSpace(ch: string): boolean {
  return WHITE_SPACE.test(ch);
}

function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch);
}

/** Raised inside the lexer; turned into a {@link WordExpansionError} naming the whole word. */
class LexFailure extends Error {}

/** Collects the fields of a word for field splitting: unquoted white space from plain text or variables splits. */
class FieldCollector {
  private buffer = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buffer.length > 0) {
        this.words.push(this.buffer);
        this.buffer = '';
        this.inWord = false;
      }
      return;
    }
    this.addRawChar(ch);
  }

  addRawChar(ch: string): void {
    this.buffer += ch;
    this.inWord = true;
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  addRawString(text: string): void {
    this.buffer += text;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.buffer.length > 0) {
      this.words.push(this.buffer);
      this.buffer = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** One pass of the lexer over one word. */
class WordScanner {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    word: string,
    private readonly lookup: (name: string) => string | undefined,
    private readonly options: Required<LexOptions>,
  ) {
    this.chars = Array.from(word);
    this.rawEscapes = options.rawEscapes;
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    if (this.pos >= this.chars.length) return undefined;
    return this.chars[this.pos++];
  }

  run(): { value: string; words: string[] } {
    return this.processUntil(undefined, this.options.rawEscapes);
  }

  /** Processes characters up to `stop` (consumed) or the end of the word when `stop` is undefined. */
  private processUntil(stop: string | undefined, rawEscapes: boolean): { value: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const fields = new FieldCollector();
      const { escapeToken, skipProcessQuotes } = this.options;
      for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
        if (stop !== undefined && ch === stop) {
          this.next();
          return { value: result, words: fields.finish() };
        }
        if (ch === '$') {
          const expanded = this.processDollar();
          result += expanded;
          fields.addString(expanded);
          continue;
        }
        if (!skipProcessQuotes && (ch === "'" || ch === '"')) {
          const quoted = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += quoted;
          fields.addRawString(quoted);
          continue;
        }
        this.next();
        if (ch === escapeToken) {
          if (this.rawEscapes) {
            fields.addRawChar(ch);
            result += ch;
          }
          const escaped = this.next();
          if (escaped === undefined) break;
          fields.addRawChar(escaped);
          result += escaped;
        } else {
          fields.addChar(ch);
          result += ch;
        }
      }
      if (stop !== undefined) throw new LexFailure(`unexpected end of statement while looking for matching ${stop}`);
      return { value: result, words: fields.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    const open = this.next()!;
    let result = this.options.rawQuotes ? open : '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new LexFailure('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return this.options.rawQuotes ? result + ch : result;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    const open = this.next()!;
    let result = this.options.rawQuotes ? open : '';
    const { escapeToken } = this.options;
    for (;;) {
      const peeked = this.peek();
      if (peeked === undefined) {
        throw new LexFailure('unexpected end of statement while looking for matching double-quote');
      }
      if (peeked === '"') {
        this.next();
        return this.options.rawQuotes ? result + peeked : result;
      }
      if (peeked === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next()!;
      if (ch === escapeToken) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === undefined) continue; // an escape at the very end is dropped; the loop then fails
        if (after === '"' || after === '$' || after === escapeToken) ch = this.next()!;
      }
      result += ch;
    }
  }

  private processName(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && DIGIT.test(ch)) {
        while (this.peek() !== undefined && DIGIT.test(this.peek()!)) name += this.next();
        return name;
      }
      if (name === '' && isSpecialParam(ch)) return this.next()!;
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private getEnv(name: string): { value: string; set: boolean } {
    const value = this.lookup(name);
    if (value !== undefined) {
      this.matched.add(name);
      return { value, set: true };
    }
    this.unmatched.add(name);
    return { value: '', set: false };
  }

  private processDollar(): string {
    this.next(); // '$'
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const { value, set } = this.getEnv(name);
      if (!set && this.options.skipUnsetEnv) return `$${name}`;
      return value;
    }
    this.next(); // '{'
    const first = this.peek();
    if (first === undefined) throw new LexFailure("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexFailure('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    if (ch === undefined) throw new LexFailure("syntax error: missing '}'");
    let modifier = ch;
    switch (ch) {
      case '}': {
        const { value, set } = this.getEnv(name);
        if (!set && this.options.skipUnsetEnv) return `\${${name}}`;
        return value;
      }
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        const nullIsUnset = ch === ':';
        if (nullIsUnset) {
          ch = this.next();
          modifier += ch ?? '';
        }
        const rawEscapes = ch === '#' || ch === '%';
        if (nullIsUnset && rawEscapes) throw new LexFailure(`unsupported modifier (${modifier}) in substitution`);
        let word: string;
        try {
          word = this.processUntil('}', rawEscapes).value;
        } catch (err) {
          if (err instanceof LexFailure && this.peek() === undefined) throw new LexFailure("syntax error: missing '}'");
          throw err;
        }
        const { value, set } = this.getEnv(name);
        if (this.options.skipUnsetEnv && !set) return `\${${name}${modifier}${word}}`;
        switch (ch) {
          case '-':
            return !set || (nullIsUnset && value === '') ? word : value;
          case '+':
            return !set || (nullIsUnset && value === '') ? '' : word;
          case '?':
            if (!set) throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
            if (nullIsUnset && value === '') {
              throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
            }
            return value;
          case '%':
          case '#': {
            const greedy = word.startsWith(ch);
            const pattern = greedy ? word.slice(1) : word;
            return ch === '%' ? trimSuffix(pattern, value, greedy) : trimPrefix(pattern, value, greedy);
          }
          default:
            throw new LexFailure(`unsupported modifier (${modifier}) in substitution`);
        }
      }
      case '/': {
        const replaceAll = this.peek() === '/';
        if (replaceAll) this.next();
        let pattern: string;
        try {
          pattern = this.processUntil('/', true).value;
        } catch (err) {
          if (err instanceof LexFailure && this.peek() === undefined) throw new LexFailure("syntax error: missing '/' in ${}");
          throw err;
        }
        let replacement: string;
        try {
          replacement = this.processUntil('}', true).value;
        } catch (err) {
          if (err instanceof LexFailure && this.peek() === undefined) throw new LexFailure("syntax error: missing '}'");
          throw err;
        }
        const { value, set } = this.getEnv(name);
        if (this.options.skipUnsetEnv && !set) return `\${${name}/${pattern}/${replacement}}`;
        const re = shellPatternToRegex(pattern, true, false, replaceAll);
        if (replaceAll) return value.replace(re, () => replacement);
        const match = re.exec(value);
        return match ? value.slice(0, match.index) + replacement + value.slice(match.index + match[0].length) : value;
      }
      default:
        throw new LexFailure(`unsupported modifier (${modifier}) in substitution`);
    }
  }
}

const REGEX_SPECIALS = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

/**
 * Converts a shell wildcard pattern (`*` any string, `?` one character, `\` escaping `*`, `?` or `\`; no bracket
 * expressions) to a regular expression, anchored at the start when `anchored`.
 */
function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '[^\\n]*' : '[^\\n]*?';
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i]!;
    if (tok === '*') {
      out += star;
    } else if (tok === '?') {
      out += '[^\\n]';
    } else if (tok === '\\') {
      const after = chars[i + 1];
      if (after === '}' || after === '/') continue;
      i++;
      if (after !== '*' && after !== '?' && after !== '\\') {
        throw new LexFailure(`invalid pattern (${pattern}) in substitution: invalid escape '\\${after ?? ''}'`);
      }
      out += `\\${after}`;
    } else if (REGEX_SPECIALS.has(tok)) {
      out += `\\${tok}`;
    } else {
      out += tok;
    }
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const match = shellPatternToRegex(pattern, greedy, true).exec(value);
  return match ? value.slice(match.index + match[0].length) : value;
}

/** Reverses a pattern while keeping each escape before the character it escapes (`a\*c` → `c\*a`). */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = chars[i]!;
    const at = last - i;
    if (tok === '\\' && i !== last) {
      out[at - 1] = tok;
      out[at] = chars[i + 1]!;
      i += 2;
    } else {
      out[at] = tok;
      i += 1;
    }
  }
  return out.join('');
}

function reverseString(text: string): string {
  return Array.from(text).reverse().join('');
}

/** Shortest (or, greedy, longest) suffix removal: reverse both sides and remove a prefix. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

function fullOptions(options: LexOptions | undefined): Required<LexOptions> {
  return {
    escapeToken: options?.escapeToken ?? '\\',
    rawQuotes: options?.rawQuotes ?? false,
    rawEscapes: options?.rawEscapes ?? false,
    skipProcessQuotes: options?.skipProcessQuotes ?? false,
    skipUnsetEnv: options?.skipUnsetEnv ?? false,
  };
}

function scan(word: string, env: Environment, options: LexOptions | undefined) {
  const scanner = new WordScanner(word, environmentLookup(env), fullOptions(options));
  try {
    const { value, words } = scanner.run();
    return { value, words, matched: scanner.matched, unmatched: scanner.unmatched };
  } catch (err) {
    if (err instanceof LexFailure) throw new WordExpansionError(word, err.message);
    throw err;
  }
}

/**
 * Expands one Dockerfile word as BuildKit does: `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`,
 * `${V:?msg}`, `${V?msg}`, `${V#p}`, `${V##p}`, `${V%s}`, `${V%%s}`, `${V/a/b}`, `${V//a/b}`; single quotes keep
 * everything literal, double quotes allow `$` and escaping of `"`, `$` and the escape character, and quotes are
 * removed. Unquoted white space is kept (no field splitting).
 * @throws WordExpansionError for a syntax error, an unterminated quote or a failed `${V?msg}`.
 */
export function processWord(word: string, env: Environment, options?: LexOptions): string {
  return scan(word, env, options).value;
}

/**
 * Like {@link processWord}, and also reports which variables the word referred to (set and unset), e.g. to know
 * which build args a step uses.
 * @throws WordExpansionError as {@link processWord}.
 */
export function processWordWithMatches(word: string, env: Environment, options?: LexOptions): WordExpansion {
  const { value, matched, unmatched } = scan(word, env, options);
  return { value, matched, unmatched };
}

/**
 * Expands a text and splits it into fields on unquoted white space, including white space that comes from
 * variable values; quoted or escaped white space does not split, and empty fields are dropped.
 * @throws WordExpansionError as {@link processWord}.
 */
export function processWords(text: string, env: Environment, options?: LexOptions): string[] {
  return scan(text, env, options).words;
}
