import { parseHeredocOperator, type Heredoc } from './heredoc.js';
import type { RunInstruction } from './instructions.js';

/** What a RUN actually runs, with heredocs taken into account (BuildKit's rules). */
export type RunCommand =
  /** Run `command` with the stage's SHELL (`/bin/sh -c command`). */
  | { readonly kind: 'shell'; readonly command: string }
  /** Run `argv` as is (exec form). */
  | { readonly kind: 'exec'; readonly argv: readonly string[] }
  /**
   * `RUN <<EOF` whose body starts with `#!`: write the body to a file (mode 0755) outside the image's layers and
   * execute that file directly, so the interpreter on the `#!` line runs it.
   */
  | { readonly kind: 'script'; readonly heredoc: Heredoc };

/**
 * Decides what a RUN runs:
 * - exec form → its argv;
 * - `RUN <<EOF` alone → the body run by the shell, or, when the body starts with `#!`, the body as a script file;
 * - anything else with heredocs (`RUN cat <<A <<B`, `RUN python3 <<EOF`) → the command line with each body and
 *   delimiter appended on new lines, run by the shell, which reads the here-documents itself;
 * - plain shell form → the command.
 */
export function resolveRunCommand(run: RunInstruction): RunCommand {
  if (run.form === 'exec') return { kind: 'exec', argv: run.command };
  if (run.heredocs.length === 0) return { kind: 'shell', command: run.command };
  let alone: ReturnType<typeof parseHeredocOperator>;
  try {
    alone = parseHeredocOperator(run.command.trim());
  } catch {
    alone = undefined;
  }
  const first = run.heredocs[0]!;
  if (alone !== undefined && run.heredocs.length === 1) {
    return first.content.startsWith('#!') ? { kind: 'script', heredoc: first } : { kind: 'shell', command: first.content };
  }
  let command = run.command;
  for (const heredoc of run.heredocs) command += `\n${heredoc.content}${heredoc.name}`;
  return { kind: 'shell', command };
}
