import type { Command } from 'commander';
import type { ImageStore } from '@tsbuild/image';
import { imageModule } from './lazy.js';
import type { CliIO } from './io.js';

/** Options every command takes. */
export interface GlobalOptions {
  root?: string;
  debug?: boolean;
}

/** What a command's action gets: the streams and the store its options point at. */
export interface CommandContext {
  readonly io: CliIO;
  /** The `--root` given, if any (else the store's default applies). */
  readonly root: string | undefined;
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
  let opened: Promise<ImageStore> | undefined;
  const open = async (): Promise<ImageStore> => {
    const { ImageStore, defaultStoreRoot } = await imageModule();
    return ImageStore.open(options.root ?? defaultStoreRoot());
  };
  return {
    io,
    root: options.root,
    debug: options.debug === true,
    signal,
    store: () => (opened ??= open()),
  };
}
