import { Option } from 'commander';
import { makeContext } from '../context.js';
import { builderModule } from '../lazy.js';
import { commandOf, type RegisterCommand } from './types.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `tsbuild run [--rm] IMAGE [CMD...]`: a command in an image, isolated like a RUN step, nothing kept. */
export const registerRun: RegisterCommand = (program, io, signal, state) =>
  program
    .command('run')
    .description('Run a command in an image (same isolation as RUN; nothing is kept)')
    .argument('<image>', 'name or image ID')
    .argument('[command...]', 'command and arguments (default: the image\'s ENTRYPOINT and CMD)')
    .option('--rm', 'remove the container afterwards (always the case: accepted for docker compatibility)')
    .option('-e, --env <key=value>', 'set an environment variable (repeatable; KEY alone takes it from this environment)', collect, [])
    .option('-u, --user <user[:group]>', 'run as this user (names resolved in the image)')
    .option('-w, --workdir <dir>', 'working directory')
    .option('--entrypoint <command>', 'override the image\'s ENTRYPOINT ("" clears it)')
    .option('-i, --interactive', 'pass standard input to the command')
    .addOption(new Option('--network <mode>', 'network').choices(['host', 'none']).default('host'))
    .passThroughOptions()
    .action(
      async (
        image: string,
        args: string[],
        flags: { env: string[]; user?: string; workdir?: string; entrypoint?: string; interactive?: boolean; network: 'host' | 'none' },
        ...rest: unknown[]
      ) => {
        const { runImage } = await builderModule();
        const ctx = makeContext(commandOf(rest), io, signal);
        const store = await ctx.store();
        state.exitCode = await runImage(store, image, {
          command: args,
          env: flags.env,
          ...(flags.user !== undefined ? { user: flags.user } : {}),
          ...(flags.workdir !== undefined ? { workdir: flags.workdir } : {}),
          ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint } : {}),
          network: flags.network,
          stdin: flags.interactive ? 'inherit' : 'ignore',
          stdout: io.stdout,
          stderr: io.stderr,
          signal,
        });
      },
    );
