import { Command } from 'commander';
import { ImageStore, defaultStoreRoot } from '@tsbuild/image';
import type { CliIO } from './io.js';

/** Options every command takes. */
export interface GlobalOptions {
  root?: string;
  debug?: boolean;
}

/** What a command's action gets: the streams and the store its options point at. */
export interface CommandContext {
  readonly io: CliIO;
  readonly root: string;
  readonly debug: boolean;
  /** Opens the store (once). */
  store(): Promise<ImageStore>;
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal;
}

/** Adds `--root` and `--debug` to a command, so they work before or after the command name. */
export function withGlobalOptions(command: Command): Command {
  return command
    .option('--root <dir>', 'store root (default: $TSBUILD_ROOT, /var/lib/tsbuild for root, else ~/.local/share/tsbuild)')
    .option('--debug', 'print stack traces and internal details on errors');
}

/** Builds the context for a command from its merged options. */
export function makeContext(command: Command, io: CliIO, signal: AbortSignal): CommandContext {
  const options = command.optsWithGlobals() as GlobalOptions;
  const root = options.root ?? defaultStoreRoot();
  let opened: Promise<ImageStore> | undefined;
  return {
    io,
    root,
    debug: options.debug === true,
    signal,
    store: () => (opened ??= ImageStore.open(root)),
  };
}
