/**
 * Build arguments: the predefined ones (platforms, proxies) and the scoping of ARG along a stage.
 */
import { formatPlatform, type Platform } from '@tsbuild/oci';
import { expandInstruction } from './expand.js';
import type { ArgInstruction } from './instructions.js';
import { environmentLookup, type Environment, type EscapeToken } from './shell-lexer.js';

/**
 * Proxy build args: usable in RUN without an ARG instruction when given with `--build-arg`, and never written to
 * the image config or its history.
 */
export const PROXY_ARGS: readonly string[] = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

/** Platform args defined in the global scope (usable in FROM; a stage must declare them with `ARG NAME` to use them). */
export const PLATFORM_ARGS: readonly string[] = [
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
];

/** Whether a name is one of the proxy args. */
export function isProxyArg(name: string): boolean {
  return PROXY_ARGS.includes(name);
}

/** Whether a name is predefined (a platform or proxy arg), so never reported as an unused build arg. */
export function isPredefinedArg(name: string): boolean {
  return PLATFORM_ARGS.includes(name) || PROXY_ARGS.includes(name);
}

/** The platform args for a target and a build platform (`TARGETARCH=arm64`, `BUILDPLATFORM=linux/amd64`, …). */
export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/** One name of an ARG instruction after resolution. */
export interface ResolvedArg {
  readonly name: string;
  /** The value: the `--build-arg`, else the expanded default, else the global (meta or platform) value. */
  readonly value?: string;
}

/** What a stage's ARGs are resolved against. */
export interface ArgScope {
  /** The global scope: platform args and meta ARGs (before the first FROM), build args applied. */
  readonly globalArgs: ReadonlyMap<string, string>;
  /** The `--build-arg` values. */
  readonly buildArgs: ReadonlyMap<string, string>;
}

/**
 * The ARG values visible along one stage, for the executor to keep as it walks the stage's instructions:
 * an ARG is visible from its declaration to the end of its stage; a `--build-arg` overrides its default; a bare
 * `ARG NAME` takes the global value (meta ARG or platform arg) when there is one.
 *
 * ARG values are not part of the image config. They are set in RUN's environment and words are expanded against
 * them, with the stage's ENV taking precedence over an ARG of the same name.
 */
export class StageArgs {
  private readonly values = new Map<string, string>();
  private readonly declared: string[] = [];

  constructor(
    private readonly scope: ArgScope,
    private readonly escapeToken: EscapeToken = '\\',
  ) {}

  /**
   * Applies an ARG instruction. `env` is the stage's ENV at this point (base image config plus ENV instructions);
   * defaults are expanded against it and the ARGs declared before.
   * @returns each name with its value, in order (what `ARG a=1 b` records in history: `ARG a=1 b`).
   * @throws DockerfileError when a default cannot be expanded.
   */
  declare(arg: ArgInstruction, env: Environment): ResolvedArg[] {
    const resolved: ResolvedArg[] = [];
    for (const declaration of arg.args) {
      const { name } = declaration;
      let value = this.scope.buildArgs.get(name);
      if (value === undefined && declaration.default !== undefined) {
        const single: ArgInstruction = { ...arg, args: [declaration] };
        const expanded = expandInstruction(single, this.expansionEnv(env), { escapeToken: this.escapeToken });
        value = expanded.instruction.args[0]!.default;
      } else if (value === undefined) {
        value = this.scope.globalArgs.get(name);
      }
      if (!this.declared.includes(name)) this.declared.push(name);
      // A re-declaration without any value keeps the earlier value (BuildKit does not unset it).
      if (value !== undefined) this.values.set(name, value);
      resolved.push(value === undefined ? { name } : { name, value });
    }
    return resolved;
  }

  /** Names declared so far in this stage, in order. */
  get names(): readonly string[] {
    return this.declared;
  }

  /** Declared ARGs that have a value, in declaration order. */
  get entries(): ReadonlyMap<string, string> {
    return this.values;
  }

  /** Whether a name has been declared in this stage (with or without a value). */
  has(name: string): boolean {
    return this.declared.includes(name);
  }

  /** The environment to expand words against: these ARG values overlaid by `env` (ENV wins over ARG). */
  expansionEnv(env: Environment): (name: string) => string | undefined {
    const lookup = environmentLookup(env);
    return (name) => lookup(name) ?? this.values.get(name);
  }
}
