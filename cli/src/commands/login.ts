import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { println, type CliIO } from '../io.js';
import { registryModule } from '../lazy.js';
import { CommandFailed, ExitCode } from '../program.js';
import { withTlsOptions, type RegistryFlags } from './pull.js';
import type { RegisterCommand } from './types.js';

const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[A-Fa-f0-9:]+\])(?::[0-9]+)?$/;

/**
 * The registry host of a `login`/`logout` argument: `localhost:5000`, also given as `https://localhost:5000/` or
 * `localhost:5000/v2/` as people copy it from a browser.
 */
export function registryHost(input: string): string {
  const host = input.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (!HOST_RE.test(host)) throw new CommandFailed(`invalid registry "${input}": expected a host such as localhost:5000 or registry.example.com`);
  return host;
}

/** Reads all of standard input (for `--password-stdin`), without the trailing line break. */
async function readStdin(io: CliIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks a question on the terminal; with `secret`, what is typed is not echoed. */
async function prompt(io: CliIO, question: string, secret: boolean): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) io.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: true });
  try {
    io.stderr.write(question);
    muted = secret;
    const answer = await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      rl.once('close', () => reject(new CommandFailed('no answer given', ExitCode.usage)));
    });
    if (secret) io.stderr.write('\n');
    return answer;
  } finally {
    rl.close();
  }
}

/** `tsbuild login REGISTRY [-u USER] [-p PASS | --password-stdin]`. */
export const registerLogin: RegisterCommand = (program, io, signal) =>
  withTlsOptions(
    program
      .command('login')
      .description('Log in to a registry: check the credentials and store them in the auth file')
      .argument('<registry>', 'registry host, e.g. localhost:5000')
      .option('-u, --username <user>', 'user name')
      .option('-p, --password <password>', 'password (visible to other users of this machine: prefer --password-stdin)')
      .option('--password-stdin', 'read the password from standard input')
      .option('--authfile <file>', 'auth file to write (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else ~/.docker/config.json)'),
  ).action(async (registryArg: string, options: RegistryFlags & { username?: string; password?: string; passwordStdin?: boolean }) => {
    const registry = registryHost(registryArg);
    if (options.password !== undefined && options.passwordStdin) {
      throw new CommandFailed('--password and --password-stdin are mutually exclusive', ExitCode.usage);
    }
    const interactive = io.stdin.isTTY === true;
    let username = options.username;
    if (username === undefined) {
      if (!interactive || options.passwordStdin) throw new CommandFailed('a user name is needed: use -u USER', ExitCode.usage);
      username = (await prompt(io, 'Username: ', false)).trim();
    }
    if (username === '') throw new CommandFailed('the user name is empty', ExitCode.usage);
    let password: string;
    if (options.passwordStdin) {
      password = await readStdin(io);
    } else if (options.password !== undefined) {
      println(io.stderr, 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.');
      password = options.password;
    } else {
      if (!interactive) throw new CommandFailed('a password is needed: use --password-stdin (or -p PASSWORD)', ExitCode.usage);
      password = await prompt(io, 'Password: ', true);
    }
    if (password === '') throw new CommandFailed('the password is empty', ExitCode.usage);
    const { login } = await registryModule();
    await login(registry, username, password, {
      signal,
      ...(options.authfile !== undefined ? { authfile: options.authfile } : {}),
      ...(options.tlsVerify !== undefined ? { tlsVerify: options.tlsVerify } : {}),
      ...(options.certDir !== undefined ? { certDir: options.certDir } : {}),
    });
    println(io.stdout, 'Login Succeeded!');
  });
