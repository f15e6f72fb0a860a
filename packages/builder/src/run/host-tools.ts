import { execFile } from 'node:child_process';
import { access, constants, open, realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import { release } from 'node:os';

import { RunError } from './errors.js';

/** Where Debian's `tini` package puts its static build. */
export const DEFAULT_INIT_BINARY = '/usr/bin/tini-static';

/** The host `env` that sets the command's environment inside the sandbox (see {@link HostTools}). */
const ENV_BINARY = '/usr/bin/env';

/**
 * Host files bound read-only into the sandbox's `/dev/.tsbuild/`, so they are never committed.
 *
 * `init` (static tini) is PID 1. `env`, run through the host's dynamic loader with the host's libraries, sets the
 * command's environment *after* the chroot and the switch of user: no dynamically linked host program may start
 * with the image's environment, or an `ENV LD_PRELOAD=…`/`LD_LIBRARY_PATH=…` would load image code into a host
 * program running as root outside the chroot.
 */
export interface HostTools {
  /** A static init (tini) that forwards signals, reaps zombies and ends the sandbox when the command ends. */
  readonly init: string;
  /** The host's ELF interpreter (`/lib64/ld-linux-x86-64.so.2` on amd64). */
  readonly loader: string;
  /** The host's `env`. */
  readonly env: string;
  /** The shared libraries `env` needs: their sonames and host paths. */
  readonly libraries: readonly { readonly name: string; readonly path: string }[];
}

const cache = new Map<string, Promise<HostTools>>();

/**
 * Finds the host programs the sandbox needs (once per init binary and process).
 * @throws {RunError} naming the Debian package to install when one is missing.
 */
export function locateHostTools(initBinary: string = DEFAULT_INIT_BINARY): Promise<HostTools> {
  let found = cache.get(initBinary);
  if (found === undefined) {
    found = probeHostTools(initBinary);
    found.catch(() => cache.delete(initBinary));
    cache.set(initBinary, found);
  }
  return found;
}

async function probeHostTools(initBinary: string): Promise<HostTools> {
  try {
    await access(initBinary, constants.X_OK);
  } catch (error) {
    throw new RunError(
      `the RUN sandbox needs a static tini at ${initBinary} as its PID 1: install Debian's tini package`,
      { code: 'MISSING_HOST_TOOL', cause: error },
    );
  }
  const env = await realpath(ENV_BINARY);
  const loader = await realpath(await readElfInterpreter(env));
  const listing = await new Promise<string>((resolve, reject) => {
    execFile(loader, ['--list', env], { env: {} }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  }).catch((error: unknown) => {
    throw new RunError(`could not list the libraries of ${env} with ${loader}`, {
      code: 'MISSING_HOST_TOOL',
      cause: error,
    });
  });
  const libraries: { name: string; path: string }[] = [];
  for (const match of listing.matchAll(/^\s*(\S+) => (\/\S+) \(0x[0-9a-f]+\)\s*$/gm)) {
    const [, name = '', path = ''] = match;
    const real = await realpath(path);
    if (real !== loader) libraries.push({ name, path: real });
  }
  if (libraries.length === 0) throw new RunError(`${env} lists no shared libraries: cannot use it in the sandbox`);
  return { init: await realpath(initBinary), loader, env, libraries };
}

/** Reads the `PT_INTERP` path of a 64-bit little-endian ELF executable (the only kind Linux hosts we target run). */
export async function readElfInterpreter(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) {
      throw new RunError(`${path} is not a 64-bit little-endian ELF file`);
    }
    const programHeaderOffset = Number(header.readBigUInt64LE(0x20));
    const entrySize = header.readUInt16LE(0x36);
    const count = header.readUInt16LE(0x38);
    const table = Buffer.alloc(entrySize * count);
    await file.read(table, 0, table.length, programHeaderOffset);
    for (let index = 0; index < count; index += 1) {
      const entry = index * entrySize;
      if (table.readUInt32LE(entry) !== 3 /* PT_INTERP */) continue;
      const offset = Number(table.readBigUInt64LE(entry + 8));
      const size = Number(table.readBigUInt64LE(entry + 32));
      const text = Buffer.alloc(size);
      await file.read(text, 0, size, offset);
      return text.toString('utf8').replace(/\0.*$/s, '');
    }
    throw new RunError(`${path} is statically linked: expected a dynamically linked host env`);
  } finally {
    await file.close();
  }
}

/** The file name a library is bound under in the sandbox. */
export function libraryFileName(library: { readonly name: string }): string {
  return basename(library.name);
}

/**
 * Overlay mount options beyond the dirs: `volatile` (no fsync, Linux 5.10+: a throwaway upper dir needs no
 * durability and copy-up gets an order of magnitude faster) and, explicitly, no redirects, index or metacopy, so the
 * upper dir stays a plain diff that the layer engine can read as is.
 */
export function overlayFeatureOptions(kernelRelease: string = release()): string[] {
  const [major = 0, minor = 0] = kernelRelease.split(/[.-]/).map((part) => Number.parseInt(part, 10));
  const atLeast = (wantMajor: number, wantMinor: number): boolean =>
    major > wantMajor || (major === wantMajor && minor >= wantMinor);
  const options: string[] = [];
  if (atLeast(4, 10)) options.push('redirect_dir=off');
  if (atLeast(4, 13)) options.push('index=off');
  if (atLeast(4, 19)) options.push('metacopy=off');
  if (atLeast(5, 10)) options.push('volatile');
  return options;
}
