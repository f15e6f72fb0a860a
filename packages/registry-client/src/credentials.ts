import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CredentialsError } from './errors.js';
import { DOCKER_HUB_AUTH_KEY, isDockerHub, normalizeAuthKey } from './registry-host.js';

/** A user name and password (or personal access token) sent with HTTP Basic or to a token server. */
export interface BasicCredentials {
  kind: 'basic';
  username: string;
  password: string;
}

/** A Docker `identitytoken`: an OAuth2 refresh token exchanged at the token server for access tokens. */
export interface IdentityTokenCredentials {
  kind: 'identity-token';
  token: string;
  username?: string;
}

/** Credentials for one registry. */
export type Credentials = BasicCredentials | IdentityTokenCredentials;

/** Environment variables the credential lookup reads (`HOME`, `XDG_*`, `REGISTRY_AUTH_FILE`, `DOCKER_CONFIG`, `PATH`). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Where credentials come from. */
export interface CredentialOptions {
  /** `user:password` (as `--creds` takes it) or credentials; wins over every file. */
  creds?: string | Credentials;
  /** An auth file (`--authfile`); when given, the default files are not read. */
  authfile?: string;
  /** The environment to read paths from; default `process.env`. */
  env?: Environment;
}

/**
 * Parses `--creds user:password` (the password may contain colons).
 * @throws CredentialsError when there is no colon or no user name.
 */
export function parseCredsFlag(value: string): BasicCredentials {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new CredentialsError('--creds must be USERNAME:PASSWORD');
  return { kind: 'basic', username: value.slice(0, colon), password: value.slice(colon + 1) };
}

function home(env: Environment): string {
  return env.HOME ?? homedir();
}

/** Docker's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: Environment = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(home(env), '.docker'), 'config.json');
}

/**
 * The auth files read, most important first: `--authfile` alone when given; else `$REGISTRY_AUTH_FILE`,
 * `${XDG_RUNTIME_DIR}/containers/auth.json`, `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json` and Docker's
 * `config.json`.
 */
export function authFilePaths(options: CredentialOptions = {}): string[] {
  if (options.authfile !== undefined) return [options.authfile];
  const env = options.env ?? process.env;
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  paths.push(join(env.XDG_CONFIG_HOME ?? join(home(env), '.config'), 'containers', 'auth.json'));
  paths.push(dockerConfigPath(env));
  return [...new Set(paths)];
}

/**
 * The file `login` writes to and `logout` removes from: `--authfile`, else `$REGISTRY_AUTH_FILE`, else
 * `${XDG_RUNTIME_DIR}/containers/auth.json` when `XDG_RUNTIME_DIR` is set, else Docker's `config.json`.
 */
export function defaultAuthFileForWrite(options: CredentialOptions = {}): string {
  if (options.authfile !== undefined) return options.authfile;
  const env = options.env ?? process.env;
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return dockerConfigPath(env);
}

