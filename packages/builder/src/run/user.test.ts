import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { UserLookupError } from './errors.js';
import { parseGroup, parsePasswd, resolveUser, type UserDbReader } from './user.js';

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  '# comment',
  '',
  'app:x:1000:1000:App:/home/app:/bin/sh',
  'web:x:33:33::/var/www:',
  'broken:x:notanumber:1::/:',
  'dup:x:1000:5::/elsewhere:',
].join('\n');
const group = ['root:x:0:', 'app:x:1000:', 'extra:x:2000:app,web', 'more:x:3000:web,app', 'www:x:33:', 'twice:x:2000:'].join(
  '\n',
);
const reader: UserDbReader = async (file) => (file === 'passwd' ? passwd : group);

describe('resolveUser', () => {
  it('resolves names with their primary group, supplementary groups and home', async () => {
    expect(await resolveUser(reader, 'app')).toEqual({ uid: 1000, gid: 1000, additionalGids: [2000, 3000], home: '/home/app' });
    expect(await resolveUser(reader, 'web')).toEqual({ uid: 33, gid: 33, additionalGids: [2000, 3000], home: '/var/www' });
  });

  it('treats an empty spec as root', async () => {
    expect(await resolveUser(reader, '')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });

  it('takes a numeric user with or without an entry (first entry wins)', async () => {
    expect(await resolveUser(reader, '1000')).toEqual({ uid: 1000, gid: 1000, additionalGids: [2000, 3000], home: '/home/app' });
    expect(await resolveUser(reader, '4242')).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
  });

  it('takes an explicit group by name or number, and then no supplementary groups', async () => {
    expect(await resolveUser(reader, 'app:www')).toEqual({ uid: 1000, gid: 33, additionalGids: [], home: '/home/app' });
    expect(await resolveUser(reader, 'app:777')).toEqual({ uid: 1000, gid: 777, additionalGids: [], home: '/home/app' });
    expect(await resolveUser(reader, '4242:4343')).toEqual({ uid: 4242, gid: 4343, additionalGids: [], home: '/' });
    expect(await resolveUser(reader, ':extra')).toEqual({ uid: 0, gid: 2000, additionalGids: [], home: '/root' });
  });

  it("fails with docker's messages for unknown names", async () => {
    await expect(resolveUser(reader, 'ghost')).rejects.toThrow(
      new UserLookupError('unable to find user ghost: no matching entries in passwd file'),
    );
    await expect(resolveUser(reader, 'app:ghosts')).rejects.toThrow(
      new UserLookupError('unable to find group ghosts: no matching entries in group file'),
    );
    await expect(resolveUser(reader, 'broken')).rejects.toThrow(/unable to find user broken/);
    await expect(resolveUser(reader, '99999999999')).rejects.toThrow(/out of range/);
  });

  it('treats missing files as empty', async () => {
    const none: UserDbReader = async () => undefined;
    expect(await resolveUser(none, '')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/' });
    expect(await resolveUser(none, '12:34')).toEqual({ uid: 12, gid: 34, additionalGids: [], home: '/' });
    await expect(resolveUser(none, 'root')).rejects.toThrow(UserLookupError);
  });
});

describe('resolveUser on an image root', () => {
  let root: string;
  const outside = join(tmpdir(), `tsbuild-user-test-host-passwd-${process.pid}`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-user-test-'));
    await mkdir(join(root, 'usr/etc'), { recursive: true });
    await symlink('/usr/etc', join(root, 'etc'));
    await writeFile(join(root, 'usr/etc/passwd'), 'svc:x:500:500::/srv:/bin/sh\n');
    // an absolute link: inside the root it reaches the image's copy, never the host file of the same name
    await symlink(outside, join(root, 'usr/etc/group'));
    await mkdir(join(root, outside, '..'), { recursive: true });
    await writeFile(join(root, outside), 'svcgroup:x:501:svc\n');
    await writeFile(outside, 'svcgroup:x:999:svc\n');
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { force: true });
  });

  it('reads /etc/passwd and /etc/group through symlinks resolved inside the root', async () => {
    expect(await resolveUser(root, 'svc')).toEqual({ uid: 500, gid: 500, additionalGids: [501], home: '/srv' });
  });
});

describe('parsePasswd and parseGroup', () => {
  it('skip comments, NIS lines and malformed lines', () => {
    expect(parsePasswd('+::::::\n#x\nok:x:1:2::/h:/s\nbad:x:1\n')).toEqual([{ name: 'ok', uid: 1, gid: 2, home: '/h' }]);
    expect(parseGroup('g:x:7:a,,b\nbad:x:\n')).toEqual([{ name: 'g', gid: 7, members: ['a', 'b'] }]);
  });
});
