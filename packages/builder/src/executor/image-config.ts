import { hostPlatform, type History, type ImageConfig, type Platform } from '@tsbuild/oci';

/** The PATH docker and BuildKit give images that set none. */
export const DEFAULT_ENV_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The execution fields of an image config the builder changes (docker's names). */
export interface RuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: Record<string, unknown>;
  OnBuild?: string[] | null;
  Shell?: string[];
  [key: string]: unknown;
}

/** A mutable image config: the parsed JSON of the base's config (unknown fields kept), or a new one for scratch. */
export interface MutableConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config: RuntimeConfig;
  rootfs: { type: string; diff_ids: string[] };
  history: History[];
  [key: string]: unknown;
}

/** A new config for `FROM scratch` on a platform. */
export function scratchConfig(platform: Platform = hostPlatform()): MutableConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: [DEFAULT_ENV_PATH] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

/** A mutable copy of a base image's config (from its exact bytes, so unknown fields survive). */
export function configFromBase(bytes: Buffer): MutableConfig {
  const config = JSON.parse(bytes.toString('utf8')) as MutableConfig & ImageConfig;
  config.config = { ...(config.config ?? {}) } as RuntimeConfig;
  if (!config.config.Env || config.config.Env.length === 0) config.config.Env = [DEFAULT_ENV_PATH];
  config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids] };
  config.history = [...(config.history ?? [])];
  return config;
}

/** The value of `name` in a `NAME=value` list. */
export function envValue(env: readonly string[] | null | undefined, name: string): string | undefined {
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if ((eq === -1 ? entry : entry.slice(0, eq)) === name) return eq === -1 ? '' : entry.slice(eq + 1);
  }
  return undefined;
}

/** Sets `name=value` in a `NAME=value` list (replacing an existing entry in place). */
export function setEnv(env: readonly string[] | null | undefined, name: string, value: string): string[] {
  const list = [...(env ?? [])];
  const index = list.findIndex((entry) => entry === name || entry.startsWith(`${name}=`));
  if (index === -1) list.push(`${name}=${value}`);
  else list[index] = `${name}=${value}`;
  return list;
}

/** A `NAME=value` list as a map. */
export function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    map.set(eq === -1 ? entry : entry.slice(0, eq), eq === -1 ? '' : entry.slice(eq + 1));
  }
  return map;
}

/** Serialises a config as its blob (two different builds of the same state give the same bytes). */
export function configBytes(config: MutableConfig): Buffer {
  return Buffer.from(JSON.stringify(config));
}
