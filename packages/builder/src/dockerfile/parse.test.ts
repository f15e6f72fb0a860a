import { describe, expect, it } from 'vitest';
import { DockerfileError } from './errors.js';
import type { Instruction } from './instructions.js';
import { parseDockerfile, parseInstruction } from './parse.js';

/** Parses `FROM base` + the given lines and returns the instructions after FROM. */
function stageOf(body: string): Instruction[] {
  return [...parseDockerfile(`FROM base\n${body}`).stages[0]!.instructions];
}

function only(body: string): Instruction {
  const instructions = stageOf(body);
  expect(instructions).toHaveLength(1);
  return instructions[0]!;
}

function errorOf(text: string, filename = 'Dockerfile'): DockerfileError {
  try {
    parseDockerfile(text, { filename });
  } catch (err) {
    expect(err).toBeInstanceOf(DockerfileError);
    return err as DockerfileError;
  }
  throw new Error('expected a DockerfileError');
}

describe('typed instructions', () => {
  it('FROM with platform and alias (lower-cased)', () => {
    const dockerfile = parseDockerfile('from --platform=$BUILDPLATFORM golang:1.22 as Build\nFROM scratch\n');
    expect(dockerfile.stages.map((stage) => stage.from)).toMatchObject([
      { keyword: 'FROM', image: 'golang:1.22', platform: '$BUILDPLATFORM', alias: 'build', startLine: 1, endLine: 1 },
      { keyword: 'FROM', image: 'scratch' },
    ]);
    expect(dockerfile.stages[1]!.from).not.toHaveProperty('alias');
    expect(dockerfile.stages.map((stage) => [stage.index, stage.name])).toEqual([
      [0, 'build'],
      [1, undefined],
    ]);
  });

  it('RUN shell form keeps the command unexpanded, with flags', () => {
    expect(only('RUN --mount=type=cache,target=/root/.cache --network=none --security=sandbox echo "$HOME" && ls')).toEqual({
      keyword: 'RUN',
      original: 'RUN --mount=type=cache,target=/root/.cache --network=none --security=sandbox echo "$HOME" && ls',
      file: 'Dockerfile',
      startLine: 2,
      endLine: 2,
      form: 'shell',
      command: 'echo "$HOME" && ls',
      heredocs: [],
      mounts: ['type=cache,target=/root/.cache'],
      network: 'none',
      security: 'sandbox',
    });
  });

  it('RUN exec form decodes the JSON, spaces and escapes included', () => {
    expect(only('RUN ["sh", "-c", "echo  exec\\tform \\u0041"]')).toMatchObject({
      form: 'exec',
      command: ['sh', '-c', 'echo  exec\tform A'],
    });
  });

  it('CMD and ENTRYPOINT in both forms, including CMD []', () => {
    expect(stageOf('CMD ["a", "b c"]\nCMD echo hi\nCMD []\nENTRYPOINT ["/bin/app"]\nENTRYPOINT exec app')).toMatchObject([
      { keyword: 'CMD', form: 'exec', command: ['a', 'b c'] },
      { keyword: 'CMD', form: 'shell', command: 'echo hi' },
      { keyword: 'CMD', form: 'exec', command: [] },
      { keyword: 'ENTRYPOINT', form: 'exec', command: ['/bin/app'] },
      { keyword: 'ENTRYPOINT', form: 'shell', command: 'exec app' },
    ]);
  });

  it('invalid JSON falls back to the shell form', () => {
    expect(only("CMD ['single', 'quotes']")).toMatchObject({ form: 'shell', command: "['single', 'quotes']" });
    expect(only('RUN ["unterminated"')).toMatchObject({ form: 'shell', command: '["unterminated"' });
  });

  it('COPY with every flag', () => {
    expect(only('COPY --from=build --chown=1000:1000 --chmod=0644 --link --parents --exclude=*.md --exclude=.git a b /dst/')).toEqual({
      keyword: 'COPY',
      original: 'COPY --from=build --chown=1000:1000 --chmod=0644 --link --parents --exclude=*.md --exclude=.git a b /dst/',
      file: 'Dockerfile',
      startLine: 2,
      endLine: 2,
      sources: ['a', 'b'],
      heredocs: [],
      dest: '/dst/',
      json: false,
      from: 'build',
      chown: '1000:1000',
      chmod: '0644',
      link: true,
      parents: true,
      excludes: ['*.md', '.git'],
    });
  });

  it('COPY in JSON form keeps spaces in paths; bool flags take =false', () => {
    expect(only('COPY --link=false ["my file", "/dst dir/"]')).toMatchObject({
      sources: ['my file'],
      dest: '/dst dir/',
      json: true,
      link: false,
    });
  });

  it('ADD with its flags', () => {
    expect(only('ADD --checksum=sha256:abc --keep-git-dir --unpack=false --chmod=755 https://example.com/a.tgz /opt/')).toMatchObject({
      keyword: 'ADD',
      sources: ['https://example.com/a.tgz'],
      dest: '/opt/',
      checksum: 'sha256:abc',
      keepGitDir: true,
      unpack: false,
      chmod: '755',
      link: false,
    });
    expect(only('ADD a /b')).not.toHaveProperty('unpack');
  });

  it('ENV in both forms, quotes kept for expansion', () => {
    expect(stageOf('ENV A=1 B="two words" C=\'$lit\'\nENV LEGACY value with  spaces\nENV EMPTY=')).toMatchObject([
      { keyword: 'ENV', pairs: [{ key: 'A', value: '1' }, { key: 'B', value: '"two words"' }, { key: 'C', value: "'$lit'" }] },
      { keyword: 'ENV', pairs: [{ key: 'LEGACY', value: 'value with  spaces' }] },
      { keyword: 'ENV', pairs: [{ key: 'EMPTY', value: '' }] },
    ]);
  });

  it('LABEL pairs', () => {
    expect(only('LABEL "com.example.name"="A B" version=1.0')).toMatchObject({
      keyword: 'LABEL',
      pairs: [
        { key: '"com.example.name"', value: '"A B"' },
        { key: 'version', value: '1.0' },
      ],
    });
  });

  it('ARG with and without defaults', () => {
    expect(only('ARG A B=2 C="x y"')).toMatchObject({
      keyword: 'ARG',
      args: [{ name: 'A' }, { name: 'B', default: '2' }, { name: 'C', default: '"x y"' }],
    });
  });

  it('EXPOSE, VOLUME (both forms), USER, WORKDIR, STOPSIGNAL, MAINTAINER, SHELL', () => {
    expect(
      stageOf(
        'EXPOSE 80/tcp 53/udp\nVOLUME /a /b\nVOLUME ["/c d"]\nUSER app:staff\nWORKDIR /srv/my app\nSTOPSIGNAL SIGTERM\nMAINTAINER Jane <j@x>\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]',
      ),
    ).toMatchObject([
      { keyword: 'EXPOSE', ports: ['80/tcp', '53/udp'] },
      { keyword: 'VOLUME', volumes: ['/a', '/b'] },
      { keyword: 'VOLUME', volumes: ['/c d'] },
      { keyword: 'USER', user: 'app:staff' },
      { keyword: 'WORKDIR', path: '/srv/my app' },
      { keyword: 'STOPSIGNAL', signal: 'SIGTERM' },
      { keyword: 'MAINTAINER', maintainer: 'Jane <j@x>' },
      { keyword: 'SHELL', shell: ['/bin/bash', '-o', 'pipefail', '-c'] },
    ]);
  });

  it('HEALTHCHECK CMD with every option, exec and shell forms, and NONE', () => {
    const [shell, exec, none] = stageOf(
      'HEALTHCHECK --interval=30s --timeout=1m30s --start-period=500ms --start-interval=2s --retries=5 CMD curl -f http://localhost/ || exit 1\nHEALTHCHECK CMD ["/bin/check", "--quiet"]\nHEALTHCHECK NONE',
    );
    expect(shell).toMatchObject({
      keyword: 'HEALTHCHECK',
      health: {
        kind: 'cmd',
        test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
        command: { form: 'shell', command: 'curl -f http://localhost/ || exit 1' },
        interval: 30e9,
        timeout: 90e9,
        startPeriod: 500e6,
        startInterval: 2e9,
        retries: 5,
      },
    });
    expect(exec).toMatchObject({ health: { kind: 'cmd', test: ['CMD', '/bin/check', '--quiet'] } });
    expect((exec as { health: object }).health).not.toHaveProperty('interval');
    expect(none).toMatchObject({ health: { kind: 'none', test: ['NONE'] } });
  });

  it('ONBUILD keeps the trigger expression and parses the trigger', () => {
    expect(only('ONBUILD COPY --chown=app . /src')).toMatchObject({
      keyword: 'ONBUILD',
      expression: 'COPY --chown=app . /src',
      trigger: { keyword: 'COPY', sources: ['.'], dest: '/src', chown: 'app', startLine: 2 },
    });
  });

  it('keeps the original text and lines of multi-line instructions', () => {
    const [run] = stageOf('RUN apt-get update \\\n  # a comment inside\n\n  && apt-get install -y git');
    expect(run).toMatchObject({
      original: 'RUN apt-get update   && apt-get install -y git',
      command: 'apt-get update   && apt-get install -y git',
      startLine: 2,
      endLine: 5,
    });
  });

  it('collects meta ARGs before the first FROM and the syntax directive', () => {
    const dockerfile = parseDockerfile('# syntax=docker/dockerfile:1\nARG BASE=alpine\nARG TAG\nFROM ${BASE}:${TAG}\n');
    expect(dockerfile.syntax).toBe('docker/dockerfile:1');
    expect(dockerfile.metaArgs.map((arg) => arg.args)).toEqual([[{ name: 'BASE', default: 'alpine' }], [{ name: 'TAG' }]]);
    expect(dockerfile.instructions.map((instruction) => instruction.keyword)).toEqual(['ARG', 'ARG', 'FROM']);
  });
});

