/**
 * The second stage of the front end: one AST node → one typed instruction, with its flags checked against what
 * the instruction accepts and its arguments checked for shape.
 */
import type { AstNode } from './ast.js';
import { DurationSyntaxError, parseGoDuration } from './duration.js';
import { DockerfileError } from './errors.js';
import { FlagError, parseFlags, type ParsedFlags } from './flags.js';
import { parseHeredocOperator, type Heredoc } from './heredoc.js';
import type {
  AddInstruction,
  ArgDeclaration,
  CommandLine,
  CopyInstruction,
  HealthcheckCommand,
  HealthcheckNone,
  Instruction,
  InstructionBase,
  Keyword,
  KeyValue,
  RunNetwork,
  RunSecurity,
  SourcesAndDest,
} from './instructions.js';
import { checkMountSpec, MountSyntaxError } from './mount.js';

/** A shape problem of one instruction; converted into a located {@link DockerfileError}. */
class InstructionSyntaxError extends Error {}

const KEYWORDS: readonly Keyword[] = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
];

/** The first stage name rule of BuildKit: lower-case letter first, then letters, digits, `-`, `_`, `.`. */
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** Levenshtein distance between two words (for "did you mean" suggestions). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function suggestKeyword(word: string): string {
  const upper = word.toUpperCase();
  const best = KEYWORDS.map((keyword) => ({ keyword, distance: editDistance(upper, keyword) })).sort((a, b) => a.distance - b.distance)[0];
  const allowed = upper.length >= 6 ? 2 : 1;
  return best && best.distance <= allowed ? ` (did you mean ${best.keyword}?)` : '';
}

function isKeyword(word: string): word is Keyword {
  return (KEYWORDS as readonly string[]).includes(word);
}

function commandLine(node: AstNode): CommandLine {
  return node.json ? { form: 'exec', command: node.args } : { form: 'shell', command: node.args.join(' ') };
}

function requireCommand(keyword: 'RUN' | 'CMD' | 'ENTRYPOINT', node: AstNode): CommandLine {
  if (!node.json && node.args.length === 0) {
    throw new InstructionSyntaxError(`${keyword} requires a command${keyword === 'RUN' ? '' : ` (${keyword} [] sets an empty one)`}`);
  }
  if (keyword === 'RUN' && node.args.length === 0) throw new InstructionSyntaxError('RUN [] has no command to run');
  return commandLine(node);
}

function exactlyOne(keyword: string, node: AstNode): string {
  if (node.args.length !== 1) throw new InstructionSyntaxError(`${keyword} requires exactly one argument`);
  return node.args[0]!;
}

function keyValues(keyword: string, node: AstNode): KeyValue[] {
  if (node.args.length === 0) throw new InstructionSyntaxError(`${keyword} requires at least one name=value pair`);
  const pairs: KeyValue[] = [];
  for (let i = 0; i < node.args.length; i += 3) {
    const key = node.args[i]!;
    if (key === '') throw new InstructionSyntaxError(`${keyword} names can not be blank`);
    pairs.push({ key, value: node.args[i + 1] ?? '' });
  }
  return pairs;
}

function optionalDuration(flags: ParsedFlags, name: string): number | undefined {
  const text = flags.string(name);
  if (text === undefined || text === '') return undefined;
  let nanoseconds: number;
  try {
    nanoseconds = parseGoDuration(text);
  } catch (err) {
    if (err instanceof DurationSyntaxError) throw new InstructionSyntaxError(`--${name}: ${err.message}`);
    throw err;
  }
  if (nanoseconds !== 0 && nanoseconds < 1e6) {
    throw new InstructionSyntaxError(`--${name}=${text} is too short: use 0 (the default) or at least 1ms`);
  }
  return nanoseconds;
}

function sourcesAndDest(keyword: 'COPY' | 'ADD', node: AstNode, flags: ParsedFlags): SourcesAndDest {
  if (node.args.length < 2) {
    throw new InstructionSyntaxError(`${keyword} requires at least two arguments: a source and a destination`);
  }
  const dest = node.args[node.args.length - 1]!;
  const sources: string[] = [];
  const heredocs: Heredoc[] = [];
  if (!node.json && parseHeredocSafely(dest)) {
    throw new InstructionSyntaxError(`${keyword} cannot use a heredoc as its destination`);
  }
  for (const source of node.args.slice(0, -1)) {
    const operator = node.json ? undefined : parseHeredocSafely(source);
    if (!operator) {
      sources.push(source);
      continue;
    }
    const body = node.heredocs.find((heredoc) => heredoc.name === operator.name);
    if (!body) throw new InstructionSyntaxError(`${keyword} heredoc "${operator.name}" has no body`);
    heredocs.push(body);
  }
  return {
    sources,
    heredocs,
    dest,
    json: node.json,
    ...optional('chown', flags.string('chown')),
    ...optional('chmod', flags.string('chmod')),
    link: flags.bool('link') ?? false,
    excludes: flags.strings('exclude'),
  };
}

