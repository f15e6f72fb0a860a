import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITY, makeTemp, removeTemp } from './__fixtures__/helpers.js';
import { getXattr, isOpaqueDirectory, isOverlayXattr, listXattrs, readXattrs, setXattr } from './xattrs.js';

let temp: string;
beforeAll(() => {
  temp = makeTemp();
});
afterAll(() => removeTemp(temp));

describe('xattrs (needs root for trusted.*)', () => {
  it('reads and writes binary values without following symlinks', () => {
    const file = join(temp, 'file');
    writeFileSync(file, 'x');
    setXattr(file, 'security.capability', CAPABILITY);
    setXattr(file, 'user.a', Buffer.from([0xff, 0x00, 0x80]));
    symlinkSync(file, join(temp, 'link'));
    setXattr(join(temp, 'link'), 'trusted.on-link', Buffer.from('l'));
    expect(readXattrs(file)).toEqual(new Map([['security.capability', CAPABILITY], ['user.a', Buffer.from([0xff, 0x00, 0x80])]]));
    expect(readXattrs(join(temp, 'link'))).toEqual(new Map([['trusted.on-link', Buffer.from('l')]]));
    expect(readXattrs(file, (name) => name.startsWith('user.'))).toEqual(new Map([['user.a', Buffer.from([0xff, 0x00, 0x80])]]));
    expect(getXattr(file, 'user.none')).toBeUndefined();
    expect(listXattrs(join(temp, 'link'))).toEqual(['trusted.on-link']);
    expect(() => listXattrs(join(temp, 'missing'))).toThrow(/No such file/);
  });

  it('knows overlay attributes and opaque directories', () => {
    const dir = join(temp, 'opaque');
    const userDir = join(temp, 'user-opaque');
    const plain = join(temp, 'plain');
    for (const d of [dir, userDir, plain]) mkdirSync(d);
    setXattr(dir, 'trusted.overlay.opaque', Buffer.from('y'));
    setXattr(userDir, 'user.overlay.opaque', Buffer.from('y'));
    setXattr(plain, 'trusted.overlay.opaque', Buffer.from('x'));
    expect([isOpaqueDirectory(dir), isOpaqueDirectory(userDir), isOpaqueDirectory(plain)]).toEqual([true, true, false]);
    expect([isOverlayXattr('trusted.overlay.origin'), isOverlayXattr('user.overlay.opaque'), isOverlayXattr('trusted.overlayish')]).toEqual([true, true, false]);
  });
});
