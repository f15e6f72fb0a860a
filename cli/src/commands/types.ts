import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Registers one subcommand on the program and returns it. */
export type RegisterCommand = (program: Command, io: CliIO, signal: AbortSignal, state: { exitCode: number }) => Command;

/** Reads the `Command` that commander passes as the last argument of an action. */
export function commandOf(args: unknown[]): Command {
  return args[args.length - 1] as Command;
}
