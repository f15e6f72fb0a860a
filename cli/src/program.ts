import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.js';
import { withGlobalOptions } from './context.js';
import { println, type CliIO } from './io.js';
import { ociModule } from './lazy.js';

/** Exit codes: success, failure, bad usage. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** Thrown by a command to end with a message and an exit code but no stack trace. */
export class CommandFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
  }
}

/** Builds the `tsbuild` program; the actions write to `io` and set `state.exitCode`. */
export function createProgram(io: CliIO, signal: AbortSignal, state: { exitCode: number }): Command {
  const program = withGlobalOptions(new Command('tsbuild'))
    .description('Build, inspect and move OCI/Docker images without a daemon')
    .version('0.1.0', '-v, --version')
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();
  for (const register of commands) {
    const command = register(program, io, signal, state);
    withGlobalOptions(command).exitOverride();
    command.configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });
  }
  return program;
}

/** Whether an error is one tsbuild raises on purpose (a `TsbuildError`), whose message is for the user. */
export async function isUserError(err: unknown): Promise<boolean> {
  if (err instanceof CommandFailed) return true;
  const { TsbuildError } = await ociModule();
  return err instanceof TsbuildError;
}

/** Prints an error the way a user should see it; with `debug`, the stack too. */
export async function reportError(io: CliIO, err: unknown, debug: boolean): Promise<number> {
  const { TsbuildError } = await ociModule();
  if (err instanceof CommandFailed) {
    if (err.message) println(io.stderr, `Error: ${err.message}`);
    return err.exitCode;
  }
  if (err instanceof TsbuildError) {
    println(io.stderr, `Error: ${err.message}`);
    if (debug && err.stack) println(io.stderr, err.stack);
    return ExitCode.failure;
  }
  const error = err instanceof Error ? err : new Error(String(err));
  if ((error as NodeJS.ErrnoException).code === 'ABORT_ERR' || error.name === 'AbortError') {
    println(io.stderr, 'Error: interrupted');
    return 130;
  }
  println(io.stderr, `Error: ${error.message}`);
  if (debug) println(io.stderr, error.stack ?? '');
  else println(io.stderr, 'This looks like a bug in tsbuild; run again with --debug for details.');
  return ExitCode.failure;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code. Never exits the process.
 */
export async function runCli(argv: readonly string[], io: CliIO, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const state = { exitCode: ExitCode.ok };
  const program = createProgram(io, signal, state);
  const debug = argv.includes('--debug');
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    return await reportError(io, err, debug);
  }
}
