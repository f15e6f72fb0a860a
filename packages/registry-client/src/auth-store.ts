import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  defaultAuthFileForWrite,
  eraseHelperCredentials,
  readAuthFile,
  storeHelperCredentials,
  type AuthFile,
  type BasicCredentials,
  type CredentialOptions,
} from './credentials.js';
import { CredentialsError } from './errors.js';
import { DOCKER_HUB_AUTH_KEY, isDockerHub, normalizeAuthKey } from './registry-host.js';

async function writeAuthFile(path: string, file: AuthFile): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(temp, `${JSON.stringify(file, null, '\t')}\n`, { mode: 0o600, flush: true });
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  } catch (err) {
    throw new CredentialsError(`cannot write auth file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function helperFor(file: AuthFile, registry: string): string | undefined {
  const wanted = normalizeAuthKey(registry);
  const specific = Object.entries(file.credHelpers ?? {}).find(([key]) => normalizeAuthKey(key) === wanted)?.[1];
  return specific ?? (typeof file.credsStore === 'string' && file.credsStore !== '' ? file.credsStore : undefined);
}

/** The `auths` key written for a registry: Docker's own key for Docker Hub in a Docker `config.json`. */
function keyFor(path: string, registry: string): string {
  return isDockerHub(registry) && basename(path) === 'config.json' ? DOCKER_HUB_AUTH_KEY : registry;
}

/**
 * Stores credentials for `registry` the way `docker login`/`podman login` do: in the credential helper the auth file
 * names for it (`credHelpers`, `credsStore`), else as base64 `auth` in the file's `auths`. Other content of the file
 * is kept; the file is written atomically with mode 0600.
 * @returns where they went: the file path, or `helper:<name>`.
 */
export async function saveCredentials(registry: string, credentials: BasicCredentials, options: CredentialOptions = {}): Promise<string> {
  const path = defaultAuthFileForWrite(options);
  const file = await readAuthFile(path);
  const helper = helperFor(file, registry);
  const auths = { ...(file.auths ?? {}) };
  const wanted = normalizeAuthKey(registry);
  for (const key of Object.keys(auths)) if (normalizeAuthKey(key) === wanted) delete auths[key];
  if (helper !== undefined) {
    await storeHelperCredentials(helper, registry, credentials, options.env ?? process.env);
    auths[keyFor(path, registry)] = {};
    await writeAuthFile(path, { ...file, auths });
    return `helper:${helper}`;
  }
  auths[keyFor(path, registry)] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64') };
  await writeAuthFile(path, { ...file, auths });
  return path;
}

/**
 * Removes the credentials of `registry` from the auth file `login` writes to (and from its credential helper).
 * @returns false when there were none.
 */
export async function removeCredentials(registry: string, options: CredentialOptions = {}): Promise<boolean> {
  const path = defaultAuthFileForWrite(options);
  const file = await readAuthFile(path);
  const wanted = normalizeAuthKey(registry);
  const auths = { ...(file.auths ?? {}) };
  const keys = Object.keys(auths).filter((key) => normalizeAuthKey(key) === wanted);
  let removed = false;
  const helper = helperFor(file, registry);
  if (helper !== undefined) removed = await eraseHelperCredentials(helper, registry, options.env ?? process.env);
  if (keys.length > 0) {
    for (const key of keys) delete auths[key];
    await writeAuthFile(path, { ...file, auths });
    removed = true;
  }
  return removed;
}
