import { Command, CommanderError } from 'commander';
import { commands, type CommandEntry } from './commands/index.js';
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

/** Global options that take a value (`--root DIR`). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--root']);
/** Global flags, and what shows the program's own help or version. */
const GLOBAL_FLAGS = new Set(['--debug']);
const PROGRAM_LEVEL = new Set(['-h', '--help', '-v', '--version', 'help']);

/**
 * The subcommands a command line needs: only the one it names (or `build` when it starts with one of the default
 * command's options, as in `tsbuild -t app:1 .`), else all of them (help, version, a bare context path, an unknown
 * name). Setting up every command's options costs a start several milliseconds that a no-op build notices.
 */
export function commandsFor(argv: readonly string[]): readonly CommandEntry[] {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (GLOBAL_FLAGS.has(arg) || arg.startsWith('--root=')) continue;
    if (PROGRAM_LEVEL.has(arg)) return commands;
    const named = commands.find((entry) => entry.names.includes(arg));
    if (named !== undefined) return [named];
    if (arg.startsWith('-')) return commands.filter((entry) => entry.names.includes('build'));
    return commands;
  }
  return commands;
}

/**
 * Builds the `tsbuild` program; the actions write to `io` and set `state.exitCode`. With `argv`, only the
 * subcommands it needs are set up (see {@link commandsFor}).
 */
export function createProgram(io: CliIO, signal: AbortSignal, state: { exitCode: number }, argv?: readonly string[]): Command {
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
  for (const { register } of argv === undefined ? commands : commandsFor(argv)) {
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
  const program = createProgram(io, signal, state, argv);
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
