import { readFile } from 'node:fs/promises';

import { RunError, UserLookupError } from './errors.js';
import { joinRoot, resolveInRoot } from './resolve-in-root.js';

/** The identity a RUN step (or `tsbuild run`) runs as, after resolving the image's `USER`. */
export interface ResolvedUser {
  /** Numeric user id. */
  readonly uid: number;
  /** Numeric primary group id. */
  readonly gid: number;
  /** Supplementary group ids (from `/etc/group` membership, only when the spec names no group, as docker does). */
  readonly additionalGids: readonly number[];
  /** Home directory from `/etc/passwd`, `/` when the user has no entry; becomes `HOME` when the env has none. */
  readonly home: string;
}

/** Reads the image's `/etc/passwd` or `/etc/group`; `undefined` when the file does not exist. */
export type UserDbReader = (file: 'passwd' | 'group') => Promise<string | undefined>;

/** One line of `/etc/passwd`. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** One line of `/etc/group`. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/** The highest id docker accepts (ids are signed 32-bit in its runtime). */
const MAX_ID = 2 ** 31 - 1;

/** `/etc/passwd` or `/etc/group` bigger than this is refused rather than read into memory. */
const MAX_USER_DB_BYTES = 32 * 1024 * 1024;

/**
 * Resolves a `USER` spec (`uid`, `name`, `uid:gid`, `name:group`, … ; empty means root) with docker's rules,
 * reading the image's own `/etc/passwd` and `/etc/group`: no host name-service code ever runs on image content
 * (CVE-2019-14271). `source` is an image root directory (paths are resolved inside it) or a reader.
 *
 * - A numeric user needs no entry; a name must have one, else `unable to find user NAME: no matching entries in
 *   passwd file`.
 * - Without a group, the primary group is the entry's (0 without an entry) and the supplementary groups are those
 *   listing the user as a member; with a group (numeric, or a name that must exist), there are none.
 *
 * @throws {UserLookupError} for an unknown user or group name, or an id out of range.
 */
export async function resolveUser(source: string | UserDbReader, spec: string): Promise<ResolvedUser> {
  const read = typeof source === 'string' ? userDbReaderForRoot(source) : source;
  const separator = spec.indexOf(':');
  const userArg = separator === -1 ? spec : spec.slice(0, separator);
  const groupArg = separator === -1 ? '' : spec.slice(separator + 1);
  const userName = userArg === '' ? '0' : userArg;
  const numericUid = parseId(userName);

  const users = parsePasswd((await read('passwd')) ?? '');
  const entry = users.find((candidate) =>
    numericUid === undefined ? candidate.name === userName : candidate.uid === numericUid,
  );
  if (entry === undefined && numericUid === undefined) {
    throw new UserLookupError(`unable to find user ${userName}: no matching entries in passwd file`);
  }
  checkRange('uid', numericUid ?? entry?.uid ?? 0, spec);

  let gid = entry?.gid ?? 0;
  let additionalGids: number[] = [];
  if (groupArg !== '') {
    const groups = parseGroup((await read('group')) ?? '');
    const numericGid = parseId(groupArg);
    const group = groups.find((candidate) => candidate.name === groupArg || String(candidate.gid) === groupArg);
    if (group !== undefined) gid = group.gid;
    else if (numericGid !== undefined) gid = numericGid;
    else throw new UserLookupError(`unable to find group ${groupArg}: no matching entries in group file`);
    checkRange('gid', gid, spec);
  } else if (entry !== undefined) {
    const groups = parseGroup((await read('group')) ?? '');
    additionalGids = [...new Set(groups.filter((group) => group.members.includes(entry.name)).map((group) => group.gid))];
  }
  return { uid: numericUid ?? entry?.uid ?? 0, gid, additionalGids, home: entry?.home ?? '/' };
}

/** A {@link UserDbReader} for the `/etc/passwd` and `/etc/group` of an image root directory. */
export function userDbReaderForRoot(root: string): UserDbReader {
  return async (file) => {
    const found = await resolveInRoot(root, `etc/${file}`, { followFinal: true });
    if (found.stats === undefined || !found.stats.isFile()) return undefined;
    if (found.stats.size > MAX_USER_DB_BYTES) {
      throw new RunError(`/etc/${file} in the image is ${found.stats.size} bytes: too big to be a user database`);
    }
    return readFile(joinRoot(root, found.components), 'utf8');
  };
}

/** Parses `/etc/passwd` (`name:password:uid:gid:gecos:home:shell`); comments and malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const fields of dbLines(text)) {
    const [name = '', , uidText = '', gidText = '', , home = ''] = fields;
    const uid = parseId(uidText);
    const gid = parseId(gidText);
    if (name === '' || uid === undefined || gid === undefined) continue;
    entries.push({ name, uid, gid, home: home === '' ? '/' : home });
  }
  return entries;
}

/** Parses `/etc/group` (`name:password:gid:member,member`); comments and malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const fields of dbLines(text)) {
    const [name = '', , gidText = '', members = ''] = fields;
    const gid = parseId(gidText);
    if (name === '' || gid === undefined) continue;
    entries.push({ name, gid, members: members.split(',').filter((member) => member !== '') });
  }
  return entries;
}

function* dbLines(text: string): Generator<string[]> {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('+') || trimmed.startsWith('-')) continue;
    yield trimmed.split(':');
  }
}

function parseId(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function checkRange(what: 'uid' | 'gid', value: number, spec: string): void {
  if (value > MAX_ID) {
    throw new UserLookupError(`USER ${spec}: ${what} ${value} is out of range (0-${MAX_ID})`);
  }
}
