import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTemp, removeTemp, trySetDefaultAcl } from '../__fixtures__/helpers.js';
import { PlainDirectories } from './plain-directories.js';

let temp: string;
beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => removeTemp(temp));

describe('PlainDirectories', () => {
  it('calls an ordinary directory plain, and a setgid one, a file or a missing path not', () => {
    const plain = new PlainDirectories();
    const ordinary = join(temp, 'ordinary');
    mkdirSync(ordinary);
    const setgid = join(temp, 'setgid');
    mkdirSync(setgid);
    chmodSync(setgid, 0o2755);
    const file = join(temp, 'file');
    writeFileSync(file, 'x');
    expect(plain.isPlain(ordinary)).toBe(true);
    expect(plain.isPlain(setgid)).toBe(false);
    expect(plain.isPlain(file)).toBe(false);
    expect(plain.isPlain(join(temp, 'missing'))).toBe(false);
  });

  it('calls a directory with a default ACL not plain', (context) => {
    const dir = join(temp, 'acl');
    mkdirSync(dir);
    if (!trySetDefaultAcl(dir)) context.skip();
    expect(new PlainDirectories().isPlain(dir)).toBe(false);
  });

  it('keeps its answer until told to forget it', () => {
    const plain = new PlainDirectories();
    const dir = join(temp, 'changing');
    mkdirSync(dir);
    expect(plain.isPlain(dir)).toBe(true);
    chmodSync(dir, 0o2755);
    expect(plain.isPlain(dir)).toBe(true);
    plain.forget(dir);
    expect(plain.isPlain(dir)).toBe(false);
    chmodSync(dir, 0o755);
    plain.clear();
    expect(plain.isPlain(dir)).toBe(true);
  });
});
