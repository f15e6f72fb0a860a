import { describe, expect, it } from 'vitest';
import { InvalidReferenceError } from './errors.js';
import { familiarReference, formatReference, parseReference, withDefaultTag } from './reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox', 'busybox'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['user/app:v1', 'docker.io/user/app:v1', 'user/app:v1'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox', 'busybox'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
    ['localhost/app', 'localhost/app', 'localhost/app'],
    ['127.0.0.1:5000/app:1', '127.0.0.1:5000/app:1', '127.0.0.1:5000/app:1'],
    ['[::1]:5000/app', '[::1]:5000/app', '[::1]:5000/app'],
    [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`, `busybox@${DIGEST}`],
    [`ghcr.io/o/r:tag@${DIGEST}`, `ghcr.io/o/r:tag@${DIGEST}`, `ghcr.io/o/r:tag@${DIGEST}`],
    ['Registry.Example.com/app', 'Registry.Example.com/app', 'Registry.Example.com/app'],
    
    ['a-b__c/e', 'docker.io/a-b__c/e', 'a-b__c/e'],
  ])('%s', (input, full, familiar) => {
    const ref = parseReference(input);
    expect(formatReference(ref)).toBe(full);
    expect(familiarReference(ref)).toBe(familiar);
  });

  it('keeps tag and digest apart', () => {
    const ref = parseReference(`localhost:5000/app:2@${DIGEST}`);
    expect(ref).toEqual({ domain: 'localhost:5000', path: 'app', tag: '2', digest: DIGEST });
  });

  it('adds latest only when neither tag nor digest is given', () => {
    expect(withDefaultTag(parseReference('busybox')).tag).toBe('latest');
    expect(withDefaultTag(parseReference(`busybox@${DIGEST}`)).tag).toBeUndefined();
  });

  it.each([
    ['', /empty reference/],
    ['Busybox', /must be lowercase/],
    ['docker.io/Library/busybox', /must be lowercase/],
    ['app:', /empty tag/],
    ['app:-bad', /invalid tag/],
    [`app:${'x'.repeat(129)}`, /invalid tag/],
    ['app@sha256:abc', /not a valid digest/],
    [`app@sha256:${'A'.repeat(64)}`, /lowercase hex/],
    [`app@md5:${'a'.repeat(32)}`, /unsupported digest algorithm/],
    ['a' .repeat(64), /image ID/],
    ['app//x', /invalid repository name/],
    ['-app', /invalid repository name/],
    ['bad_host:5000:/x', /invalid/],
    [`${'a'.repeat(250)}/b/c`, /longer than 255/],
    [':tag', /empty repository name/],
  ])('rejects %j', (input, message) => {
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(message);
  });
});
