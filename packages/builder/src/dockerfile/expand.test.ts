import { describe, expect, it } from 'vitest';
import { DockerfileError } from './errors.js';
import { expandInstruction, expandRunMounts } from './expand.js';
import type { Instruction, RunInstruction } from './instructions.js';
import { parseDockerfile } from './parse.js';
import { resolveRunCommand } from './run-command.js';

const env = {
  IMG: 'alpine',
  P: 'linux/arm64',
  S: 'build',
  U: 'app',
  M: '0640',
  SRC: 'src dir',
  DEST: '/opt/app',
  V: 'value',
  K: 'key',
  PORTS: '80/tcp  443',
  C: 'sha256:abc',
  SIG: 'SIGINT',
  E: '',
};

function instructions(text: string, filename?: string): Instruction[] {
  return [...parseDockerfile(text, filename === undefined ? {} : { filename }).instructions];
}

function expandAll(text: string): Instruction[] {
  return instructions(text).map((instruction) => expandInstruction(instruction, env).instruction);
}

describe('expandInstruction: words that expand', () => {
  it('FROM image and --platform', () => {
    expect(expandAll('FROM --platform=$P ${IMG}:3 AS base')[0]).toMatchObject({ image: 'alpine:3', platform: 'linux/arm64', alias: 'base' });
  });

  it('COPY and ADD sources, destination and flags; quotes removed', () => {
    const [, copy, add] = expandAll(
      'FROM a\nCOPY --from=$S --chown=$U:$U --chmod=$M --exclude=*.$V "$SRC" ${DEST}/\nADD --checksum=$C --chown=$U https://x/$V.tgz $DEST\n',
    );
    expect(copy).toMatchObject({ from: 'build', chown: 'app:app', chmod: '0640', excludes: ['*.value'], sources: ['src dir'], dest: '/opt/app/' });
    expect(add).toMatchObject({ checksum: 'sha256:abc', chown: 'app', sources: ['https://x/value.tgz'], dest: '/opt/app' });
  });

  it('ENV and LABEL keys and values, with quote removal', () => {
    const [, envInstruction, label] = expandAll('FROM a\nENV $K=$V B="${V} x" C=\'$V\' D=a\\ b\nLABEL "$K.name"="$V" other=${E:-none}\n');
    expect(envInstruction).toMatchObject({
      pairs: [
        { key: 'key', value: 'value' },
        { key: 'B', value: 'value x' },
        { key: 'C', value: '$V' },
        { key: 'D', value: 'a b' },
      ],
    });
    expect(label).toMatchObject({
      pairs: [
        { key: 'key.name', value: 'value' },
        { key: 'other', value: 'none' },
      ],
    });
  });

  it('ARG defaults but not names', () => {
    expect(expandAll('FROM a\nARG $K=${V}-1 PLAIN\n')[1]).toMatchObject({ args: [{ name: '$K', default: 'value-1' }, { name: 'PLAIN' }] });
  });

  it('EXPOSE (a variable may hold several ports), USER, WORKDIR, VOLUME, STOPSIGNAL', () => {
    expect(expandAll('FROM a\nEXPOSE $PORTS 8080\nUSER $U:$U\nWORKDIR $DEST/$V\nVOLUME ["$DEST/data"] \nSTOPSIGNAL $SIG\n').slice(1)).toMatchObject([
      { keyword: 'EXPOSE', ports: ['80/tcp', '443', '8080'] },
      { keyword: 'USER', user: 'app:app' },
      { keyword: 'WORKDIR', path: '/opt/app/value' },
      { keyword: 'VOLUME', volumes: ['/opt/app/data'] },
      { keyword: 'STOPSIGNAL', signal: 'SIGINT' },
    ]);
  });
});

describe('expandInstruction: words that do not expand', () => {
  it.each([
    'RUN echo $V',
    'RUN ["echo", "$V"]',
    'CMD echo $V',
    'ENTRYPOINT ["$V"]',
    'SHELL ["/bin/$V", "-c"]',
    'HEALTHCHECK CMD check $V',
    'MAINTAINER $V',
    'ONBUILD COPY $SRC $DEST',
  ])('%s is returned as written', (line) => {
    const instruction = instructions(`FROM a\n${line}\n`)[1]!;
    const result = expandInstruction(instruction, env);
    expect(result.instruction).toBe(instruction);
    expect(result.used.size).toBe(0);
  });
});

