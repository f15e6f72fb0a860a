/**
 * BuildKit's own parser and shell-expansion test data (see testdata/buildkit/README.md), checked case by case.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAst } from './ast.js';
import { dumpAst } from './dump.js';
import { DockerfileError, WordExpansionError } from './errors.js';
import { parseDockerfile } from './parse.js';
import { processWord, processWords } from './shell-lexer.js';

const root = fileURLToPath(new URL('../../testdata/buildkit/', import.meta.url));
const parserCases = `${root}buildkit-parser/testfiles/`;
const negativeCases = `${root}buildkit-parser/testfiles-negative/`;
const read = (path: string): string => readFileSync(path, 'utf8');

describe('BuildKit parser test files', () => {
  const cases = readdirSync(parserCases).sort();

  it('has all 33 positive cases', () => {
    expect(cases).toHaveLength(33);
  });

  it.each(cases)('%s dumps to its result file', (name) => {
    const ast = parseAst(read(`${parserCases}${name}/Dockerfile`), { filename: `${name}/Dockerfile` });
    expect(`${dumpAst(ast)}\n`).toBe(read(`${parserCases}${name}/result`));
  });

  const negatives = readdirSync(negativeCases).sort();

  it('has all 4 negative cases', () => {
    expect(negatives).toEqual(['empty_dockerfile', 'env_no_value', 'only_comments', 'shykes-nested-json']);
  });

  it.each(negatives)('%s is rejected with a located error', (name) => {
    const text = read(`${negativeCases}${name}/Dockerfile`);
    expect(() => parseAst(text, { filename: 'Dockerfile' })).toThrow(DockerfileError);
    expect(() => parseDockerfile(text)).toThrow(/^Dockerfile:\d+: /);
  });

  it('reports the lines of testfile-line', () => {
    const ast = parseAst(read(`${root}buildkit-parser/testfile-line/Dockerfile`));
    expect(ast.nodes.map((node) => [node.startLine, node.endLine])).toEqual([
      [5, 5],
      [11, 12],
      [17, 31],
    ]);
    expect(ast.nodes.map((node) => node.keyword)).toEqual(['FROM', 'ENV', 'RUN']);
  });
});

/** Reads `envVarTest`: `platform | input | expected` (see the README). */
function envVarCases(): { line: string; input: string; expected: string }[] {
  const cases: { line: string; input: string; expected: string }[] = [];
  for (const raw of read(`${root}buildkit-shell/envVarTest`).split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split('|').map((field) => field.trim());
    if (fields.length !== 3) throw new Error(`bad envVarTest line: ${line}`);
    const [platform, input, expected] = fields as [string, string, string];
    if (platform === 'A' || platform === 'U') cases.push({ line, input, expected });
  }
  return cases;
}

/** Reads `wordsTest`: `ENV name=value` lines build the environment, other lines are `input | a,b,c`. */
function wordsCases(): { input: string; expected: string; env: Record<string, string> }[] {
  const cases: { input: string; expected: string; env: Record<string, string> }[] = [];
  let env: Record<string, string> = {};
  for (const raw of read(`${root}buildkit-shell/wordsTest`).split('\n')) {
    if (raw.startsWith('#') || raw.trim() === '') continue;
    if (raw.startsWith('ENV ')) {
      const assignment = raw.slice(4).replace(/^ +/, '');
      const eq = assignment.indexOf('=');
      env = { ...env, [assignment.slice(0, eq)]: assignment.slice(eq + 1) };
      continue;
    }
    const fields = raw.split('|');
    if (fields.length !== 2) throw new Error(`bad wordsTest line: ${raw}`);
    cases.push({ input: fields[0]!.trim(), expected: fields[1]!.replace(/^ +/, ''), env });
  }
  return cases;
}

describe('BuildKit shell expansion test files', () => {
  const env = { PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' };
  const cases = envVarCases();

  it('has the 228 A and U cases', () => {
    expect(cases).toHaveLength(228);
  });

  it.each(cases)('envVarTest: $line', ({ input, expected }) => {
    if (expected === 'error') {
      expect(() => processWord(input, env)).toThrow(WordExpansionError);
    } else {
      expect(processWord(input, env)).toBe(expected);
    }
  });

  const words = wordsCases();

  it('has the 24 wordsTest cases', () => {
    expect(words).toHaveLength(24);
  });

  it.each(words)('wordsTest: $input', ({ input, expected, env: wordsEnv }) => {
    if (expected === 'error') {
      expect(() => processWords(input, wordsEnv)).toThrow(WordExpansionError);
    } else {
      expect(processWords(input, wordsEnv)).toEqual(expected.split(','));
    }
  });
});
