import { InvalidReferenceError } from './errors.js';

/** A target platform: operating system, CPU architecture and optional variant. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
};

/**
 * Normalises a platform the way containerd does: `x86_64` is `amd64`, `aarch64` is `arm64`, arm64's default
 * variant `v8` is dropped, arm's variant defaults to `v7`, and bare numeric variants get a `v`.
 */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase();
  const architecture = ARCH_ALIASES[platform.architecture.toLowerCase()] ?? platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase();
  if (variant !== undefined && /^[0-9]+$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  if (architecture === 'arm' && (variant === undefined || variant === '')) variant = 'v7';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  if (variant === '') variant = undefined;
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/**
 * Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`, `linux/amd64`) and normalises it. A bare architecture
 * (`arm64`) means Linux.
 * @throws InvalidReferenceError for anything else.
 */
export function parsePlatform(input: string): Platform {
  const parts = input.trim().split('/');
  const valid = (part: string): boolean => /^[A-Za-z0-9_.-]+$/.test(part);
  if (parts.length === 0 || parts.length > 3 || !parts.every(valid)) {
    throw new InvalidReferenceError(`invalid platform "${input}": expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0]! });
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

/** `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
}

/** Whether two platforms are the same once normalised (a missing variant equals the default one). */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const a = normalizePlatform(wanted);
  const b = normalizePlatform(candidate);
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const arch = process.arch;
  const architecture =
    arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch === 'ppc64' ? 'ppc64le' : (arch as string);
  let variant: string | undefined;
  if (arch === 'arm') {
    const version = (process.config.variables as Record<string, unknown>).arm_version;
    variant = typeof version === 'string' || typeof version === 'number' ? `v${version}` : undefined;
  }
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture, ...(variant ? { variant } : {}) });
}