describe('lexical rules', () => {
  it('accepts lower-case and mixed-case keywords', () => {
    expect(parseDockerfile('from a\nRuN echo\ncopy x y\n').instructions.map((i) => i.keyword)).toEqual(['FROM', 'RUN', 'COPY']);
  });

  it('accepts CRLF line ends and a byte-order mark', () => {
    const dockerfile = parseDockerfile('\uFEFFFROM a\r\nRUN echo one \\\r\n  two\r\nENV A=b\r\n');
    expect(dockerfile.instructions).toMatchObject([
      { keyword: 'FROM', image: 'a', startLine: 1 },
      { keyword: 'RUN', command: 'echo one   two', startLine: 2, endLine: 3 },
      { keyword: 'ENV', pairs: [{ key: 'A', value: 'b' }], startLine: 4 },
    ]);
  });

  it('uses the escape directive for continuations and words', () => {
    const dockerfile = parseDockerfile('# escape=`\nFROM windows\nRUN dir C:\\ `\n  /b\nENV P="C:\\Program Files" Q=a`"b\n');
    expect(dockerfile.escapeToken).toBe('`');
    expect(dockerfile.instructions).toMatchObject([
      { keyword: 'FROM' },
      { keyword: 'RUN', command: 'dir C:\\   /b', startLine: 3, endLine: 4 },
      { keyword: 'ENV', pairs: [{ key: 'P', value: '"C:\\Program Files"' }, { key: 'Q', value: 'a`"b' }] },
    ]);
  });

  it('ignores an escape directive after a comment, and rejects a bad or repeated one', () => {
    expect(parseDockerfile('# hello\n# escape=`\nFROM a\nRUN x `\n').escapeToken).toBe('\\');
    expect(errorOf('# escape=x\nFROM a\n').message).toMatch(/^Dockerfile:1: invalid escape character "x"/);
    expect(errorOf('# escape=`\n# escape=\\\nFROM a\n').message).toMatch(/^Dockerfile:2: only one escape parser directive/);
  });
});