function parseHeredocSafely(word: string) {
  try {
    return parseHeredocOperator(word);
  } catch {
    return undefined;
  }
}

/** `{ [key]: value }` when value is defined, `{}` otherwise (keeps optional properties absent, not undefined). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function toTyped(node: AstNode, file: string, keyword: Keyword, flags: ParsedFlags): Instruction {
  const base = <K extends Keyword>(k: K): InstructionBase<K> => ({
    keyword: k,
    original: node.original,
    file,
    startLine: node.startLine,
    endLine: node.endLine,
  });
  switch (keyword) {
    case 'FROM': {
      const args = node.args;
      let alias: string | undefined;
      if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
        alias = args[2]!.toLowerCase();
        if (!STAGE_NAME.test(alias)) {
          throw new InstructionSyntaxError(
            `invalid stage name "${args[2]}": it must start with a letter and contain only letters, digits, "-", "_" and "."`,
          );
        }
      } else if (args.length !== 1) {
        throw new InstructionSyntaxError('FROM requires either one or three arguments: FROM image [AS name]');
      }
      return { ...base('FROM'), image: args[0]!, ...optional('platform', flags.string('platform')), ...optional('alias', alias) };
    }
    case 'RUN': {
      const command = requireCommand('RUN', node);
      const mounts = flags.strings('mount');
      for (const spec of mounts) checkMountSpec(spec);
      const network = flags.string('network');
      if (network !== undefined && network !== 'default' && network !== 'none' && network !== 'host') {
        throw new InstructionSyntaxError(`unsupported --network=${network} (use default, none or host)`);
      }
      const security = flags.string('security');
      if (security !== undefined && security !== 'sandbox' && security !== 'insecure') {
        throw new InstructionSyntaxError(`unsupported --security=${security} (use sandbox or insecure)`);
      }
      return {
        ...base('RUN'),
        ...command,
        heredocs: node.heredocs,
        mounts,
        ...optional<'network', RunNetwork>('network', network),
        ...optional<'security', RunSecurity>('security', security),
      };
    }
    case 'CMD':
      return { ...base('CMD'), ...requireCommand('CMD', node) };
    case 'ENTRYPOINT':
      return { ...base('ENTRYPOINT'), ...requireCommand('ENTRYPOINT', node) };
    case 'COPY': {
      const copy: CopyInstruction = {
        ...base('COPY'),
        ...sourcesAndDest('COPY', node, flags),
        ...optional('from', flags.string('from')),
        parents: flags.bool('parents') ?? false,
      };
      if (copy.from === '') throw new InstructionSyntaxError('--from needs a stage name, a stage index or an image');
      return copy;
    }
    case 'ADD': {
      const add: AddInstruction = {
        ...base('ADD'),
        ...sourcesAndDest('ADD', node, flags),
        ...optional('checksum', flags.string('checksum')),
        keepGitDir: flags.bool('keep-git-dir') ?? false,
        ...optional('unpack', flags.bool('unpack')),
      };
      return add;
    }
    case 'ENV':
      return { ...base('ENV'), pairs: keyValues('ENV', node) };
    case 'LABEL':
      return { ...base('LABEL'), pairs: keyValues('LABEL', node) };
    case 'ARG': {
      if (node.args.length === 0) throw new InstructionSyntaxError('ARG requires at least one name');
      const args: ArgDeclaration[] = node.args.map((word) => {
        const eq = word.indexOf('=');
        if (eq === 0) throw new InstructionSyntaxError(`ARG names can not be blank ("${word}")`);
        return eq < 0 ? { name: word } : { name: word.slice(0, eq), default: word.slice(eq + 1) };
      });
      return { ...base('ARG'), args };
    }
    case 'EXPOSE':
      if (node.args.length === 0) throw new InstructionSyntaxError('EXPOSE requires at least one port');
      return { ...base('EXPOSE'), ports: node.args };
    case 'VOLUME': {
      if (node.args.length === 0) throw new InstructionSyntaxError('VOLUME requires at least one path');
      const volumes = node.args.map((volume) => volume.trim());
      if (volumes.includes('')) throw new InstructionSyntaxError('VOLUME paths can not be empty strings');
      return { ...base('VOLUME'), volumes };
    }
    case 'USER':
      return { ...base('USER'), user: exactlyOne('USER', node) };
    case 'WORKDIR':
      return { ...base('WORKDIR'), path: exactlyOne('WORKDIR', node) };
    case 'STOPSIGNAL':
      return { ...base('STOPSIGNAL'), signal: exactlyOne('STOPSIGNAL', node) };
    case 'MAINTAINER':
      return { ...base('MAINTAINER'), maintainer: exactlyOne('MAINTAINER', node) };
    case 'SHELL':
      if (!node.json) throw new InstructionSyntaxError('SHELL requires the JSON form, e.g. SHELL ["/bin/bash", "-c"]');
      if (node.args.length === 0) throw new InstructionSyntaxError('SHELL requires at least one argument');
      return { ...base('SHELL'), shell: node.args };
    case 'HEALTHCHECK':
      return { ...base('HEALTHCHECK'), health: healthcheck(node, flags) };
    case 'ONBUILD':
      return onbuild(node, file, base('ONBUILD'));
  }
}

function healthcheck(node: AstNode, flags: ParsedFlags): HealthcheckCommand | HealthcheckNone {
  if (node.args.length === 0) throw new InstructionSyntaxError('HEALTHCHECK requires NONE or CMD <command>');
  const type = node.args[0]!.toUpperCase();
  const rest = node.args.slice(1);
  if (type === 'NONE') {
    if (rest.length > 0) throw new InstructionSyntaxError('HEALTHCHECK NONE takes no arguments');
    if (node.flags.length > 0) throw new InstructionSyntaxError('HEALTHCHECK NONE takes no flags');
    return { kind: 'none', test: ['NONE'] };
  }
  if (type !== 'CMD') throw new InstructionSyntaxError(`unknown HEALTHCHECK type "${node.args[0]}" (use CMD or NONE)`);
  if (rest.length === 0) throw new InstructionSyntaxError('HEALTHCHECK CMD requires a command');
  const command: CommandLine = node.json ? { form: 'exec', command: rest } : { form: 'shell', command: rest.join(' ') };
  const test = command.form === 'exec' ? ['CMD', ...command.command] : ['CMD-SHELL', command.command];
  let retries: number | undefined;
  const retriesText = flags.string('retries');
  if (retriesText !== undefined && retriesText !== '') {
    if (!/^[+-]?\d+$/.test(retriesText) || Math.abs(Number(retriesText)) > 2 ** 31 - 1) {
      throw new InstructionSyntaxError(`--retries=${retriesText} is not a whole number`);
    }
    retries = Number(retriesText);
    if (retries < 0) throw new InstructionSyntaxError(`--retries cannot be negative (${retries})`);
  }
  return {
    kind: 'cmd',
    test,
    command,
    ...optional('interval', optionalDuration(flags, 'interval')),
    ...optional('timeout', optionalDuration(flags, 'timeout')),
    ...optional('startPeriod', optionalDuration(flags, 'start-period')),
    ...optional('startInterval', optionalDuration(flags, 'start-interval')),
    ...optional('retries', retries),
  };
}

function onbuild(node: AstNode, file: string, base: InstructionBase<'ONBUILD'>): Instruction {
  const child = node.child;
  if (!child) throw new InstructionSyntaxError('ONBUILD requires an instruction, e.g. ONBUILD COPY . /app');
  const triggerKeyword = child.keyword.toUpperCase();
  if (triggerKeyword === 'ONBUILD') throw new InstructionSyntaxError('chaining ONBUILD via ONBUILD ONBUILD is not allowed');
  if (triggerKeyword === 'FROM' || triggerKeyword === 'MAINTAINER') {
    throw new InstructionSyntaxError(`${triggerKeyword} is not allowed as an ONBUILD trigger`);
  }
  const trigger = toInstruction({ ...child, heredocs: node.heredocs }, file);
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const heredoc of node.heredocs) expression += `\n${heredoc.content}${heredoc.name}`;
  return { ...base, expression, trigger };
}

/**
 * Turns one AST node into a typed instruction.
 * @throws DockerfileError (located) for an unknown instruction, a flag it does not take, or arguments of the
 *   wrong shape.
 */
export function toInstruction(node: AstNode, file: string): Instruction {
  const keyword = node.keyword.toUpperCase();
  const location = { file, line: node.startLine, endLine: node.endLine };
  if (!isKeyword(keyword)) {
    throw new DockerfileError(`unknown instruction "${node.keyword}"${suggestKeyword(node.keyword)}`, location, node.text);
  }
  try {
    return toTyped(node, file, keyword, parseFlags(keyword, node.flags));
  } catch (err) {
    if (err instanceof FlagError || err instanceof InstructionSyntaxError) {
      throw new DockerfileError(err.message, location, node.text);
    }
    if (err instanceof MountSyntaxError) throw new DockerfileError(`--mount: ${err.message}`, location, node.text);
    throw err;
  }
}
