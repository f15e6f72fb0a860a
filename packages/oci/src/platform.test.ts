import { describe, expect, it } from 'vitest';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches } from './platform.js';

describe('platforms', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['arm64', 'linux/arm64'],
    ['LINUX/AMD64', 'linux/amd64'],
  ])('parses %s as %s', (input, normal) => {
    expect(formatPlatform(parsePlatform(input))).toBe(normal);
  });

  it.each(['', 'linux/', 'a/b/c/d', 'linux/amd 64'])('rejects %j', (input) => {
    expect(() => parsePlatform(input)).toThrow(/invalid platform/);
  });

  it('matches with default variants', () => {
    expect(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(false);
    expect(platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'arm64' })).toBe(false);
  });

  it('knows the host', () => {
    const host = hostPlatform();
    expect(host.os).toBe(process.platform);
    expect(host.architecture).not.toBe('x64');
  });
});
