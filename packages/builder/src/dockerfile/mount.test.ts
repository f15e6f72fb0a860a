import { describe, expect, it } from 'vitest';
import { checkMountSpec, MountSyntaxError, parseMount, splitCsvRecord } from './mount.js';

describe('parseMount', () => {
  it('defaults to a read-only bind mount', () => {
    expect(parseMount('target=/src,source=app')).toEqual({ type: 'bind', target: '/src', source: 'app', readOnly: true, required: false });
    expect(parseMount('type=bind,dst=/src,rw')).toMatchObject({ readOnly: false });
    expect(parseMount('type=bind,destination=/src,readwrite=true')).toMatchObject({ readOnly: false });
    expect(parseMount('type=bind,target=/src,ro=false')).toMatchObject({ readOnly: false });
  });

  it('cache mounts are writable and shared by default, with owner and mode', () => {
    expect(parseMount('type=cache,target=/root/.cache,id=pip,sharing=locked,uid=1000,gid=1000,mode=0755')).toEqual({
      type: 'cache',
      target: '/root/.cache',
      id: 'pip',
      sharing: 'locked',
      uid: 1000,
      gid: 1000,
      mode: 0o755,
      readOnly: false,
      required: false,
    });
    expect(parseMount('type=cache,target=/c')).toMatchObject({ sharing: 'shared', readOnly: false });
  });

  it('tmpfs mounts take a size', () => {
    expect(parseMount('type=tmpfs,target=/tmp,size=64m')).toMatchObject({ type: 'tmpfs', size: 64 * 1024 * 1024, readOnly: false });
    expect(parseMount('type=tmpfs,target=/tmp,size=1GiB')).toMatchObject({ size: 1024 ** 3 });
  });

  it('secret mounts get their id from the target and a default target from the id', () => {
    expect(parseMount('type=secret,id=npmrc')).toEqual({ type: 'secret', id: 'npmrc', target: '/run/secrets/npmrc', readOnly: true, required: false });
    expect(parseMount('type=secret,target=/root/.npmrc,required')).toMatchObject({ id: '.npmrc', target: '/root/.npmrc', required: true });
    expect(parseMount('type=secret,id=token,env=TOKEN')).toEqual({ type: 'secret', id: 'token', env: 'TOKEN', readOnly: true, required: false });
  });

  it('ssh mounts default their id', () => {
    expect(parseMount('type=ssh')).toEqual({ type: 'ssh', id: 'default', readOnly: true, required: false });
    expect(parseMount('type=ssh,id=github,required=true')).toMatchObject({ id: 'github', required: true });
  });

  it('expands values with the given function, except from=', () => {
    const seen: string[] = [];
    const mount = parseMount('type=bind,from=build,source=$S,target=$T', (value) => {
      seen.push(value);
      return value.replace('$S', '/out').replace('$T', '/in');
    });
    expect(mount).toMatchObject({ from: 'build', source: '/out', target: '/in' });
    expect(seen).toEqual(['bind', '$S', '$T']);
  });

  it.each([
    ['', /empty --mount value/],
    ['type=volume,target=/x', /unsupported mount type "volume"/],
    ['target', /invalid field "target": it must be a key=value pair/],
    ['target=/x,color=blue', /unknown mount option "color"/],
    ['required,type=secret,id=x', /"required" is not an option of bind mounts \(put type= first\)/],
    ['type=bind,target=/x,mode=0755', /mode is not allowed for bind mounts/],
    ['type=cache,target=/x,mode=999', /invalid value for mode: "999"/],
    ['type=cache,target=/x,uid=-1', /invalid value for uid/],
    ['type=cache,target=/x,sharing=global', /unsupported sharing value "global"/],
    ['type=bind,target=/x,sharing=locked', /"sharing" is an option of cache mounts only/],
    ['type=cache,target=/x,size=1m', /"size" is an option of tmpfs mounts only/],
    ['type=tmpfs,target=/x,size=lots', /invalid value for size/],
    ['type=bind,target=/x,ro=maybe', /invalid value for ro: "maybe"/],
    ['type=secret', /a secret mount needs id= or target=/],
    ['type=secret,id=x,from=build', /secret mounts cannot use from=/],
    ['type=bind,source=/x', /a bind mount needs target=/],
    ['type=cache,target=/x,env=A', /env is an option of secret mounts only/],
  ])('rejects %j', (spec, message) => {
    expect(() => parseMount(spec)).toThrow(MountSyntaxError);
    expect(() => parseMount(spec)).toThrow(message);
  });
});

describe('checkMountSpec', () => {
  it('checks the shape of specs with variables and fully parses the others', () => {
    expect(() => checkMountSpec('type=$TYPE,target=$DIR,mode=$MODE')).not.toThrow();
    expect(() => checkMountSpec('type=$TYPE,colour=$C')).toThrow(/unknown mount option "colour"/);
    expect(() => checkMountSpec('from=$STAGE,target=/x')).toThrow(/"from" does not support variables/);
    expect(() => checkMountSpec('type=cache')).toThrow(/a cache mount needs target=/);
  });
});

describe('splitCsvRecord', () => {
  it('splits fields and honours CSV quoting', () => {
    expect(splitCsvRecord('a=1,b=2,,c')).toEqual(['a=1', 'b=2', '', 'c']);
    expect(splitCsvRecord('"target=/a,b","x=""y"""')).toEqual(['target=/a,b', 'x="y"']);
  });

  it('rejects bad quoting', () => {
    expect(() => splitCsvRecord('a="b"')).toThrow(/bare "/);
    expect(() => splitCsvRecord('"a"b')).toThrow(/extraneous "/);
    expect(() => splitCsvRecord('"open')).toThrow(/unterminated quoted field/);
  });
});
