import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PEM certificate and its private key, as files. */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/**
 * Makes a self-signed certificate (its own CA) with `openssl`, valid for `localhost` and `127.0.0.1`.
 * @param name file name prefix inside `dir`.
 */
export async function makeSelfSignedCertificate(dir: string, name: string, commonName = 'localhost'): Promise<CertificateFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30',
    '-keyout', keyFile, '-out', certFile,
    '-subj', `/CN=${commonName}`,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-addext', 'basicConstraints=critical,CA:TRUE',
  ]);
  return { certFile, keyFile };
}