describe('expandInstruction: bookkeeping and errors', () => {
  it('reports used and unset variables', () => {
    const result = expandInstruction(instructions('FROM a\nWORKDIR /$V/${MISSING}/${E}\n')[1]!, env);
    expect(result.instruction).toMatchObject({ path: '/value//' });
    expect([...result.used].sort()).toEqual(['E', 'V']);
    expect([...result.unset]).toEqual(['MISSING']);
  });

  it('fails with the instruction location for ${X:?message}', () => {
    const workdir = instructions('FROM a\n\nWORKDIR ${APP_DIR:?set APP_DIR with --build-arg}\n', 'ci/Dockerfile')[1]!;
    expect(() => expandInstruction(workdir, env)).toThrow(DockerfileError);
    expect(() => expandInstruction(workdir, env)).toThrow(/^ci\/Dockerfile:3: failed to expand .*APP_DIR: set APP_DIR with --build-arg/);
    expect(expandInstruction(workdir, { APP_DIR: '/srv' }).instruction).toMatchObject({ path: '/srv' });
  });

  it('uses the escape character of the Dockerfile', () => {
    const dockerfile = parseDockerfile('# escape=`\nFROM a\nWORKDIR C:\\$V\\`$V\n');
    const workdir = dockerfile.instructions[1]!;
    expect(expandInstruction(workdir, env, dockerfile).instruction).toMatchObject({ path: 'C:\\value\\$V' });
  });
});

describe('COPY/ADD heredoc bodies', () => {
  it('expands unquoted bodies with quotes left in place, and leaves quoted ones alone', () => {
    const copy = instructions(`FROM a\nCOPY <<plain <<'quoted' /dst/\necho "$V" '$V' \\$V\nplain\necho "$V"\nquoted\n`)[1]!;
    expect(expandInstruction(copy, env).instruction).toMatchObject({
      heredocs: [
        { name: 'plain', content: `echo "value" 'value' $V\n` },
        { name: 'quoted', content: 'echo "$V"\n' },
      ],
    });
  });

  it('never expands RUN heredocs (the shell does)', () => {
    const run = instructions('FROM a\nRUN <<EOF\necho $V\nEOF\n')[1]!;
    expect(expandInstruction(run, env).instruction).toBe(run);
  });
});

describe('expandRunMounts', () => {
  const runOf = (line: string): RunInstruction => instructions(`FROM a\n${line}\n`)[1] as RunInstruction;

  it('expands mount values but not from=', () => {
    const run = runOf('RUN --mount=type=cache,target=$DEST/cache,id=$V,uid=1000,mode=0700 --mount=from=build,source=/out,target=/in true');
    expect(expandRunMounts(run, env)).toEqual([
      { type: 'cache', target: '/opt/app/cache', id: 'value', uid: 1000, mode: 0o700, sharing: 'shared', readOnly: false, required: false },
      { type: 'bind', from: 'build', source: '/out', target: '/in', readOnly: true, required: false },
    ]);
  });

  it('reports a mount that is invalid once expanded, at the RUN line', () => {
    const run = runOf('RUN --mount=type=$T,target=/x true');
    expect(() => expandRunMounts(run, { T: 'volume' })).toThrow(/^Dockerfile:2: --mount: unsupported mount type "volume"/);
    expect(expandRunMounts(run, { T: 'tmpfs' })).toMatchObject([{ type: 'tmpfs', target: '/x', readOnly: false }]);
  });
});

describe('resolveRunCommand', () => {
  const runOf = (body: string): RunInstruction => instructions(`FROM a\n${body}\n`)[1] as RunInstruction;

  it('shell and exec forms as they are', () => {
    expect(resolveRunCommand(runOf('RUN echo hi'))).toEqual({ kind: 'shell', command: 'echo hi' });
    expect(resolveRunCommand(runOf('RUN ["echo", "hi"]'))).toEqual({ kind: 'exec', argv: ['echo', 'hi'] });
  });

  it('a lone heredoc runs its body; a #! body runs as a script file', () => {
    expect(resolveRunCommand(runOf('RUN <<EOF\nset -e\necho hi\nEOF'))).toEqual({ kind: 'shell', command: 'set -e\necho hi\n' });
    expect(resolveRunCommand(runOf('RUN <<-EOF\n\t#!/usr/bin/env python3\n\tprint(1)\n\tEOF'))).toMatchObject({
      kind: 'script',
      heredoc: { name: 'EOF', content: '#!/usr/bin/env python3\nprint(1)\n' },
    });
  });

  it('other heredoc uses hand the bodies to the shell after the command line', () => {
    expect(resolveRunCommand(runOf('RUN cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB'))).toEqual({
      kind: 'shell',
      command: 'cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB',
    });
  });
});