describe('heredocs', () => {
  it('reads several heredocs of one RUN, in order', () => {
    const [run, next] = stageOf('RUN <<A cat - && cat <<B\nfirst $X\nA\nsecond\nB\nRUN next');
    expect(next).toMatchObject({ keyword: 'RUN', command: 'next', startLine: 7 });
    expect(run).toMatchObject({
      command: '<<A cat - && cat <<B',
      heredocs: [
        { name: 'A', content: 'first $X\n', expand: true, chomp: false },
        { name: 'B', content: 'second\n', expand: true, chomp: false },
      ],
      startLine: 2,
      endLine: 6,
    });
  });

  it('marks quoted delimiters as not expanding', () => {
    const runs = stageOf("RUN <<'EOF'\n$A\nEOF\nRUN <<\"EOF\"\n$A\nEOF\nRUN <<E\"O\"F\n$A\nEOF\nRUN <<EOF\n$A\nEOF");
    expect(runs).toMatchObject([
      { heredocs: [{ name: 'EOF', content: '$A\n', expand: false }] },
      { heredocs: [{ name: 'EOF', content: '$A\n', expand: false }] },
      { heredocs: [{ name: 'EOF', content: '$A\n', expand: false }] },
      { heredocs: [{ name: 'EOF', content: '$A\n', expand: true }] },
    ]);
  });

  it('strips leading tabs with <<- and accepts a tab-indented delimiter', () => {
    const run = only('RUN <<-EOT\n\t\techo a\n\t  echo b\n\tEOT');
    expect(run).toMatchObject({ heredocs: [{ name: 'EOT', content: 'echo a\n  echo b\n', chomp: true }], endLine: 5 });
  });

  it('does not end a plain heredoc on an indented delimiter', () => {
    expect(errorOf('FROM a\nRUN <<EOF\n\tEOF\n').message).toMatch(/^Dockerfile:2: unterminated heredoc/);
  });

  it('keeps lines that look like instructions or comments inside the body', () => {
    expect(only('RUN <<EOF\n# not a comment\nFROM not-an-instruction\nEOF')).toMatchObject({
      heredocs: [{ content: '# not a comment\nFROM not-an-instruction\n' }],
    });
  });

  it('makes COPY heredocs inline files named after the delimiter', () => {
    expect(only('COPY <<one.txt <<"two.txt" /dst/\n1 $V\none.txt\n2 $V\ntwo.txt')).toMatchObject({
      sources: [],
      dest: '/dst/',
      heredocs: [
        { name: 'one.txt', content: '1 $V\n', expand: true },
        { name: 'two.txt', content: '2 $V\n', expand: false },
      ],
    });
  });

  it('ignores quoted or escaped << and exec-form RUN', () => {
    expect(only('RUN echo "<<EOF" \\<<NO')).toMatchObject({ heredocs: [], command: 'echo "<<EOF" \\<<NO' });
    expect(only('RUN ["cat", "<<EOF"]')).toMatchObject({ form: 'exec', heredocs: [] });
  });

  it('turns CRLF inside bodies into LF', () => {
    expect(only('RUN <<EOF\r\nline\r\nEOF\r\n')).toMatchObject({ heredocs: [{ content: 'line\n' }] });
  });

  it('attaches heredocs to an ONBUILD trigger and to its expression', () => {
    expect(only('ONBUILD RUN <<EOF\necho hi\nEOF')).toMatchObject({
      expression: 'RUN <<EOF\necho hi\nEOF',
      trigger: { keyword: 'RUN', heredocs: [{ name: 'EOF', content: 'echo hi\n' }] },
    });
  });
});

