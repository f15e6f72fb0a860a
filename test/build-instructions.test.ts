import { arch } from 'node:process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildContext,
  buildOk,
  DEFAULT_PATH,
  historyLines,
  inspect,
  useBuildWorkspace,
  readText,
  stepStates,
  unpack,
  writeFiles,
} from './helpers/build.js';
import { describeTree } from './helpers/tree.js';

/** The host platform as OCI names it (what TARGETPLATFORM and BUILDPLATFORM default to). */
const HOST_ARCH = arch === 'x64' ? 'amd64' : arch;
const HOST_PLATFORM = `linux/${HOST_ARCH}`;

describe('tsbuild build: every Dockerfile instruction, checked through inspect and unpack', () => {
  const ws = useBuildWorkspace();
  const { context, out } = ws;

  it('metadata instructions set the config fields and history as docker does; --label adds and overrides labels', async () => {
    const dockerfile = [
      'FROM busybox',
      'LABEL org.example.one=1 "two words"="a b"',
      'LABEL three=3',
      'MAINTAINER Jane Doe <jane@example.com>',
      'ENV A=1 B="two words" C=${A}x',
      'ENV OLD value with spaces',
      'EXPOSE 80 443/udp 8000-8001/tcp',
      'VOLUME /data',
      'VOLUME ["/v1", "/v2"]',
      'STOPSIGNAL SIGQUIT',
      'HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=3 CMD wget -q -O- localhost || exit 1',
      'SHELL ["/bin/sh", "-ec"]',
      'USER app',
      'WORKDIR /srv',
      'WORKDIR app',
      'ENTRYPOINT ["/bin/echo"]',
      'CMD ["hello"]',
      '',
    ].join('\n');
    const { id } = await buildContext(ws, context(), 'meta:1', dockerfile, {}, ['--label', 'built.by=tests', '--label', 'three=override']);
    const image = await inspect(ws.root, 'meta:1');
    expect(image.configDigest).toBe(id);
    const config = image.config;
    expect(config.architecture).toBe(HOST_ARCH);
    expect(config.os).toBe('linux');
    expect(config.author).toBe('Jane Doe <jane@example.com>');
    expect(config.config).toEqual({
      // a reference in ENV sees the value from before the instruction: A was unset, so C is "x" (as docker)
      Env: [DEFAULT_PATH, 'A=1', 'B=two words', 'C=x', 'OLD=value with spaces'],
      Labels: { 'org.example.one': '1', 'two words': 'a b', three: 'override', 'built.by': 'tests' },
      ExposedPorts: { '80/tcp': {}, '443/udp': {}, '8000/tcp': {}, '8001/tcp': {} },
      Volumes: { '/data': {}, '/v1': {}, '/v2': {} },
      StopSignal: 'SIGQUIT',
      Healthcheck: {
        Test: ['CMD-SHELL', 'wget -q -O- localhost || exit 1'],
        Interval: 5_000_000_000,
        Timeout: 2_000_000_000,
        StartPeriod: 1_000_000_000,
        Retries: 3,
      },
      Shell: ['/bin/sh', '-ec'],
      User: 'app',
      WorkingDir: '/srv/app',
      Entrypoint: ['/bin/echo'],
      Cmd: ['hello'],
    });
    // One history entry per instruction; only the WORKDIRs (which create directories) add layers.
    const history = historyLines(config);
    expect(history[0]).toMatch(/^tsbuild import /);
    expect(history.slice(1)).toEqual([
      'LABEL org.example.one=1 two words=a b (empty)',
      'LABEL three=3 (empty)',
      'MAINTAINER Jane Doe <jane@example.com> (empty)',
      'ENV A=1 B=two words C=x (empty)',
      'ENV OLD=value with spaces (empty)',
      expect.stringMatching(/^EXPOSE .*80\/tcp.*443\/udp.*8000\/tcp.*8001\/tcp.* \(empty\)$/),
      'VOLUME [/data] (empty)',
      'VOLUME [/v1 /v2] (empty)',
      'STOPSIGNAL SIGQUIT (empty)',
      expect.stringMatching(/^HEALTHCHECK .*wget -q -O- localhost \|\| exit 1.* \(empty\)$/),
      expect.stringMatching(/^SHELL .*\/bin\/sh.*-ec.* \(empty\)$/),
      'USER app (empty)',
      'WORKDIR /srv',
      'WORKDIR /srv/app',
      'ENTRYPOINT ["/bin/echo"] (empty)',
      'CMD ["hello"] (empty)',
    ]);
    expect(config.rootfs.diff_ids).toHaveLength(3);
    expect(image.manifest.layers).toHaveLength(3);
    // WORKDIR made both directories, owned by the USER in effect (as BuildKit does).
    const tree = await unpack(ws.root, 'meta:1', out());
    expect(await describeTree(join(tree, 'srv'))).toEqual(['app dir 0755 1000:1000']);
  });

  it('ENTRYPOINT resets an inherited CMD; CMD set before ENTRYPOINT in the same stage stays; shell forms go through SHELL', async () => {
    const ctx = context();
    await writeFiles(ctx, {
      Dockerfile: [
        'FROM busybox AS base',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo base"]',
        'FROM base AS new-entrypoint',
        'ENTRYPOINT ["/bin/echo"]',
        'FROM base AS new-cmd',
        'CMD ["echo child"]',
        'FROM busybox AS same-stage',
        'CMD ["kept"]',
        'ENTRYPOINT echo entry',
        'FROM busybox AS shell-form',
        'SHELL ["/bin/ash", "-c"]',
        'CMD echo "shell form"',
        'HEALTHCHECK CMD ["/bin/true"]',
        'FROM shell-form AS no-health',
        'HEALTHCHECK NONE',
        '',
      ].join('\n'),
    });
    const configOf = async (target: string): Promise<Record<string, unknown>> => {
      await buildOk(ws.root, ['-t', `ep:${target}`, '--target', target, ctx]);
      return (await inspect(ws.root, `ep:${target}`)).config.config;
    };
    expect(await configOf('base')).toMatchObject({ Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo base'] });
    const reset = await configOf('new-entrypoint');
    expect(reset.Entrypoint).toEqual(['/bin/echo']);
    expect(reset.Cmd ?? null).toBeNull();
    expect(await configOf('new-cmd')).toMatchObject({ Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo child'] });
    expect(await configOf('same-stage')).toMatchObject({ Cmd: ['kept'], Entrypoint: ['/bin/sh', '-c', 'echo entry'] });
    expect(await configOf('shell-form')).toMatchObject({
      Cmd: ['/bin/ash', '-c', 'echo "shell form"'],
      Shell: ['/bin/ash', '-c'],
      Healthcheck: { Test: ['CMD', '/bin/true'] },
    });
    expect(await configOf('no-health')).toMatchObject({ Healthcheck: { Test: ['NONE'] }, Cmd: ['/bin/ash', '-c', 'echo "shell form"'] });
  });

  it('RUN: shell form through SHELL, exec form without a shell, heredocs (script, #! script, stdin of a command)', async () => {
    const dockerfile = [
      'FROM busybox',
      'ENV WHO=world',
      'RUN echo "shell $WHO" > /shell.txt',
      'RUN ["/bin/sh", "-c", "echo \\"exec $WHO $1\\" > /exec.txt", "argv0", "$WHO"]',
      'SHELL ["/bin/sh", "-xc"]',
      'RUN echo "flags $-" > /flags.txt',
      'RUN <<EOF',
      'echo "heredoc line 1 $WHO" > /heredoc.txt',
      'echo "heredoc line 2" >> /heredoc.txt',
      'EOF',
      'RUN <<EOF',
      '#!/bin/sh -e',
      'echo "script $0" > /script.txt',
      'EOF',
      'RUN cat <<EOF > /stdin.txt',
      'from stdin $WHO',
      'EOF',
      '',
    ].join('\n');
    await buildContext(ws, context(), 'run:1', dockerfile);
    const tree = await unpack(ws.root, 'run:1', out());
    expect(await readText(tree, 'shell.txt')).toBe('shell world\n');
    // exec form: no shell and no expansion by the builder; "$WHO" reaches sh as a literal argument
    expect(await readText(tree, 'exec.txt')).toBe('exec world $WHO\n');
    expect(await readText(tree, 'flags.txt')).toMatch(/^flags [a-z]*x[a-z]*\n$/);
    expect(await readText(tree, 'heredoc.txt')).toBe('heredoc line 1 world\nheredoc line 2\n');
    expect(await readText(tree, 'script.txt')).toMatch(/^script \S+\n$/);
    expect(await readText(tree, 'stdin.txt')).toBe('from stdin world\n');
    const history = historyLines((await inspect(ws.root, 'run:1')).config);
    expect(history).toContain('RUN /bin/sh -c echo "shell $WHO" > /shell.txt # buildkit');
    expect(history).toContain('RUN ["/bin/sh","-c","echo \\"exec $WHO $1\\" > /exec.txt","argv0","$WHO"] # buildkit');
    expect(history).toContain('RUN /bin/sh -xc echo "flags $-" > /flags.txt # buildkit');
  });

  it('USER names and ids resolve through the image /etc/passwd and /etc/group; WORKDIR is created and relative to the previous one', async () => {
    const dockerfile = [
      'FROM busybox',
      'WORKDIR /a',
      'WORKDIR b',
      'WORKDIR ../c',
      'RUN pwd > /tmp/pwd-root && id -u > /tmp/uid-root',
      'USER app',
      'RUN id -u > /tmp/uid-app && id -g > /tmp/gid-app && echo "$HOME" > /tmp/home-app && touch /tmp/made-by-app',
      'WORKDIR /home/app/work',
      'RUN pwd > /tmp/pwd-app',
      'USER 1234:65534',
      'RUN id -u > /tmp/uid-numeric && id -g > /tmp/gid-numeric',
      'USER nobody:app',
      'RUN id -u > /tmp/uid-named-group && id -g > /tmp/gid-named-group',
      '',
    ].join('\n');
    await buildContext(ws, context(), 'user:1', dockerfile);
    const tree = await unpack(ws.root, 'user:1', out());
    const read = async (name: string): Promise<string> => (await readText(tree, `tmp/${name}`)).trim();
    expect(await read('pwd-root')).toBe('/a/c');
    expect(await read('uid-root')).toBe('0');
    expect(await read('uid-app')).toBe('1000');
    expect(await read('gid-app')).toBe('1000');
    expect(await read('home-app')).toBe('/home/app');
    expect(await read('pwd-app')).toBe('/home/app/work');
    expect(await read('uid-numeric')).toBe('1234');
    expect(await read('gid-numeric')).toBe('65534');
    expect(await read('uid-named-group')).toBe('65534');
    expect(await read('gid-named-group')).toBe('1000');
    const made = await describeTree(join(tree, 'a'));
    expect(made).toEqual(['b dir 0755 0:0', 'c dir 0755 0:0']);
    expect(await describeTree(join(tree, 'home/app'))).toEqual(['work dir 0755 1000:1000']);
    expect((await describeTree(join(tree, 'tmp'))).find((line) => line.startsWith('made-by-app '))).toBe('made-by-app file 0 e3b0c44298fc1c14 0644 1000:1000');
    const config = (await inspect(ws.root, 'user:1')).config.config;
    expect(config).toMatchObject({ User: 'nobody:app', WorkingDir: '/home/app/work' });
  });

  it('ARG: defaults, --build-arg, meta ARGs in FROM, scoping per stage, predefined platform args, proxy args only in RUN', async () => {
    const dockerfile = [
      'ARG BASE=busybox',
      'ARG TAG=latest',
      'ARG META_ONLY=meta',
      'FROM ${BASE}:${TAG} AS first',
      'ARG TAG',
      'ARG GREETING=hello',
      'ARG FROMCLI=default',
      'ARG TARGETPLATFORM',
      'ARG TARGETOS',
      'ARG TARGETARCH',
      'ARG BUILDPLATFORM',
      'RUN echo "TAG=$TAG GREETING=$GREETING FROMCLI=$FROMCLI META_ONLY=$META_ONLY" > /args.txt' +
        ' && echo "$TARGETPLATFORM $TARGETOS $TARGETARCH $BUILDPLATFORM" > /platform.txt' +
        ' && echo "proxy=$HTTP_PROXY no=$no_proxy" > /proxy.txt',
      'ENV FROMENV=$GREETING',
      'FROM first',
      'ARG LATE',
      'ARG GREETING',
      'RUN echo "GREETING=[$GREETING] FROMCLI=[$FROMCLI] LATE=[$LATE] FROMENV=[$FROMENV]" > /second.txt',
      '',
    ].join('\n');
    const proxy = 'http://proxy.invalid:3128';
    await buildContext(ws, context(), 'args:1', dockerfile, {}, [
      '--build-arg', 'FROMCLI=cli',
      '--build-arg', 'LATE=late',
      '--build-arg', `HTTP_PROXY=${proxy}`,
      '--build-arg', 'no_proxy=localhost',
    ]);
    const tree = await unpack(ws.root, 'args:1', out());
    expect(await readText(tree, 'args.txt')).toBe('TAG=latest GREETING=hello FROMCLI=cli META_ONLY=\n');
    expect(await readText(tree, 'platform.txt')).toBe(`${HOST_PLATFORM} linux ${HOST_ARCH} ${HOST_PLATFORM}\n`);
    expect(await readText(tree, 'proxy.txt')).toBe(`proxy=${proxy} no=localhost\n`);
    // An ARG is scoped to its stage; redeclared without a value it takes the --build-arg or nothing. ENV carries over.
    expect(await readText(tree, 'second.txt')).toBe('GREETING=[] FROMCLI=[] LATE=[late] FROMENV=[hello]\n');
    const image = await inspect(ws.root, 'args:1');
    expect(image.config.config.Env).toEqual([DEFAULT_PATH, 'FROMENV=hello']);
    // Proxy args are neither baked into the config nor recorded in the history.
    expect(JSON.stringify(image.config)).not.toContain('proxy.invalid');
    expect(JSON.stringify(image.config)).not.toContain('HTTP_PROXY=');
    expect(JSON.stringify(image.config)).not.toContain('no_proxy=');
    const history = historyLines(image.config);
    expect(history).toContain('ARG GREETING=hello (empty)');
    expect(history).toContain('ARG FROMCLI=cli (empty)');
    expect(history.find((line) => line.startsWith('RUN ') && line.includes('/args.txt'))).toMatch(/^RUN \|\d+ TAG=latest GREETING=hello FROMCLI=cli /);
  });

  it('FROM: scratch, a local image, a stage by name, --platform with the host platform (literal and $BUILDPLATFORM)', async () => {
    const ctx = context();
    await writeFiles(ctx, {
      'hello.txt': 'hello\n',
      Dockerfile: [
        'FROM scratch AS empty',
        'COPY hello.txt /hello.txt',
        'FROM --platform=$BUILDPLATFORM busybox:latest AS tools',
        'RUN echo tools > /tools.txt',
        `FROM --platform=${HOST_PLATFORM} tools`,
        'COPY --from=empty /hello.txt /from-scratch.txt',
        '',
      ].join('\n'),
    });
    await buildOk(ws.root, ['-t', 'from:scratch', '--target', 'empty', ctx]);
    const scratch = await inspect(ws.root, 'from:scratch');
    expect(scratch.config.rootfs.diff_ids).toHaveLength(1);
    expect(historyLines(scratch.config)).toEqual(['COPY hello.txt /hello.txt # buildkit']);
    expect(scratch.config.architecture).toBe(HOST_ARCH);
    expect(await describeTree(await unpack(ws.root, 'from:scratch', out()))).toEqual(['hello.txt file 6 5891b5b522d5df08 0644 0:0']);

    await buildOk(ws.root, ['-t', 'from:all', ctx]);
    const all = await inspect(ws.root, 'from:all');
    const base = await inspect(ws.root, 'busybox:latest');
    expect(all.config.rootfs.diff_ids.slice(0, 1)).toEqual(base.config.rootfs.diff_ids);
    expect(all.config.rootfs.diff_ids).toHaveLength(3);
    const tree = await unpack(ws.root, 'from:all', out());
    expect(await readText(tree, 'tools.txt')).toBe('tools\n');
    expect(await readText(tree, 'from-scratch.txt')).toBe('hello\n');

    // A local image built earlier is a base like any other.
    await buildContext(ws, context(), 'from:child', 'FROM from:all\nRUN cat /tools.txt /from-scratch.txt > /both.txt\n');
    expect(await readText(await unpack(ws.root, 'from:child', out()), 'both.txt')).toBe('tools\nhello\n');
  });

  it('ONBUILD is stored in the config and its triggers run (once) when the image is a base', async () => {
    const baseCtx = context();
    await buildContext(ws, baseCtx, 'onbuild:base', [
      'FROM busybox',
      'ONBUILD RUN echo "triggered in $(pwd)" > /onbuild-run.txt',
      'ONBUILD COPY payload.txt /onbuild-copy.txt',
      'CMD ["sh"]',
      '',
    ].join('\n'));
    const base = await inspect(ws.root, 'onbuild:base');
    expect(base.config.config.OnBuild).toEqual([
      'RUN echo "triggered in $(pwd)" > /onbuild-run.txt',
      'COPY payload.txt /onbuild-copy.txt',
    ]);
    expect(base.config.rootfs.diff_ids).toHaveLength(1); // nothing ran in the base itself

    // The child's context supplies payload.txt, as with docker.
    const { result } = await buildContext(ws, context(), 'onbuild:child', 'FROM onbuild:base\nRUN test -f /onbuild-copy.txt && touch /child.txt\n', { 'payload.txt': 'from the child context\n' });
    expect(result.stderr).toContain('RUN echo "triggered in');
    const child = await inspect(ws.root, 'onbuild:child');
    expect(child.config.config.OnBuild ?? null).toBeNull();
    expect(child.config.rootfs.diff_ids).toHaveLength(4);
    const tree = await unpack(ws.root, 'onbuild:child', out());
    expect(await readText(tree, 'onbuild-run.txt')).toBe('triggered in /\n');
    expect(await readText(tree, 'onbuild-copy.txt')).toBe('from the child context\n');
    // Steps never number past the total, triggers included.
    for (const line of result.stderr.split('\n')) {
      const match = /^#\d+ \[[^ ]+ (\d+)\/(\d+)\]/.exec(line);
      if (match) expect(Number(match[1])).toBeLessThanOrEqual(Number(match[2]));
    }
    // A grandchild does not run the triggers again.
    await buildContext(ws, context(), 'onbuild:grandchild', 'FROM onbuild:child\nRUN touch /grandchild.txt\n');
    expect((await inspect(ws.root, 'onbuild:grandchild')).config.rootfs.diff_ids).toHaveLength(5);
    expect(stepStates(result.stderr).map((step) => step.text)).toContain('COPY payload.txt /onbuild-copy.txt');
  });
});
