import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeCredentials, saveCredentials } from './auth-store.js';
import { authFilePaths, defaultAuthFileForWrite, findCredentials, parseCredsFlag } from './credentials.js';
import { CredentialsError } from './errors.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('credentials', () => {
  let dir: string;
  let bin: string;
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({ HOME: join(dir, 'home'), PATH: `${bin}:/usr/bin:/bin`, ...extra });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-creds-'));
    bin = join(dir, 'bin');
    await mkdir(bin);
    await mkdir(join(dir, 'home', '.docker'), { recursive: true });
    // a real credential helper speaking Docker's protocol on stdin/stdout
    const helper = [
      '#!/bin/sh',
      'read -r server',
      'case "$1" in',
      '  get)',
      '    if [ "$server" = "helper.example:5000" ]; then echo \'{"ServerURL":"helper.example:5000","Username":"helper-user","Secret":"helper-secret"}\';',
      '    elif [ "$server" = "token.example" ]; then echo \'{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-abc"}\';',
      '    else echo "credentials not found in native keychain"; exit 1; fi ;;',
      '  store) printf "%s" "$server" > "$HELPER_LOG" ;;',
      '  erase) printf "erased %s" "$server" > "$HELPER_LOG" ;;',
      'esac',
    ].join('\n');
    await writeFile(join(bin, 'docker-credential-testhelper'), `${helper}\n`);
    await chmod(join(bin, 'docker-credential-testhelper'), 0o755);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('parses --creds with a colon in the password', () => {
    expect(parseCredsFlag('user:pa:ss')).toEqual({ kind: 'basic', username: 'user', password: 'pa:ss' });
    expect(() => parseCredsFlag('nopassword')).toThrow(CredentialsError);
  });

  it('reads auth files in containers order, with --authfile replacing them', () => {
    const e = { HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1', REGISTRY_AUTH_FILE: '/x/auth.json' };
    expect(authFilePaths({ env: e })).toEqual(['/x/auth.json', '/run/user/1/containers/auth.json', '/h/.config/containers/auth.json', '/h/.docker/config.json']);
    expect(authFilePaths({ env: e, authfile: '/only.json' })).toEqual(['/only.json']);
    expect(defaultAuthFileForWrite({ env: { HOME: '/h' } })).toBe('/h/.docker/config.json');
    expect(defaultAuthFileForWrite({ env: { HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1' } })).toBe('/run/user/1/containers/auth.json');
  });

  it('finds base64 auth in Docker config.json, Docker Hub under its legacy key', async () => {
    await writeFile(
      join(dir, 'home', '.docker', 'config.json'),
      JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:hubpass') }, 'localhost:5000': { auth: b64('me:p:w') } } }),
    );
    expect(await findCredentials('docker.io', { env: env() })).toEqual({ credentials: { kind: 'basic', username: 'hub', password: 'hubpass' }, source: join(dir, 'home', '.docker', 'config.json') });
    expect((await findCredentials('localhost:5000', { env: env() }))?.credentials).toEqual({ kind: 'basic', username: 'me', password: 'p:w' });
    expect(await findCredentials('elsewhere:5000', { env: env() })).toBeUndefined();
  });

  it('prefers $REGISTRY_AUTH_FILE, and the most specific host/namespace key', async () => {
    const file = join(dir, 'registry-auth.json');
    await writeFile(file, JSON.stringify({ auths: { 'localhost:5000': { auth: b64('generic:1') }, 'localhost:5000/team': { auth: b64('team:2') } } }));
    const e = env({ REGISTRY_AUTH_FILE: file });
    expect((await findCredentials('localhost:5000', { env: e }, 'team/app'))?.credentials).toMatchObject({ username: 'team' });
    expect((await findCredentials('localhost:5000', { env: e }, 'other/app'))?.credentials).toMatchObject({ username: 'generic' });
    expect((await findCredentials('localhost:5000', { env: e, creds: 'flag:3' }))?.source).toBe('--creds');
  });

  it('reads identity tokens', async () => {
    const file = join(dir, 'identity.json');
    await writeFile(file, JSON.stringify({ auths: { 'id.example': { auth: b64('someone:'), identitytoken: 'tok-123' } } }));
    expect((await findCredentials('id.example', { authfile: file }))?.credentials).toEqual({ kind: 'identity-token', token: 'tok-123', username: 'someone' });
  });

  it('runs credHelpers and credsStore helpers', async () => {
    const file = join(dir, 'helpers.json');
    await writeFile(file, JSON.stringify({ credHelpers: { 'helper.example:5000': 'testhelper' }, credsStore: 'testhelper', auths: {} }));
    expect(await findCredentials('helper.example:5000', { authfile: file, env: env() })).toEqual({
      credentials: { kind: 'basic', username: 'helper-user', password: 'helper-secret' },
      source: 'helper:testhelper',
    });
    expect((await findCredentials('token.example', { authfile: file, env: env() }))?.credentials).toEqual({ kind: 'identity-token', token: 'refresh-abc' });
    expect(await findCredentials('none.example', { authfile: file, env: env() })).toBeUndefined();
  });

  it('names a missing helper and a broken auth file', async () => {
    const file = join(dir, 'missing-helper.json');
    await writeFile(file, JSON.stringify({ credsStore: 'nosuchhelper' }));
    await expect(findCredentials('x.example', { authfile: file, env: env() })).rejects.toThrow('credential helper docker-credential-nosuchhelper is not installed (not found in PATH)');
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"auths": ');
    await expect(findCredentials('x.example', { authfile: broken })).rejects.toThrow(`auth file ${broken} is not valid JSON`);
  });

  it('saves and removes credentials in a file, keeping everything else', async () => {
    const file = join(dir, 'write', 'auth.json');
    expect(await saveCredentials('localhost:5000', { kind: 'basic', username: 'u', password: 'p' }, { authfile: file })).toBe(file);
    await saveCredentials('other:1', { kind: 'basic', username: 'o', password: 'q' }, { authfile: file });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ auths: { 'localhost:5000': { auth: b64('u:p') }, 'other:1': { auth: b64('o:q') } } });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await removeCredentials('localhost:5000', { authfile: file })).toBe(true);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ auths: { 'other:1': { auth: b64('o:q') } } });
  });

  it('saves and erases through the credential helper the file names', async () => {
    const file = join(dir, 'helper-write.json');
    const log = join(dir, 'helper.log');
    await writeFile(file, JSON.stringify({ credsStore: 'testhelper' }));
    expect(await saveCredentials('store.example', { kind: 'basic', username: 'su', password: 'sp' }, { authfile: file, env: env({ HELPER_LOG: log }) })).toBe('helper:testhelper');
    expect(JSON.parse(await readFile(log, 'utf8'))).toEqual({ ServerURL: 'store.example', Username: 'su', Secret: 'sp' });
    expect(JSON.parse(await readFile(file, 'utf8')).auths).toEqual({ 'store.example': {} });
    expect(await removeCredentials('store.example', { authfile: file, env: env({ HELPER_LOG: log }) })).toBe(true);
    expect(await readFile(log, 'utf8')).toBe('erased store.example');
  });
});