/** The parts of an auth file (containers `auth.json` or Docker `config.json`) tsbuild reads. */
export interface AuthFile {
  auths?: Record<string, AuthFileEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/** One `auths` entry. */
export interface AuthFileEntry {
  auth?: string;
  identitytoken?: string;
  username?: string;
  password?: string;
  [key: string]: unknown;
}

/**
 * Reads an auth file; a missing file is an empty one.
 * @throws CredentialsError naming the file when it is not valid JSON.
 */
export async function readAuthFile(path: string): Promise<AuthFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CredentialsError(`cannot read auth file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') return {};
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a JSON object');
    return json as AuthFile;
  } catch (err) {
    throw new CredentialsError(`auth file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function decodeEntry(entry: AuthFileEntry, where: string): Credentials | undefined {
  let username = entry.username;
  let password = entry.password;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw new CredentialsError(`${where}: "auth" is not base64 of user:password`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { kind: 'identity-token', token: entry.identitytoken, ...(username ? { username } : {}) };
  }
  if (typeof username === 'string' && username !== '' && typeof password === 'string') {
    return { kind: 'basic', username, password };
  }
  return undefined;
}

/** The `auths` entry that applies to `registry/repository`: an exact host key, or the longest `host/path` prefix. */
function findEntry(file: AuthFile, registry: string, repository?: string): [string, AuthFileEntry] | undefined {
  const wanted = normalizeAuthKey(registry);
  const full = repository ? `${wanted}/${repository}` : wanted;
  let best: [string, AuthFileEntry] | undefined;
  let bestLength = -1;
  for (const [key, entry] of Object.entries(file.auths ?? {})) {
    const normalized = normalizeAuthKey(key);
    const matches = normalized === wanted || full === normalized || full.startsWith(`${normalized}/`);
    if (matches && normalized.length > bestLength && typeof entry === 'object' && entry !== null) {
      best = [key, entry];
      bestLength = normalized.length;
    }
  }
  return best;
}

function helperFor(file: AuthFile, registry: string): string | undefined {
  const wanted = normalizeAuthKey(registry);
  for (const [key, helper] of Object.entries(file.credHelpers ?? {})) {
    if (normalizeAuthKey(key) === wanted && typeof helper === 'string' && helper !== '') return helper;
  }
  return undefined;
}

/** The server URL a credential helper is asked about: Docker's key for Docker Hub, else the host. */
export function helperServerUrl(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_AUTH_KEY : registry;
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin and returns its exit code and output. */
async function runHelper(
  helper: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  env: Environment,
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) throw new CredentialsError(`invalid credential helper name "${helper}"`);
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { env: { ...env } as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new CredentialsError(missing ? `credential helper ${program} is not installed (not found in PATH)` : `cannot run ${program}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function firstLine(text: string): string {
  return (text.trim().split('\n')[0] ?? '').slice(0, 200);
}

/**
 * Asks a credential helper for the credentials of `registry`.
 * @returns undefined when the helper has none.
 * @throws CredentialsError when the helper is missing or fails.
 */
export async function getHelperCredentials(helper: string, registry: string, env: Environment = process.env): Promise<Credentials | undefined> {
  const result = await runHelper(helper, 'get', helperServerUrl(registry), env);
  if (result.code !== 0) {
    if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
    throw new CredentialsError(`credential helper docker-credential-${helper} failed for ${registry}: ${firstLine(result.stdout || result.stderr)}`);
  }
  let json: { Username?: unknown; Secret?: unknown };
  try {
    json = JSON.parse(result.stdout) as typeof json;
  } catch {
    throw new CredentialsError(`credential helper docker-credential-${helper} printed something that is not JSON`);
  }
  if (typeof json.Secret !== 'string' || json.Secret === '') return undefined;
  const username = typeof json.Username === 'string' ? json.Username : '';
  if (username === '<token>') return { kind: 'identity-token', token: json.Secret };
  return { kind: 'basic', username, password: json.Secret };
}

/** Stores credentials with a credential helper (`docker-credential-<helper> store`). */
export async function storeHelperCredentials(helper: string, registry: string, credentials: BasicCredentials, env: Environment = process.env): Promise<void> {
  const input = JSON.stringify({ ServerURL: helperServerUrl(registry), Username: credentials.username, Secret: credentials.password });
  const result = await runHelper(helper, 'store', input, env);
  if (result.code !== 0) throw new CredentialsError(`credential helper docker-credential-${helper} could not store credentials for ${registry}: ${firstLine(result.stdout || result.stderr)}`);
}

/** Erases credentials from a credential helper; returns false when it had none. */
export async function eraseHelperCredentials(helper: string, registry: string, env: Environment = process.env): Promise<boolean> {
  const result = await runHelper(helper, 'erase', helperServerUrl(registry), env);
  if (result.code === 0) return true;
  if (/not found/i.test(result.stdout + result.stderr)) return false;
  throw new CredentialsError(`credential helper docker-credential-${helper} could not erase credentials for ${registry}: ${firstLine(result.stdout || result.stderr)}`);
}

/** Credentials found for a registry, and where they came from (a file path or `helper:<name>`; never the secret). */
export interface FoundCredentials {
  credentials: Credentials;
  source: string;
}

/** Looks up the credentials of one registry in one parsed auth file (helpers included). */
async function fromAuthFile(file: AuthFile, path: string, registry: string, repository: string | undefined, env: Environment): Promise<FoundCredentials | undefined> {
  const helper = helperFor(file, registry);
  if (helper !== undefined) {
    const credentials = await getHelperCredentials(helper, registry, env);
    if (credentials) return { credentials, source: `helper:${helper}` };
  }
  const entry = findEntry(file, registry, repository);
  if (entry) {
    const credentials = decodeEntry(entry[1], `${path}: auths["${entry[0]}"]`);
    if (credentials) return { credentials, source: path };
  }
  if (typeof file.credsStore === 'string' && file.credsStore !== '') {
    const credentials = await getHelperCredentials(file.credsStore, registry, env);
    if (credentials) return { credentials, source: `helper:${file.credsStore}` };
  }
  return undefined;
}

/**
 * Finds the credentials for `registry` (and optionally a repository in it, for auth files with `host/path` keys):
 * `creds` first, then each of {@link authFilePaths} in order, each looked up via `credHelpers`, `auths` and
 * `credsStore`.
 * @returns undefined when there are none (anonymous access).
 * @throws CredentialsError for an unreadable auth file or a failing helper.
 */
export async function findCredentials(registry: string, options: CredentialOptions = {}, repository?: string): Promise<FoundCredentials | undefined> {
  if (options.creds !== undefined) {
    const credentials = typeof options.creds === 'string' ? parseCredsFlag(options.creds) : options.creds;
    return { credentials, source: '--creds' };
  }
  const env = options.env ?? process.env;
  for (const path of authFilePaths(options)) {
    const found = await fromAuthFile(await readAuthFile(path), path, registry, repository, env);
    if (found) return found;
  }
  return undefined;
}
