/**
 * dockerfile-ast as an independent oracle: wherever it is right, it must agree with this parser on how a file is
 * cut into instructions (keyword, first and last line), on flags and on heredoc names. The places where it is
 * known to be wrong (measured in research/deps.md §1 and by BuildKit's own `result` files) are pinned below, so a
 * change on either side is noticed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction as AstInstruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parseAst } from './ast.js';

const root = fileURLToPath(new URL('../../testdata/buildkit/buildkit-parser/', import.meta.url));

interface Segment {
  keyword: string;
  start: number;
  end: number;
}

function ours(text: string): Segment[] {
  return parseAst(text).nodes.map((node) => ({ keyword: node.keyword.toUpperCase(), start: node.startLine, end: node.endLine }));
}

function theirs(text: string): Segment[] {
  return DockerfileParser.parse(text)
    .getInstructions()
    .map((instruction) => ({ keyword: instruction.getKeyword(), start: instruction.getRange().start.line + 1, end: instruction.getRange().end.line + 1 }));
}

function flagsOf(instruction: AstInstruction): string[] {
  const withFlags = instruction as AstInstruction & { getFlags?: () => { toString(): string }[] };
  return withFlags.getFlags ? withFlags.getFlags().map((flag) => flag.toString()) : [];
}

/** Corpus files where dockerfile-ast is known to differ. */
const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {
  // dockerfile-ast continues `ENV C trailing\\backslash\\` into the next line; BuildKit's result keeps them apart.
  'testfiles/trailing-backslash/Dockerfile': 'escaped escape at end of line',
  // dockerfile-ast counts a line after the final newline of a file that ends in a continuation.
  'testfiles/env/Dockerfile': 'phantom last line',
};

const corpus = [...readdirSync(`${root}testfiles`).map((name) => `testfiles/${name}/Dockerfile`), 'testfile-line/Dockerfile'].sort();

describe('dockerfile-ast agrees on segmentation', () => {
  it.each(corpus.filter((path) => !(path in KNOWN_DIFFERENCES)))('%s', (path) => {
    const text = readFileSync(`${root}${path}`, 'utf8');
    expect(ours(text)).toEqual(theirs(text));
  });

  it('differs only where dockerfile-ast is wrong', () => {
    const trailing = readFileSync(`${root}testfiles/trailing-backslash/Dockerfile`, 'utf8');
    expect(ours(trailing).map((segment) => segment.start)).toEqual([3, 5, 6, 7, 8, 9, 12, 15]);
    expect(theirs(trailing).map((segment) => segment.start)).toEqual([3, 5, 6, 7, 9, 12, 15]);
    const env = readFileSync(`${root}testfiles/env/Dockerfile`, 'utf8');
    expect(ours(env).at(-1)).toEqual({ keyword: 'ENV', start: 18, end: 23 });
    expect(theirs(env).at(-1)).toEqual({ keyword: 'ENV', start: 18, end: 24 });
    expect(env.split('\n')).toHaveLength(24); // 23 lines and the empty string after the final newline
  });
});

describe('dockerfile-ast agrees on flags and heredocs', () => {
  const samples = [
    'FROM --platform=linux/arm64 alpine AS a\nCOPY --from=a --chown=1:2 --chmod=755 --link x y\nRUN --mount=type=cache,target=/c --network=none true\n',
    'FROM a\nRUN <<EOF\necho one\nEOF\nCOPY <<f1 <<f2 /dst/\n1\nf1\n2\nf2\nRUN <<-EOT bash\n\techo x\n\tEOT\n',
    '# escape=`\nFROM a\nRUN echo `\n  two\nADD --checksum=sha256:00 https://x/y /z\n',
  ];

  it.each(samples)('%j', (text) => {
    const mine = parseAst(text).nodes;
    const other = DockerfileParser.parse(text).getInstructions();
    expect(mine.map((node) => node.keyword)).toEqual(other.map((instruction) => instruction.getKeyword()));
    expect(mine.map((node) => node.flags)).toEqual(other.map(flagsOf));
    const heredocNames = (instruction: AstInstruction): string[] =>
      (instruction as AstInstruction & { getHeredocs(): { getName(): string }[] }).getHeredocs().map((heredoc) => heredoc.getName());
    expect(mine.map((node) => node.heredocs.map((heredoc) => heredoc.name))).toEqual(other.map(heredocNames));
    expect(mine.map((node) => [node.startLine, node.endLine])).toEqual(
      other.map((instruction) => [instruction.getRange().start.line + 1, instruction.getRange().end.line + 1]),
    );
  });
});
