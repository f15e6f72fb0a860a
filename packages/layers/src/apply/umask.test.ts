import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTemp, removeTemp } from '../__fixtures__/helpers.js';
import { readUmask } from './umask.js';

let temp: string;
beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => removeTemp(temp));

describe('readUmask', () => {
  it("reads the Umask line of a status file, and says nothing when there is none", () => {
    const status = join(temp, 'status');
    writeFileSync(status, 'Name:\tnode\nUmask:\t0027\nState:\tR (running)\n');
    expect(readUmask(status)).toBe(0o027);
    writeFileSync(status, 'Name:\tnode\nState:\tR (running)\n');
    expect(readUmask(status)).toBeUndefined();
    expect(readUmask(join(temp, 'missing'))).toBeUndefined();
  });

  it("reads this process's umask without changing it", () => {
    const before = process.umask(0o022);
    try {
      expect(readUmask()).toBe(0o022);
      process.umask(0o077);
      expect(readUmask()).toBe(0o077);
      expect(readUmask()).toBe(0o077);
    } finally {
      process.umask(before);
    }
  });
});
