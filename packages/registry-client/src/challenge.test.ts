import { describe, expect, it } from 'vitest';
import { parseChallenges } from './challenge.js';
import { mergeScopes, scopeAtoms, scopesCover } from './scope.js';
import { isLoopbackRegistry, normalizeAuthKey, apiHost } from './registry-host.js';
import { retryDelay, DEFAULT_RETRY_POLICY } from './retry.js';

describe('parseChallenges', () => {
  it('reads a Bearer challenge with a quoted scope list and an error', () => {
    expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error="insufficient_scope"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push', error: 'insufficient_scope' } },
    ]);
  });

  it('splits two challenges in one header and keeps escaped quotes', () => {
    expect(parseChallenges('Bearer realm="a,b", Basic realm="say \\"hi\\""')).toEqual([
      { scheme: 'bearer', params: { realm: 'a,b' } },
      { scheme: 'basic', params: { realm: 'say "hi"' } },
    ]);
  });

  it('accepts unquoted values, several headers and nothing', () => {
    expect(parseChallenges(['Basic realm=registry', 'Bearer realm="x"'])).toEqual([
      { scheme: 'basic', params: { realm: 'registry' } },
      { scheme: 'bearer', params: { realm: 'x' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('scopes', () => {
  it('a token for pull,push covers pull, not another repository', () => {
    const granted = scopeAtoms(['repository:app:pull,push']);
    expect(scopesCover(granted, ['repository:app:pull'])).toBe(true);
    expect(scopesCover(granted, ['repository:app:pull', 'repository:base:pull'])).toBe(false);
  });

  it('merges scopes per resource', () => {
    expect(mergeScopes(['repository:b:pull', 'repository:a:push', 'repository:a:pull'])).toEqual(['repository:a:pull,push', 'repository:b:pull']);
  });
});

describe('registry hosts', () => {
  it('knows loopback names with and without ports', () => {
    for (const host of ['localhost', 'localhost:5000', '127.0.0.1', '127.0.0.1:5000', '[::1]:5000', '::1']) expect(isLoopbackRegistry(host)).toBe(true);
    for (const host of ['registry.example:5000', '10.0.0.1', 'localhost.example.com']) expect(isLoopbackRegistry(host)).toBe(false);
  });

  it('normalises auth-file keys', () => {
    expect(normalizeAuthKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeAuthKey('http://localhost:5000/v2/')).toBe('localhost:5000');
    expect(normalizeAuthKey('quay.io/org/repo')).toBe('quay.io/org/repo');
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
  });
});

describe('retryDelay', () => {
  it('honours Retry-After in seconds and as a date, capped', () => {
    expect(retryDelay(DEFAULT_RETRY_POLICY, 1, '2')).toBe(2000);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 1, '3600')).toBe(DEFAULT_RETRY_POLICY.maxDelayMs);
    const date = new Date(Date.now() + 3000).toUTCString();
    expect(retryDelay(DEFAULT_RETRY_POLICY, 1, date)).toBeGreaterThan(1000);
  });

  it('backs off exponentially with jitter', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, minDelayMs: 100 };
    for (let i = 0; i < 20; i++) {
      const third = retryDelay(policy, 3);
      expect(third).toBeGreaterThanOrEqual(200);
      expect(third).toBeLessThanOrEqual(400);
    }
  });
});
