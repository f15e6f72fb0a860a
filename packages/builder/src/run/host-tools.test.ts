import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { escapeFstabField, formatFstab } from './fstab.js';
import { locateHostTools, overlayFeatureOptions, readElfInterpreter } from './host-tools.js';

describe('locateHostTools', () => {
  it('finds tini, the loader and the libraries of env as ldd sees them', async () => {
    const tools = await locateHostTools();
    expect(tools.init).toBe(realpathSync('/usr/bin/tini-static'));
    const ldd = execFileSync('ldd', ['/usr/bin/env'], { encoding: 'utf8' });
    expect(ldd).toContain(await readElfInterpreter('/usr/bin/env'));
    for (const library of tools.libraries) expect(ldd).toContain(`${library.name} =>`);
    expect(tools.libraries.some((library) => library.name.startsWith('libc.so'))).toBe(true);
  });

  it('explains a missing init', async () => {
    await expect(locateHostTools('/nonexistent/tini-static')).rejects.toThrow(/install Debian's tini package/);
  });
});

describe('overlayFeatureOptions', () => {
  it('asks for volatile only where the kernel has it', () => {
    expect(overlayFeatureOptions('6.1.0-18-amd64')).toEqual(['redirect_dir=off', 'index=off', 'metacopy=off', 'volatile']);
    expect(overlayFeatureOptions('5.4.0')).toEqual(['redirect_dir=off', 'index=off', 'metacopy=off']);
    expect(overlayFeatureOptions('4.9.0')).toEqual([]);
  });
});

describe('formatFstab', () => {
  it('escapes every byte that could break a line or a field', () => {
    expect(escapeFstabField('/a b\t#\\\nü')).toBe('/a\\040b\\011\\043\\134\\012\\303\\274');
    expect(formatFstab([{ source: 'proc', target: '/x y', type: 'proc', options: 'nosuid,ro' }])).toBe(
      'proc /x\\040y proc nosuid,ro 0 0\n',
    );
  });
});
