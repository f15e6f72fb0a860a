import { removeCredentials, saveCredentials } from './auth-store.js';
import { RegistryClient, type CallOptions } from './client.js';
import type { CredentialOptions, Environment } from './credentials.js';
import { RegistryError } from './errors.js';

/** Options of {@link login} and {@link logout}. */
export interface LoginOptions extends CallOptions {
  /** The auth file to write (`--authfile`); default as `podman login`/`docker login` choose, see `defaultAuthFileForWrite`. */
  authfile?: string;
  /** Environment for file paths and credential helpers; default `process.env`. */
  env?: Environment;
  /** Verify TLS certificates (default true). */
  tlsVerify?: boolean;
  /** A certs.d-style directory with the registry's CA. */
  certDir?: string;
}

/**
 * Logs in: checks the user name and password against the registry (Basic, or the token server for Bearer) and, when
 * they are accepted, stores them in the auth file (or its credential helper).
 * @returns where the credentials were stored (a file path or `helper:<name>`).
 * @throws RegistryError UNAUTHORIZED (`login to localhost:5000 failed: ...`) without storing anything.
 */
export async function login(registry: string, username: string, password: string, options: LoginOptions = {}): Promise<string> {
  const client = new RegistryClient({
    registry,
    creds: { kind: 'basic', username, password },
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.tlsVerify !== undefined ? { tlsVerify: options.tlsVerify } : {}),
    ...(options.certDir !== undefined ? { certDir: options.certDir } : {}),
  });
  try {
    await client.verifyCredentials(options.signal ? { signal: options.signal } : {});
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') {
      throw new RegistryError('UNAUTHORIZED', `login to ${registry} failed: the registry rejected user "${username}" or its password`, {
        registry,
        ...(err.status !== undefined ? { status: err.status } : {}),
        cause: err,
      });
    }
    throw err;
  } finally {
    await client.close();
  }
  return saveCredentials(registry, { kind: 'basic', username, password }, credentialOptions(options));
}

/**
 * Logs out: removes the stored credentials of `registry` from the auth file login writes to (and its helper).
 * @returns false when there were none.
 */
export function logout(registry: string, options: Omit<LoginOptions, 'tlsVerify' | 'certDir'> = {}): Promise<boolean> {
  return removeCredentials(registry, credentialOptions(options));
}

function credentialOptions(options: LoginOptions): CredentialOptions {
  return { ...(options.authfile !== undefined ? { authfile: options.authfile } : {}), ...(options.env !== undefined ? { env: options.env } : {}) };
}
