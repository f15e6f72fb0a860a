import { posix } from 'node:path';
import type {
  CmdInstruction,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  HealthcheckInstruction,
  LabelInstruction,
  MaintainerInstruction,
  OnbuildInstruction,
  ShellInstruction,
  StopSignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from '../dockerfile/index.js';
import { BuildError } from './errors.js';
import { setEnv, type MutableConfig } from './image-config.js';

/** Instructions that only change the image config. */
export type MetadataInstruction =
  | EnvInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | ShellInstruction
  | CmdInstruction
  | EntrypointInstruction
  | OnbuildInstruction;

/** Per-stage facts metadata instructions depend on. */
export interface MetadataState {
  /** Whether this stage has set CMD (then ENTRYPOINT does not reset it). */
  cmdSet: boolean;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The stage's SHELL (default `/bin/sh -c`). */
export function shellOf(config: MutableConfig): string[] {
  return config.config.Shell && config.config.Shell.length > 0 ? [...config.config.Shell] : [...DEFAULT_SHELL];
}

/** A CMD/ENTRYPOINT/HEALTHCHECK command as the config stores it: exec form as is, shell form through SHELL. */
function commandArgv(config: MutableConfig, command: CmdInstruction | EntrypointInstruction): string[] {
  return command.form === 'exec' ? [...command.command] : [...shellOf(config), command.command];
}

/** Resolves WORKDIR against the current one, as docker does (relative paths are relative to the previous WORKDIR). */
export function resolveWorkdir(current: string | undefined, path: string): string {
  return posix.normalize(posix.isAbsolute(path) ? path : posix.join(current || '/', path));
}

const SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR',
  'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ',
]);

/** Whether a STOPSIGNAL value is a signal name (`SIGTERM`, `TERM`, `SIGRTMIN+3`) or number. */
export function isValidSignal(value: string): boolean {
  if (/^\d+$/.test(value)) return Number(value) > 0 && Number(value) < 65;
  const name = value.toUpperCase().replace(/^SIG/, '');
  return SIGNALS.has(name) || /^RTM(IN|AX)([+-]\d+)?$/.test(name);
}

/** Expands `8000-8002/tcp` into its ports and adds the default protocol. */
function exposedPorts(instruction: ExposeInstruction): string[] {
  const ports: string[] = [];
  for (const spec of instruction.ports) {
    const match = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
    if (!match) throw new BuildError(instruction, `invalid port "${spec}" in EXPOSE (expected PORT[-PORT][/tcp|udp|sctp])`);
    const first = Number(match[1]);
    const last = match[2] !== undefined ? Number(match[2]) : first;
    const protocol = (match[3] ?? 'tcp').toLowerCase();
    if (first < 1 || last > 65535 || last < first) throw new BuildError(instruction, `invalid port range "${spec}" in EXPOSE`);
    for (let port = first; port <= last; port++) ports.push(`${port}/${protocol}`);
  }
  return ports;
}

/**
 * Applies an (expanded) metadata instruction to the config. Returns the history `created_by` text.
 * @throws BuildError for invalid values (a bad port or signal).
 */
export function applyMetadata(config: MutableConfig, instruction: MetadataInstruction, state: MetadataState): string {
  const c = config.config;
  switch (instruction.keyword) {
    case 'ENV': {
      for (const { key, value } of instruction.pairs) c.Env = setEnv(c.Env, key, value);
      return `ENV ${instruction.pairs.map(({ key, value }) => `${key}=${value}`).join(' ')}`;
    }
    case 'LABEL': {
      c.Labels = { ...(c.Labels ?? {}) };
      for (const { key, value } of instruction.pairs) c.Labels[key] = value;
      return `LABEL ${instruction.pairs.map(({ key, value }) => `${key}=${value}`).join(' ')}`;
    }
    case 'MAINTAINER':
      config.author = instruction.maintainer;
      return `MAINTAINER ${instruction.maintainer}`;
    case 'EXPOSE': {
      const ports = exposedPorts(instruction);
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const port of ports) c.ExposedPorts[port] = {};
      return `EXPOSE ${ports.join(' ')}`;
    }
    case 'VOLUME': {
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const volume of instruction.volumes) {
        if (volume.trim() === '') throw new BuildError(instruction, 'VOLUME specified can not be an empty string');
        c.Volumes[volume] = {};
      }
      return `VOLUME [${instruction.volumes.join(' ')}]`;
    }
    case 'USER':
      if (instruction.user === '') throw new BuildError(instruction, 'USER requires a user name or ID');
      c.User = instruction.user;
      return `USER ${instruction.user}`;
    case 'WORKDIR':
      c.WorkingDir = resolveWorkdir(c.WorkingDir, instruction.path);
      return `WORKDIR ${c.WorkingDir}`;
    case 'STOPSIGNAL':
      if (!isValidSignal(instruction.signal)) throw new BuildError(instruction, `invalid signal "${instruction.signal}" in STOPSIGNAL`);
      c.StopSignal = instruction.signal;
      return `STOPSIGNAL ${instruction.signal}`;
    case 'HEALTHCHECK': {
      const health = instruction.health;
      if (health.kind === 'none') {
        c.Healthcheck = { Test: ['NONE'] };
      } else {
        const test = health.command.form === 'shell' ? ['CMD-SHELL', health.command.command] : ['CMD', ...health.command.command];
        c.Healthcheck = {
          Test: test,
          ...(health.interval ? { Interval: health.interval } : {}),
          ...(health.timeout ? { Timeout: health.timeout } : {}),
          ...(health.startPeriod ? { StartPeriod: health.startPeriod } : {}),
          ...(health.startInterval ? { StartInterval: health.startInterval } : {}),
          ...(health.retries ? { Retries: health.retries } : {}),
        };
      }
      return `HEALTHCHECK ${JSON.stringify(c.Healthcheck)}`;
    }
    case 'SHELL':
      c.Shell = [...instruction.shell];
      return `SHELL ${JSON.stringify(c.Shell)}`;
    case 'CMD':
      c.Cmd = commandArgv(config, instruction);
      state.cmdSet = true;
      return `CMD ${JSON.stringify(c.Cmd)}`;
    case 'ENTRYPOINT':
      c.Entrypoint = commandArgv(config, instruction);
      if (instruction.form === 'exec' && instruction.command.length === 0) c.Entrypoint = null;
      if (!state.cmdSet) c.Cmd = null;
      return `ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`;
    case 'ONBUILD':
      c.OnBuild = [...(c.OnBuild ?? []), instruction.expression];
      return `ONBUILD ${instruction.expression}`;
  }
}
