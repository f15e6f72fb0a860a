import { InvalidArgumentError, type Command } from 'commander';
import type { RegistryConnectionOptions } from '@tsbuild/image';
import { makeContext } from '../context.js';
import { println } from '../io.js';
import { imageModule, ociModule } from '../lazy.js';
import { blobProgressReporter, createProgressDisplay } from '../progress/index.js';
import { commandOf, type RegisterCommand } from './types.js';

/** The registry flags of `pull` and `push` (and, in part, `login`). */
export interface RegistryFlags {
  tlsVerify?: boolean;
  creds?: string;
  authfile?: string;
  certDir?: string;
}

/** Parses the value of `--tls-verify[=true|false]`. */
export function parseBooleanFlag(value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new InvalidArgumentError('expected true or false (write --tls-verify=false)');
}

/** Adds `--tls-verify[=false]` and `--cert-dir` to a command. */
export function withTlsOptions(command: Command): Command {
  return command
    .option('--tls-verify [bool]', 'require https and verify certificates (default true; localhost and 127.0.0.1 use plain http)', parseBooleanFlag)
    .option('--cert-dir <dir>', 'directory with CA certificates (*.crt) and client certificate for the registry');
}

/** Adds the flags `pull` and `push` share: TLS, `--creds` and `--authfile`. */
export function withRegistryOptions(command: Command): Command {
  return withTlsOptions(command)
    .option('--creds <user:password>', 'credentials for the registry (instead of the stored login)')
    .option('--authfile <file>', 'auth file to read credentials from (default: $REGISTRY_AUTH_FILE, containers auth.json, ~/.docker/config.json)');
}

/** Turns registry flags into registry client options. */
export function connectionOptions(flags: RegistryFlags): RegistryConnectionOptions {
  return {
    ...(flags.tlsVerify !== undefined ? { tlsVerify: flags.tlsVerify } : {}),
    ...(flags.creds !== undefined ? { creds: flags.creds } : {}),
    ...(flags.authfile !== undefined ? { authfile: flags.authfile } : {}),
    ...(flags.certDir !== undefined ? { certDir: flags.certDir } : {}),
  };
}

/** `tsbuild pull REF [--platform P]`. */
export const registerPull: RegisterCommand = (program, io, signal) =>
  withRegistryOptions(
    program
      .command('pull')
      .description('Pull an image from a registry into the store')
      .argument('<ref>', 'image reference, e.g. localhost:5000/app:1, busybox, app@sha256:...')
      .option('--platform <os/arch[/variant]>', 'platform to pull from a multi-platform image (default: this host)'),
  ).action(async (ref: string, options: RegistryFlags & { platform?: string }, ...rest: unknown[]) => {
    const { pullImage } = await imageModule();
    const { familiarRepositoryName, parseReference, withDefaultTag } = await ociModule();
    const ctx = makeContext(commandOf(rest), io, signal);
    const reference = withDefaultTag(parseReference(ref));
    const store = await ctx.store();
    const display = createProgressDisplay(io.stderr);
    try {
      const result = await pullImage(store, ref, {
        ...connectionOptions(options),
        ...(options.platform !== undefined ? { platform: options.platform } : {}),
        onProgress: blobProgressReporter(display, 'pull', `${reference.tag ?? reference.digest ?? 'latest'}: Pulling from ${reference.path}`),
        signal,
      });
      display.stop();
      const shown = result.name ?? familiarRepositoryName(reference);
      println(io.stderr, `Digest: ${result.digest}`);
      if (result.platform !== undefined) println(io.stderr, `Platform: ${result.platform}`);
      println(io.stderr, `Status: ${result.blobsCopied > 0 ? 'Downloaded newer image' : 'Image is up to date'} for ${shown}`);
      println(io.stdout, `${shown}@${result.digest}`);
    } finally {
      display.stop();
    }
  });
