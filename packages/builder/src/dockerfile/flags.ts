/** The `--flag` rules of each instruction: which flags it takes and what kind of value each one has. */

/** `string`: `--name=value`; `bool`: `--name`, `--name=true|false`; `strings`: repeatable `--name=value`. */
export type FlagKind = 'string' | 'bool' | 'strings';

/** The flags one instruction accepts. */
export type FlagSpec = Readonly<Record<string, FlagKind>>;

/** Flags each instruction accepts (BuildKit's set; instructions not listed take none). */
export const INSTRUCTION_FLAGS: Readonly<Record<string, FlagSpec>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    checksum: 'string',
    'keep-git-dir': 'bool',
    unpack: 'bool',
    exclude: 'strings',
  },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** A flag problem; the caller adds the location. */
export class FlagError extends Error {}

/** Parsed flag values: strings for `string`, booleans for `bool`, arrays for `strings`. */
export class ParsedFlags {
  constructor(private readonly values: ReadonlyMap<string, string | boolean | readonly string[]>) {}

  /** A `string` flag's value, if given. */
  string(name: string): string | undefined {
    const value = this.values.get(name);
    return typeof value === 'string' ? value : undefined;
  }

  /** A `bool` flag's value, if given. */
  bool(name: string): boolean | undefined {
    const value = this.values.get(name);
    return typeof value === 'boolean' ? value : undefined;
  }

  /** A `strings` flag's values (empty when not given). */
  strings(name: string): readonly string[] {
    const value = this.values.get(name);
    return Array.isArray(value) ? (value as readonly string[]) : [];
  }
}

function describeAccepted(keyword: string, spec: FlagSpec): string {
  const names = Object.keys(spec).sort();
  return names.length === 0 ? `${keyword} takes no flags` : `${keyword} takes ${names.map((n) => `--${n}`).join(', ')}`;
}

function otherInstructionsTaking(name: string, keyword: string): string[] {
  return Object.entries(INSTRUCTION_FLAGS)
    .filter(([other, spec]) => other !== keyword && Object.prototype.hasOwnProperty.call(spec, name))
    .map(([other]) => other);
}

/**
 * Checks the raw flag words of an instruction (`--from=build`, `--link`) against what it accepts.
 * @throws FlagError for an unknown flag, a repeated one, a missing value or a non-boolean value for a bool flag.
 */
export function parseFlags(keyword: string, raw: readonly string[]): ParsedFlags {
  const spec = INSTRUCTION_FLAGS[keyword] ?? {};
  const values = new Map<string, string | boolean | string[]>();
  for (const word of raw) {
    if (!word.startsWith('--')) throw new FlagError(`flag "${word}" must start with --`);
    const body = word.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const kind = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    if (kind === undefined) {
      const elsewhere = otherInstructionsTaking(name, keyword);
      const hint = elsewhere.length > 0 ? ` (--${name} is a flag of ${elsewhere.join(' and ')})` : '';
      throw new FlagError(`unknown flag --${name} for ${keyword}${hint}; ${describeAccepted(keyword, spec)}`);
    }
    if (values.has(name) && kind !== 'strings') throw new FlagError(`flag --${name} is given more than once`);
    switch (kind) {
      case 'bool': {
        if (value === '') throw new FlagError(`missing a value on flag --${name} (use --${name} or --${name}=true|false)`);
        const lower = value?.toLowerCase();
        if (lower === undefined || lower === 'true') values.set(name, true);
        else if (lower === 'false') values.set(name, false);
        else throw new FlagError(`flag --${name} expects true or false, not "${value}"`);
        break;
      }
      case 'string':
        if (value === undefined) throw new FlagError(`missing a value on flag --${name} (use --${name}=value)`);
        values.set(name, value);
        break;
      case 'strings': {
        if (value === undefined) throw new FlagError(`missing a value on flag --${name} (use --${name}=value)`);
        const list = values.get(name);
        if (Array.isArray(list)) list.push(value);
        else values.set(name, [value]);
        break;
      }
    }
  }
  return new ParsedFlags(values);
}