describe('parseInstruction', () => {
  it('parses a replayed ONBUILD trigger, heredoc included', () => {
    const onbuild = only('ONBUILD RUN <<EOF\necho hi\nEOF');
    if (onbuild.keyword !== 'ONBUILD') throw new Error('expected ONBUILD');
    expect(parseInstruction(onbuild.expression, { filename: 'base image ONBUILD' })).toMatchObject({
      keyword: 'RUN',
      file: 'base image ONBUILD',
      startLine: 1,
      endLine: 3,
      heredocs: [{ name: 'EOF', content: 'echo hi\n' }],
    });
    expect(parseInstruction('COPY . /app')).toMatchObject({ keyword: 'COPY', sources: ['.'], dest: '/app' });
  });

  it('rejects more than one instruction or an invalid one', () => {
    expect(() => parseInstruction('RUN a\nRUN b')).toThrow(/^Dockerfile:2: expected one instruction, found 2/);
    expect(() => parseInstruction('NOPE x', { filename: 'trigger' })).toThrow(/^trigger:1: unknown instruction "NOPE"/);
  });
});

describe('errors carry file:line and the offending text', () => {
  const cases: [string, string, RegExp][] = [
    ['unknown instruction', 'FROM a\nRUNN echo\n', /^Dockerfile:2: unknown instruction "RUNN" \(did you mean RUN\?\) \(in `RUNN echo`\)$/],
    ['instruction before FROM', 'ARG X\nRUN echo\nFROM a\n', /^Dockerfile:2: RUN before the first FROM.*\(in `RUN echo`\)$/],
    ['no FROM at all', 'ARG X=1\n', /^Dockerfile:1: the Dockerfile has no FROM instruction/],
    ['empty Dockerfile', '', /^Dockerfile:1: the Dockerfile is empty/],
    ['only comments', '# a\n\n# b\n', /^Dockerfile:3: the Dockerfile has no instructions/],
    ['unknown flag', 'FROM a\nCOPY --form=build a b\n', /^Dockerfile:2: unknown flag --form for COPY; COPY takes --chmod, --chown, --exclude, --from, --link, --parents \(in `COPY --form=build a b`\)$/],
    ['flag of another instruction', 'FROM a\nRUN --from=x echo\n', /^Dockerfile:2: unknown flag --from for RUN \(--from is a flag of COPY\)/],
    ['flag on an instruction without flags', 'FROM a\nENV --x=1 A=b\n', /^Dockerfile:2: unknown flag --x for ENV; ENV takes no flags/],
    ['flag without its value', 'FROM a\nCOPY --from a b\n', /^Dockerfile:2: missing a value on flag --from/],
    ['repeated flag', 'FROM a\nCOPY --chown=a --chown=b x y\n', /^Dockerfile:2: flag --chown is given more than once/],
    ['non-boolean bool flag', 'FROM a\nCOPY --link=yes x y\n', /^Dockerfile:2: flag --link expects true or false, not "yes"/],
    ['nested JSON', 'FROM a\nCMD [ "echo", [ "nested json" ] ]\n', /^Dockerfile:2: the JSON array must contain only strings/],
    ['non-string JSON', 'FROM a\nRUN ["echo", 1]\n', /^Dockerfile:2: the JSON array must contain only strings/],
    ['ENV without value', 'FROM a\n\nENV PATH\n', /^Dockerfile:3: ENV needs a value.*\(in `ENV PATH`\)$/],
    ['ENV item without =', 'FROM a\nENV A=1 B\n', /^Dockerfile:2: ENV: cannot find "=" in "B"/],
    ['ENV without anything', 'FROM a\nENV\n', /^Dockerfile:2: ENV requires at least one name=value pair/],
    ['duplicate stage name', 'FROM a AS x\nRUN true\nFROM b as X\n', /^Dockerfile:3: duplicate stage name "x" \(already used on line 1\)/],
    ['invalid stage name', 'FROM a AS 1st\n', /^Dockerfile:1: invalid stage name "1st"/],
    ['FROM with two words', 'FROM a b\n', /^Dockerfile:1: FROM requires either one or three arguments/],
    ['variable syntax error', 'FROM a\nWORKDIR /app/${}\n', /^Dockerfile:2: failed to expand "\/app\/\$\{\}": syntax error: bad substitution/],
    ['bad modifier', 'FROM a\nENV A=${B:=c}\n', /^Dockerfile:2: failed to expand "\$\{B:=c\}": unsupported modifier \(:=\)/],
    ['missing brace', 'FROM ${BASE\n', /^Dockerfile:1: failed to expand "\$\{BASE": syntax error: missing '}'/],
    ['unterminated quote in a word', 'FROM a\nUSER "app\n', /^Dockerfile:2: failed to expand "\\"app"/],
    ['unterminated heredoc', 'FROM a\nCOPY <<EOF /x\nbody\n', /^Dockerfile:2: unterminated heredoc: no line "EOF" ends/],
    // As in BuildKit, a line that cannot be split into words has no heredocs: the body is read as instructions.
    ['unterminated quote in a heredoc delimiter', "FROM a\nRUN <<'EOF\nx\n", /^Dockerfile:3: unknown instruction "x"/],
    ['heredoc destination', 'FROM a\nCOPY x <<EOF\nbody\nEOF\n', /^Dockerfile:2: COPY cannot use a heredoc as its destination/],
    ['COPY with one argument', 'FROM a\nCOPY onlyone\n', /^Dockerfile:2: COPY requires at least two arguments/],
    ['RUN without a command', 'FROM a\nRUN\n', /^Dockerfile:2: RUN requires a command/],
    ['RUN []', 'FROM a\nRUN []\n', /^Dockerfile:2: RUN \[\] has no command to run/],
    ['CMD without a command', 'FROM a\nCMD\n', /^Dockerfile:2: CMD requires a command/],
    ['SHELL in shell form', 'FROM a\nSHELL /bin/bash -c\n', /^Dockerfile:2: SHELL requires the JSON form/],
    ['WORKDIR without a path', 'FROM a\nWORKDIR\n', /^Dockerfile:2: WORKDIR requires exactly one argument/],
    ['EXPOSE without ports', 'FROM a\nEXPOSE\n', /^Dockerfile:2: EXPOSE requires at least one port/],
    ['VOLUME with an empty path', 'FROM a\nVOLUME [""]\n', /^Dockerfile:2: VOLUME paths can not be empty/],
    ['ARG without a name', 'FROM a\nARG =x\n', /^Dockerfile:2: ARG names can not be blank/],
    ['HEALTHCHECK type', 'FROM a\nHEALTHCHECK CONNECT TCP 7000\n', /^Dockerfile:2: unknown HEALTHCHECK type "CONNECT"/],
    ['HEALTHCHECK without command', 'FROM a\nHEALTHCHECK CMD\n', /^Dockerfile:2: HEALTHCHECK CMD requires a command/],
    ['HEALTHCHECK NONE with arguments', 'FROM a\nHEALTHCHECK NONE x\n', /^Dockerfile:2: HEALTHCHECK NONE takes no arguments/],
    ['HEALTHCHECK bad duration', 'FROM a\nHEALTHCHECK --interval=5 CMD x\n', /^Dockerfile:2: --interval: missing unit in duration "5"/],
    ['HEALTHCHECK too short', 'FROM a\nHEALTHCHECK --timeout=10us CMD x\n', /^Dockerfile:2: --timeout=10us is too short/],
    ['HEALTHCHECK negative retries', 'FROM a\nHEALTHCHECK --retries=-1 CMD x\n', /^Dockerfile:2: --retries cannot be negative/],
    ['ONBUILD ONBUILD', 'FROM a\nONBUILD ONBUILD RUN x\n', /^Dockerfile:2: chaining ONBUILD via ONBUILD ONBUILD is not allowed/],
    ['ONBUILD FROM', 'FROM a\nONBUILD FROM b\n', /^Dockerfile:2: FROM is not allowed as an ONBUILD trigger/],
    ['ONBUILD unknown trigger', 'FROM a\nONBUILD FOO x\n', /^Dockerfile:2: unknown instruction "FOO"/],
    ['RUN bad network', 'FROM a\nRUN --network=bridge x\n', /^Dockerfile:2: unsupported --network=bridge/],
    ['RUN bad mount type', 'FROM a\nRUN --mount=type=volume,target=/x true\n', /^Dockerfile:2: --mount: unsupported mount type "volume"/],
    ['RUN mount from with a variable', 'FROM a\nRUN --mount=from=$STAGE,target=/x true\n', /^Dockerfile:2: --mount: "from" does not support variables/],
    ['RUN mount without target', 'FROM a\nRUN --mount=type=cache true\n', /^Dockerfile:2: --mount: a cache mount needs target=/],
    ['COPY --from empty', 'FROM a\nCOPY --from= a b\n', /^Dockerfile:2: --from needs a stage name/],
  ];

  it.each(cases)('%s', (_name, text, pattern) => {
    const error = errorOf(text);
    expect(error.message).toMatch(pattern);
    expect(error.file).toBe('Dockerfile');
  });

  it('uses the given file name and the instruction lines', () => {
    const error = errorOf('FROM a\nRUN echo \\\n  one \\\n  two\nBAD x\n', 'app/Dockerfile.prod');
    expect(error.message).toMatch(/^app\/Dockerfile\.prod:5: unknown instruction "BAD"/);
    expect([error.line, error.endLine, error.reason]).toEqual([5, 5, 'unknown instruction "BAD"']);
    const multi = errorOf('FROM a\nCOPY \\\n  --nope=1 \\\n  a b\n');
    expect([multi.line, multi.endLine]).toEqual([2, 4]);
  });

  it('reports the empty continuation line as a warning, not an error', () => {
    expect(parseDockerfile('FROM a\nRUN a \\\n\n  b\n').warnings).toEqual([
      { line: 3, message: expect.stringContaining('empty line inside a line continuation') },
    ]);
  });
});
