import { readdir, readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { CredentialsError } from './errors.js';

/** TLS material for one registry: extra trusted CAs and an optional client certificate. */
export interface TlsMaterial {
  /** Extra CA certificates (PEM) trusted for this registry, on top of the system ones. */
  ca: string[];
  /** A client certificate (PEM), sent when the registry asks for one. */
  cert?: string;
  /** The client certificate's private key (PEM). */
  key?: string;
}

/** The system-wide certs.d directories containers tools and Docker read for `host[:port]`. */
export function systemCertDirs(registry: string): string[] {
  return [join('/etc/containers/certs.d', registry), join('/etc/docker/certs.d', registry)];
}

/**
 * Reads a certs.d-style directory (as `--cert-dir` takes it): every `*.crt` is a trusted CA; `client.cert` and
 * `client.key` (or any `NAME.cert` with `NAME.key`) are a client certificate. A missing directory gives nothing.
 * @throws CredentialsError for a `.cert` without its `.key` or an unreadable file.
 */
export async function loadCertDir(dir: string): Promise<TlsMaterial> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return { ca: [] };
    throw new CredentialsError(`cannot read certificate directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const material: TlsMaterial = { ca: [] };
  const read = (name: string): Promise<string> => readFile(join(dir, name), 'utf8');
  for (const name of names) {
    if (name.endsWith('.crt')) material.ca.push(await read(name));
    if (name.endsWith('.cert') && material.cert === undefined) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(keyName)) throw new CredentialsError(`${join(dir, name)} has no matching key ${keyName}`);
      material.cert = await read(name);
      material.key = await read(keyName);
    }
  }
  return material;
}

/**
 * The variable the `tsbuild` launcher moves `NODE_EXTRA_CA_CERTS` to. Node parses that file at every start, before any
 * of tsbuild runs (tens of milliseconds for a system-wide bundle), so the launcher starts Node without it; the
 * certificates are then added here, when a registry is contacted, so they are trusted as Node would have trusted them.
 */
export const DEFERRED_EXTRA_CA_CERTS = 'TSBUILD_DEFERRED_NODE_EXTRA_CA_CERTS';

async function readCaFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS.
    return undefined;
  }
}

/**
 * Node's `ca` option for a registry: Node's bundled roots, the certificates of `NODE_EXTRA_CA_CERTS` (which an explicit
 * `ca` would otherwise drop, or which Node did not load because the launcher deferred them, see
 * {@link DEFERRED_EXTRA_CA_CERTS}) and the extra ones. `undefined` when there is nothing to add, so Node's defaults
 * apply unchanged.
 */
export async function caBundle(extra: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Promise<string[] | undefined> {
  // the launcher deferred this process's own certificates, whatever environment the caller passes
  const deferred = process.env[DEFERRED_EXTRA_CA_CERTS] || undefined;
  if (extra.length === 0 && deferred === undefined) return undefined;
  const bundle = [...rootCertificates];
  const file = deferred ?? (env.NODE_EXTRA_CA_CERTS || undefined);
  const extraCerts = file === undefined ? undefined : await readCaFile(file);
  if (extraCerts !== undefined) bundle.push(extraCerts);
  return [...bundle, ...extra];
}

/** Whether a TLS error is a certificate verification failure (as opposed to, e.g., a non-TLS server). */
export function isCertificateError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/.test(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
