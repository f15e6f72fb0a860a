import type { AstNode, DockerfileAst } from './ast.js';

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

/**
 * Quotes a string the way Go's `strconv.Quote` does: double quotes, `\"` and `\\`, short escapes for control
 * characters, `\xNN` for other bytes below 0x80, `\uNNNN` / `\UNNNNNNNN` for non-printable characters; printable
 * Unicode is kept as is.
 */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    if (ch === '"' || ch === '\\') {
      out += `\\${ch}`;
      continue;
    }
    if (PRINTABLE.test(ch)) {
      out += ch;
      continue;
    }
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const code = ch.codePointAt(0)!;
    if (code < 0x80) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

function dumpNode(node: AstNode): string {
  let out = node.keyword.toLowerCase();
  if (node.flags.length > 0) out += ` [${node.flags.map(goQuote).join(' ')}]`;
  if (node.child) out += ` (${dumpNode(node.child)})`;
  for (const arg of node.args) out += ` ${goQuote(arg)}`;
  return out.trim();
}

/**
 * Prints the AST in BuildKit's `Node.Dump()` format, one `(keyword ["--flags"] "arg" …)` line per instruction,
 * e.g. `(copy ["--from=build"] "/out" "/app")` and `(onbuild (run "echo" "test"))`. Used to compare the parser
 * with BuildKit's own test expectations; no trailing newline.
 */
export function dumpAst(ast: DockerfileAst): string {
  return ast.nodes
    .map((node) => `(${dumpNode(node)})`)
    .join('\n')
    .trim();
}
