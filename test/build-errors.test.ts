import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, buildOk, makeBuildWorkspace, readText, unpack, writeFiles, type BuildWorkspace } from './helpers/build.js';
import { startTsbuild, tsbuild, type RunResult } from './helpers/run.js';

/** A failed build (-q: no progress): exit 1 and exactly one line on stderr, `Error: Dockerfile:LINE: ...`. */
function expectDockerfileError(result: RunResult, line: number, message: RegExp, what: string): void {
  expect(result.code, what).toBe(1);
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines, what).toHaveLength(1);
  expect(lines[0], what).toMatch(new RegExp(`^Error: Dockerfile:${line}: `));
  expect(lines[0], what).toMatch(message);
  expect(result.stdout, what).toBe('');
}

/** Mount points under `root` in this process's mount table. */
async function mountsUnder(root: string): Promise<string[]> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  return table.split('\n').filter((line) => line.split(' ')[4]?.startsWith(root));
}

/** The store's image names. */
async function imageNames(root: string): Promise<string[]> {
  const listed = await tsbuild(root, ['images', '--format', 'json']);
  return (JSON.parse(listed.stdout) as Array<{ name: string }>).map((image) => image.name).sort();
}

describe('tsbuild build: bad input and failures', () => {
  let ws: BuildWorkspace;
  let n = 0;
  const context = (): string => join(ws.work, `ctx-${++n}`);

  beforeAll(async () => {
    ws = await makeBuildWorkspace();
  });
  afterAll(async () => ws.cleanup());

  it('each Dockerfile error gives one `Error: Dockerfile:LINE: ...` line and exit 1', async () => {
    const cases: Array<{ what: string; dockerfile: string; line: number; message: RegExp; args?: string[] }> = [
      { what: 'unknown instruction', dockerfile: 'FROM busybox\nRUN true\nFOO bar\n', line: 3, message: /unknown instruction.*FOO/i },
      {
        what: 'unknown instruction after a continuation',
        dockerfile: 'FROM busybox\nRUN echo a \\\n  b\nCOPPY a /b\n',
        line: 4,
        message: /unknown instruction.*COPPY/i,
      },
      { what: 'missing FROM', dockerfile: '# comment\nRUN echo hi\n', line: 2, message: /FROM/ },
      { what: 'only ARG before FROM', dockerfile: 'ARG A=1\nENV B=2\nFROM busybox\n', line: 2, message: /FROM/ },
      { what: 'bad flag', dockerfile: 'FROM busybox\nCOPY --bogus=1 a /b\n', line: 2, message: /--bogus/ },
      { what: 'flag on the wrong instruction', dockerfile: 'FROM busybox\nRUN --chown=1 true\n', line: 2, message: /--chown/ },
      { what: 'bad JSON form (nested array)', dockerfile: 'FROM busybox\n\nCMD [ "echo", [ "nested" ] ]\n', line: 3, message: /JSON|exec form/i },
      { what: 'bad JSON form (a number)', dockerfile: 'FROM busybox\nRUN ["echo", 1]\n', line: 2, message: /JSON|exec form/i },
      { what: 'unknown stage index in --from', dockerfile: 'FROM busybox\nCOPY --from=5 /a /b\n', line: 2, message: /--from=5/ },
      { what: '--from naming its own stage', dockerfile: 'FROM busybox AS me\nCOPY --from=me /a /b\n', line: 2, message: /--from=me/ },
      {
        what: 'unknown stage name in --from (an image that is not there)',
        dockerfile: 'FROM busybox AS one\nFROM busybox\nCOPY --from=nosuchstage /a /b\n',
        line: 3,
        message: /nosuchstage/,
        args: ['--pull', 'never'],
      },
      { what: 'duplicate stage name', dockerfile: 'FROM busybox AS a\nFROM busybox AS a\n', line: 2, message: /duplicate|already/i },
      { what: 'variable syntax error', dockerfile: 'FROM busybox\nENV A=${B\n', line: 2, message: /\$\{B|missing '}'/ },
      { what: 'bad variable modifier', dockerfile: 'FROM busybox\nWORKDIR ${A:?must be set}\n', line: 2, message: /must be set/ },
      { what: 'unterminated quote', dockerfile: 'FROM busybox\nENV A="open\n', line: 2, message: /quote/ },
      { what: 'ENV without a value', dockerfile: 'FROM busybox\nENV PATH\n', line: 2, message: /ENV/ },
      { what: 'bad EXPOSE port', dockerfile: 'FROM busybox\nEXPOSE http\n', line: 2, message: /http/ },
      { what: 'bad HEALTHCHECK duration', dockerfile: 'FROM busybox\nHEALTHCHECK --interval=soon CMD true\n', line: 2, message: /soon/ },
      { what: 'bad STOPSIGNAL', dockerfile: 'FROM busybox\nSTOPSIGNAL SIGNOPE\n', line: 2, message: /SIGNOPE/ },
      { what: 'unknown base image', dockerfile: 'FROM busybox\nRUN true\nFROM no-such-image:1\n', line: 3, message: /no-such-image/, args: ['--pull', 'never'] },
    ];
    const ctx = context();
    for (const { what, dockerfile, line, message, args = [] } of cases) {
      await writeFiles(ctx, { Dockerfile: dockerfile });
      expectDockerfileError(await build(ws.root, ['-q', '-t', 'never:tagged', ...args, ctx]), line, message, what);
    }
    expect(await imageNames(ws.root)).toEqual(['busybox:latest']);
  });

  it('a failing RUN names the step, the command and the tail of its output (in order, stderr included); exit 1; no mounts, temp dirs or tag left', async () => {
    const ctx = context();
    await writeFiles(ctx, {
      'file.txt': 'x\n',
      Dockerfile: [
        'FROM busybox',
        'COPY file.txt /file.txt',
        'RUN for i in $(seq 1 30); do echo "noise $i"; done; \\',
        '    echo "fatal: the real reason" >&2; exit 3',
        'RUN echo never',
        '',
      ].join('\n'),
    });
    const before = await imageNames(ws.root);
    const result = await build(ws.root, ['-t', 'failed:1', ctx]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const errorAt = result.stderr.indexOf('Error: ');
    const message = result.stderr.slice(errorAt).trimEnd().split('\n');
    expect(message[0]).toBe('Error: Dockerfile:3: RUN for i in $(seq 1 30); do echo "noise $i"; done;     echo "fatal: the real reason" >&2; exit 3: the command returned a non-zero code: 3');
    expect(message.slice(1)).toEqual([...Array.from({ length: 9 }, (_, i) => `  > noise ${22 + i}`), '  > fatal: the real reason']);
    expect(result.stderr).not.toContain('echo never\n#');
    expect(await mountsUnder(ws.root)).toEqual([]);
    expect(await readdir(join(ws.root, 'tmp'))).toEqual([]);
    expect(await readdir(join(ws.root, 'snapshots', '.staging'))).toEqual([]);
    expect(await imageNames(ws.root)).toEqual(before);
    // The store is consistent and a fixed Dockerfile builds, reusing the COPY step.
    expect((await tsbuild(ws.root, ['check'])).code).toBe(0);
    await writeFiles(ctx, { Dockerfile: 'FROM busybox\nCOPY file.txt /file.txt\nRUN echo fixed > /fixed.txt\n' });
    const fixed = await buildOk(ws.root, ['-t', 'failed:1', ctx]);
    expect(fixed.result.stderr).toMatch(/COPY file\.txt \/file\.txt\n#\d+ CACHED/);
  });

  it('the store stays consistent after kill -9 in the middle of a RUN; the next build works', async () => {
    const root = join(ws.work, 'kill-store');
    const imported = await tsbuild(root, ['import', ws.rootfs, 'busybox:latest']);
    expect(imported.code).toBe(0);
    const ctx = context();
    await writeFiles(ctx, { Dockerfile: 'FROM busybox\nRUN echo started && sleep 60 && echo finished > /finished.txt\n' });
    const child = startTsbuild(root, ['build', '--progress', 'plain', '-t', 'killed:1', ctx]);
    let progress = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      progress += chunk.toString();
    });
    const deadline = Date.now() + 60_000;
    while (!progress.includes('started') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(progress).toContain('started');
    child.kill('SIGKILL');
    await once(child, 'close');
    // The RUN's processes go with it (nothing keeps the snapshot busy).
    const running = async (): Promise<boolean> => {
      for (const pid of await readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.includes('echo started && sleep 60')) return true;
      }
      return false;
    };
    const gone = Date.now() + 5_000;
    while ((await running()) && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await running()).toBe(false);

    expect(await imageNames(root)).toEqual(['busybox:latest']);
    const check = await tsbuild(root, ['check']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/0 corrupt, 0 missing, 0 orphaned/);
    expect(await mountsUnder(root)).toEqual([]);
    // The next build cleans what the killed one left and works.
    await writeFiles(ctx, { Dockerfile: 'FROM busybox\nRUN echo finished > /finished.txt\n' });
    await buildOk(root, ['-t', 'killed:1', ctx]);
    expect(await readText(await unpack(root, 'killed:1', join(ws.work, 'after-kill')), 'finished.txt')).toBe('finished\n');
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await readdir(join(root, 'snapshots', '.staging'))).toEqual([]);
    expect((await tsbuild(root, ['check'])).stdout).toMatch(/0 corrupt, 0 missing, 0 orphaned/);
  });
});
