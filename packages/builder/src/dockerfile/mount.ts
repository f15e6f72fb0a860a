/** `RUN --mount=…` specs: comma-separated `key=value` fields (CSV quoting allowed), as BuildKit reads them. */

/** The mount types RUN accepts. */
export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

/** How concurrent builds share a cache mount. */
export type CacheSharing = 'shared' | 'private' | 'locked';

/** A typed `--mount`, after its values have been expanded. */
export interface RunMount {
  readonly type: MountType;
  /** Where it appears in the container. Always set for bind, cache and tmpfs; for secrets it defaults to `/run/secrets/<id>` (unless `env=` is used); for ssh it is left to the executor. */
  readonly target?: string;
  /** Path in the source (`source=`/`src=`): in the context or the `from` stage/image for bind and cache. */
  readonly source?: string;
  /** A stage name, stage index or image to mount from (bind, cache). */
  readonly from?: string;
  /** Read-only; the default is true for bind, secret and ssh, false for cache and tmpfs. */
  readonly readOnly: boolean;
  /** Cache id, secret id or ssh id. Secrets default to the target's base name, ssh to `default`. */
  readonly id?: string;
  /** Cache sharing mode (cache only; default `shared`). */
  readonly sharing?: CacheSharing;
  /** File mode (octal in the spec) for cache, secret and ssh mounts. */
  readonly mode?: number;
  /** Owner uid for cache, secret and ssh mounts. */
  readonly uid?: number;
  /** Owner gid for cache, secret and ssh mounts. */
  readonly gid?: number;
  /** tmpfs size limit in bytes. */
  readonly size?: number;
  /** Fail when the secret or ssh socket is not provided (secret and ssh only). */
  readonly required: boolean;
  /** Expose the secret as this environment variable (secret only). */
  readonly env?: string;
}

/** A mount spec that cannot be used; the caller adds the location. */
export class MountSyntaxError extends Error {}

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];

/** Splits one CSV record as Go's `encoding/csv` does (quoted fields, `""` for a quote, no bare quotes). */
export function splitCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new MountSyntaxError(`unterminated quoted field in "${text}"`);
        const ch = text[i]!;
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += ch;
        i++;
      }
      if (i < text.length && text[i] !== ',') throw new MountSyntaxError(`extraneous " in field of "${text}"`);
    } else {
      while (i < text.length && text[i] !== ',') {
        if (text[i] === '"') throw new MountSyntaxError(`bare " in unquoted field of "${text}"`);
        field += text[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // ','
  }
}

function parseGoBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new MountSyntaxError(`invalid value for ${key}: "${value}" (use true or false)`);
}

function parseUint(key: string, value: string, radix: 8 | 10): number {
  const valid = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
  const parsed = valid.test(value) ? Number.parseInt(value, radix) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed > 0xffffffff) {
    throw new MountSyntaxError(`invalid value for ${key}: "${value}" (${radix === 8 ? 'an octal mode such as 0755' : 'a number'} expected)`);
  }
  return parsed;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker's memory size syntax: `64m`, `1.5g`, `512kb`, `1GiB` (binary multiples). */
function parseMemBytes(value: string): number {
  const match = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!match) throw new MountSyntaxError(`invalid value for size: "${value}" (e.g. 64m or 1g)`);
  return Math.floor(Number.parseFloat(match[1]!) * SIZE_UNITS[(match[2] ?? '').toLowerCase()]!);
}

function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

interface MutableMount {
  type: MountType;
  target?: string;
  source?: string;
  from?: string;
  readOnly?: boolean;
  id?: string;
  sharing?: CacheSharing;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  required: boolean;
  env?: string;
}

/**
 * Parses one `--mount` spec, expanding each `key=value` value with `expand` first (BuildKit expands mount values
 * with the stage's variables, except `from`).
 * @throws MountSyntaxError for an unknown type or key, a bad value, or a key the mount type does not take.
 */
