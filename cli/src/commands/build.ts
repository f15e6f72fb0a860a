import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Option } from 'commander';
import type { PullPolicy } from '@tsbuild/builder';
import type { Compression } from '@tsbuild/oci';
import { createBuildRenderer } from '../build/render.js';
import { makeContext } from '../context.js';
import { println } from '../io.js';
import { builderModule, imageModule, ociModule } from '../lazy.js';
import { CommandFailed, ExitCode } from '../program.js';
import { connectionOptions, withRegistryOptions, type RegistryFlags } from './pull.js';
import { commandOf, type RegisterCommand } from './types.js';

/** The options of `tsbuild build`. */
interface BuildFlags extends RegistryFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  cache: boolean;
  pull?: string | boolean;
  network: 'host' | 'none';
  label: string[];
  iidfile?: string;
  quiet?: boolean;
  progress: 'auto' | 'tty' | 'plain';
  format: 'oci' | 'docker';
  platform?: string;
  compression: Compression;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `KEY=VALUE` pairs into a record; a bare `KEY` takes its value from the environment, as docker does. */
function keyValues(pairs: readonly string[], what: string, fromEnvironment: boolean): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq === 0) throw new CommandFailed(`invalid ${what} "${pair}": expected KEY=VALUE`, ExitCode.usage);
    if (eq === -1) {
      if (!fromEnvironment) throw new CommandFailed(`invalid ${what} "${pair}": expected KEY=VALUE`, ExitCode.usage);
      const value = process.env[pair];
      if (value !== undefined) result[pair] = value;
      continue;
    }
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}

function pullPolicy(value: string | boolean | undefined): PullPolicy {
  if (value === undefined || value === false) return 'missing';
  if (value === true || value === 'always' || value === 'true') return 'always';
  if (value === 'missing' || value === 'never') return value;
  throw new CommandFailed(`invalid --pull value "${value}": expected always, missing or never`, ExitCode.usage);
}

/** `tsbuild build CONTEXT` (also the default command: `tsbuild -t app:1 .`). */
export const registerBuild: RegisterCommand = (program, io, signal) =>
  withRegistryOptions(
    program
      .command('build', { isDefault: true })
      .description('Build an image from a Dockerfile (the default command: tsbuild -t app:1 .)')
      .argument('<context>', 'build context directory')
      .option('-t, --tag <name>', 'name the image, e.g. app:1 (repeatable)', collect, [])
      .option('-f, --file <path>', 'Dockerfile (default CONTEXT/Dockerfile; may be outside the context; - reads standard input)')
      .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect, [])
      .option('--target <stage>', 'build this stage (and what it needs) instead of the last one')
      .option('--no-cache', 'run every step, ignoring the step cache')
      .option('--pull [policy]', 'pull base images: always (the default with --pull), missing (default), never')
      .addOption(new Option('--network <mode>', 'network of RUN steps').choices(['host', 'none']).default('host'))
      .option('--label <key=value>', 'add a label to the image (repeatable)', collect, [])
      .option('--iidfile <file>', 'write the image ID to this file')
      .option('-q, --quiet', 'print only the image ID')
      .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'tty', 'plain']).default('auto'))
      .addOption(new Option('--format <format>', 'manifest and media types').choices(['oci', 'docker']).default('oci'))
      .addOption(new Option('--compression <kind>', 'layer compression').choices(['gzip', 'zstd', 'none']).default('gzip'))
      .option('--platform <os/arch[/variant]>', 'target platform (default: this host)'),
  ).action(async (contextDir: string, flags: BuildFlags, ...rest: unknown[]) => {
    const command = commandOf(rest);
    const ctx = makeContext(command, io, signal);
    if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) {
      const { dockerfile } = await builderModule();
      const suggestion = command.parent?.commands.find((c) => c.name() !== 'build' && dockerfile.editDistance(c.name(), contextDir) <= 2);
      throw new CommandFailed(
        `build context "${contextDir}" is not a directory${suggestion ? ` (did you mean tsbuild ${suggestion.name()}?)` : ''}`,
        ExitCode.usage,
      );
    }
    let dockerfileText: string | undefined;
    if (flags.file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of io.stdin) chunks.push(chunk as Buffer);
      dockerfileText = Buffer.concat(chunks).toString('utf8');
    }
    const [{ buildImage }, { pullImage }, { formatPlatform }] = await Promise.all([builderModule(), imageModule(), ociModule()]);
    const store = await ctx.store();
    const renderer = createBuildRenderer(io.stderr, flags.quiet ? 'quiet' : flags.progress);
    const epoch = process.env.SOURCE_DATE_EPOCH;
    try {
      const result = await buildImage({
        store,
        context: contextDir,
        ...(flags.file !== undefined && flags.file !== '-' ? { dockerfile: flags.file } : {}),
        ...(dockerfileText !== undefined ? { dockerfileText } : {}),
        tags: flags.tag,
        buildArgs: keyValues(flags.buildArg, 'build argument', true),
        ...(flags.target !== undefined ? { target: flags.target } : {}),
        noCache: !flags.cache,
        pull: pullPolicy(flags.pull),
        network: flags.network,
        labels: keyValues(flags.label, 'label', false),
        format: flags.format,
        compression: flags.compression,
        ...(flags.platform !== undefined ? { platform: flags.platform } : {}),
        ...(epoch !== undefined && /^\d+$/.test(epoch) ? { sourceDateEpoch: Number(epoch) } : {}),
        pullImage: async (reference, { platform, signal: pullSignal }) => {
          await pullImage(store, reference, { ...connectionOptions(flags), platform: formatPlatform(platform), ...(pullSignal ? { signal: pullSignal } : {}) });
        },
        onEvent: (event) => renderer.onEvent(event),
        signal,
      });
      renderer.stop();
      if (flags.iidfile) await writeFile(flags.iidfile, result.id);
      println(io.stdout, result.id);
    } finally {
      renderer.stop();
    }
  });