export function parseMount(spec: string, expand: (value: string) => string = (value) => value): RunMount {
  if (spec === '') throw new MountSyntaxError('empty --mount value (e.g. --mount=type=cache,target=/root/.cache)');
  const mount: MutableMount = { type: 'bind', required: false };
  for (const field of splitCsvRecord(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') mount.readOnly = true;
      else if (key === 'readwrite' || key === 'rw') mount.readOnly = false;
      else if (key === 'required' && (mount.type === 'secret' || mount.type === 'ssh')) mount.required = true;
      else if (key === 'required') throw new MountSyntaxError(`"required" is not an option of ${mount.type} mounts (put type= first)`);
      else throw new MountSyntaxError(`invalid field "${field}": it must be a key=value pair`);
      continue;
    }
    const raw = field.slice(eq + 1);
    if (key === 'from' && raw.includes('$')) {
      throw new MountSyntaxError(`"from" does not support variables ("${raw}"); name the stage with FROM … AS instead`);
    }
    const value = key === 'from' ? raw : expand(raw);
    switch (key) {
      case 'type': {
        const type = value.toLowerCase();
        if (!(MOUNT_TYPES as readonly string[]).includes(type)) {
          throw new MountSyntaxError(`unsupported mount type "${value}" (use ${MOUNT_TYPES.join(', ')})`);
        }
        mount.type = type as MountType;
        break;
      }
      case 'from':
        mount.from = value;
        break;
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = value;
        break;
      case 'readonly':
      case 'ro':
        mount.readOnly = parseGoBool(key, value);
        break;
      case 'readwrite':
      case 'rw':
        mount.readOnly = !parseGoBool(key, value);
        break;
      case 'required':
        if (mount.type !== 'secret' && mount.type !== 'ssh') {
          throw new MountSyntaxError(`"required" is not an option of ${mount.type} mounts (put type= first)`);
        }
        mount.required = parseGoBool(key, value);
        break;
      case 'size':
        if (mount.type !== 'tmpfs') throw new MountSyntaxError(`"size" is an option of tmpfs mounts only (put type=tmpfs first)`);
        mount.size = parseMemBytes(value);
        break;
      case 'id':
        mount.id = value;
        break;
      case 'sharing': {
        if (mount.type !== 'cache') throw new MountSyntaxError(`"sharing" is an option of cache mounts only (put type=cache first)`);
        const sharing = value.toLowerCase();
        if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') {
          throw new MountSyntaxError(`unsupported sharing value "${value}" (use shared, private or locked)`);
        }
        mount.sharing = sharing;
        break;
      }
      case 'mode':
        mount.mode = parseUint(key, value, 8);
        break;
      case 'uid':
        mount.uid = parseUint(key, value, 10);
        break;
      case 'gid':
        mount.gid = parseUint(key, value, 10);
        break;
      case 'env':
        mount.env = value;
        break;
      default:
        throw new MountSyntaxError(`unknown mount option "${key}" in "${field}"`);
    }
  }
  const ownerAllowed = mount.type === 'secret' || mount.type === 'ssh' || mount.type === 'cache';
  if (!ownerAllowed) {
    for (const option of ['mode', 'uid', 'gid'] as const) {
      if (mount[option] !== undefined) throw new MountSyntaxError(`${option} is not allowed for ${mount.type} mounts`);
    }
  }
  if (mount.env !== undefined && mount.type !== 'secret') throw new MountSyntaxError(`env is an option of secret mounts only`);
  if (mount.type === 'secret') {
    if (mount.from !== undefined) throw new MountSyntaxError('secret mounts cannot use from=');
    if (mount.id === undefined && mount.target === undefined) {
      throw new MountSyntaxError('a secret mount needs id= or target=');
    }
    if (mount.id === undefined) mount.id = basename(mount.target!);
    if (mount.target === undefined && mount.env === undefined) mount.target = `/run/secrets/${mount.id}`;
  }
  if (mount.type === 'ssh') {
    if (mount.from !== undefined) throw new MountSyntaxError('ssh mounts cannot use from=');
    mount.id ??= 'default';
  }
  if ((mount.type === 'bind' || mount.type === 'cache' || mount.type === 'tmpfs') && !mount.target) {
    throw new MountSyntaxError(`a ${mount.type} mount needs target= (where it appears in the container)`);
  }
  if (mount.type === 'cache') mount.sharing ??= 'shared';
  const readOnly = mount.readOnly ?? !(mount.type === 'cache' || mount.type === 'tmpfs');
  return { ...mount, readOnly };
}

const VALUE_KEYS = new Set([
  'type', 'from', 'source', 'src', 'target', 'dst', 'destination', 'readonly', 'ro', 'readwrite', 'rw',
  'required', 'size', 'id', 'sharing', 'mode', 'uid', 'gid', 'env',
]);

/**
 * Checks a `--mount` spec before its values can be expanded: a spec without `$` is parsed completely; one with
 * variables is checked for its shape (CSV, known keys, `from` without variables) and fully parsed later.
 * @throws MountSyntaxError as {@link parseMount}.
 */
export function checkMountSpec(spec: string): void {
  if (!spec.includes('$')) {
    parseMount(spec);
    return;
  }
  for (const field of splitCsvRecord(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (!['readonly', 'ro', 'readwrite', 'rw', 'required'].includes(key)) {
        throw new MountSyntaxError(`invalid field "${field}": it must be a key=value pair`);
      }
      continue;
    }
    if (!VALUE_KEYS.has(key)) throw new MountSyntaxError(`unknown mount option "${key}" in "${field}"`);
    if (key === 'from' && field.includes('$', eq)) {
      throw new MountSyntaxError(`"from" does not support variables ("${field.slice(eq + 1)}"); name the stage with FROM … AS instead`);
    }
  }
}
