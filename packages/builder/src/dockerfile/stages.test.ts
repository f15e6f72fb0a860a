import type { Platform } from '@tsbuild/oci';
import { describe, expect, it } from 'vitest';
import { StageArgs } from './args.js';
import { DockerfileError } from './errors.js';
import { expandInstruction } from './expand.js';
import type { ArgInstruction, StageInstruction } from './instructions.js';
import { parseDockerfile } from './parse.js';
import { planStages, type BuildPlan } from './stages.js';

const amd64: Platform = { os: 'linux', architecture: 'amd64' };
const arm64: Platform = { os: 'linux', architecture: 'arm64' };
const armv7: Platform = { os: 'linux', architecture: 'arm', variant: 'v7' };

function plan(text: string, options: Parameters<typeof planStages>[1] = {}): BuildPlan {
  return planStages(parseDockerfile(text), { platform: amd64, buildPlatform: amd64, ...options });
}

const multistage = `
ARG GO=1.22
FROM golang:\${GO} AS build
RUN go build -o /out/app

FROM alpine AS unused
RUN echo never

FROM build AS test
RUN go test

FROM busybox AS assets
RUN touch /asset

FROM scratch
COPY --from=build /out/app /app
COPY --from=3 /asset /asset
COPY --from=nginx:1 /etc/nginx /etc/nginx
`;

describe('planStages: stages and dependencies', () => {
  it('resolves bases, references and dependencies of every stage', () => {
    const result = plan(multistage);
    expect(result.stages.map((stage) => [stage.index, stage.name, stage.baseName, stage.base, stage.dependencies])).toEqual([
      [0, 'build', 'golang:1.22', { kind: 'image', reference: 'golang:1.22' }, []],
      [1, 'unused', 'alpine', { kind: 'image', reference: 'alpine' }, []],
      [2, 'test', 'build', { kind: 'stage', index: 0 }, [0]],
      [3, 'assets', 'busybox', { kind: 'image', reference: 'busybox' }, []],
      [4, undefined, 'scratch', { kind: 'scratch' }, [0, 3]],
    ]);
    expect(result.stages[4]!.references.map((reference) => [reference.from, reference.source])).toEqual([
      ['build', { kind: 'stage', index: 0 }],
      ['3', { kind: 'stage', index: 3 }],
      ['nginx:1', { kind: 'image', reference: 'nginx:1' }],
    ]);
  });

  it('builds only what the last stage needs, dependencies first', () => {
    const result = plan(multistage);
    expect(result.target.index).toBe(4);
    expect(result.order.map((stage) => stage.index)).toEqual([0, 3, 4]);
    expect(result.skipped).toEqual([1, 2]);
  });

  it('builds only what --target needs (case-insensitive name or index)', () => {
    expect(plan(multistage, { target: 'TEST' }).order.map((stage) => stage.index)).toEqual([0, 2]);
    expect(plan(multistage, { target: '1' }).order.map((stage) => stage.index)).toEqual([1]);
    expect(() => plan(multistage, { target: 'release' })).toThrow(/target stage "release" could not be found \(stages: build, unused, test, assets\)/);
  });

  it('follows RUN --mount=from= as a dependency', () => {
    const result = plan('FROM alpine AS deps\nRUN true\nFROM alpine\nRUN --mount=type=bind,from=deps,target=/deps ls /deps\n');
    expect(result.target.dependencies).toEqual([0]);
    expect(result.order.map((stage) => stage.index)).toEqual([0, 1]);
  });

  it('expands COPY --from with the stage ARGs, build args first', () => {
    const text = 'FROM alpine AS a\nFROM alpine AS b\nFROM scratch\nARG SRC=a\nCOPY --from=${SRC} / /\n';
    expect(plan(text).target.references[0]!.source).toEqual({ kind: 'stage', index: 0 });
    expect(plan(text, { buildArgs: { SRC: 'B' } }).target.references[0]).toMatchObject({ from: 'B', source: { kind: 'stage', index: 1 } });
  });

  it('does not fail planning on defaults that need the base image ENV; rejects an empty --from', () => {
    const result = plan('FROM alpine AS a\nFROM alpine\nARG CACHE=${HOME:?needs-HOME}/.cache\nCOPY --from=a / /\n');
    expect(result.target.dependencies).toEqual([0]);
    expect(() => plan('FROM alpine\nCOPY --from=$NOTHING / /\n')).toThrow(/^Dockerfile:2: --from=\$NOTHING expands to an empty value/);
  });

  it('rejects --from naming the stage itself or a later stage, at its line', () => {
    const self = 'FROM alpine AS one\nCOPY --from=one /a /b\n';
    expect(() => plan(self)).toThrow(DockerfileError);
    expect(() => plan(self)).toThrow(/^Dockerfile:2: --from=one refers to the stage it is used in/);
    expect(() => plan('FROM alpine\nCOPY --from=later /a /b\nFROM alpine AS later\n')).toThrow(
      /^Dockerfile:2: --from=later refers to stage 1 \(line 3\); it can only name an earlier stage/,
    );
    expect(() => plan('FROM alpine\nCOPY --from=0 /a /b\n')).toThrow(/^Dockerfile:2: --from=0 refers to the stage it is used in/);
    expect(() => plan('FROM alpine\nCOPY --from=7 /a /b\n')).toThrow(/^Dockerfile:2: --from=7 refers to stage 7, which does not exist/);
    expect(() => plan('FROM alpine AS a\nRUN --mount=from=b,target=/b true\nFROM alpine AS b\n')).toThrow(/^Dockerfile:2: --from=b refers to stage 1/);
  });

  it('treats FROM <name of a later stage> as an image, with a warning', () => {
    const result = plan('FROM app\nRUN true\nFROM alpine AS app\n', { target: '0' });
    expect(result.stages[0]!.base).toEqual({ kind: 'image', reference: 'app' });
    expect(result.warnings).toEqual([expect.stringMatching(/^Dockerfile:1: FROM app uses the image "app", not the stage/)]);
  });
});

describe('planStages: args', () => {
  it('expands FROM with meta ARGs, defaults chained and overridden by build args', () => {
    const text = 'ARG REGISTRY=docker.io\nARG IMAGE=${REGISTRY}/library/alpine\nARG TAG=3.19\nFROM ${IMAGE}:${TAG}\n';
    expect(plan(text).target.baseName).toBe('docker.io/library/alpine:3.19');
    expect(plan(text, { buildArgs: { REGISTRY: 'localhost:5000', TAG: 'edge' } }).target.baseName).toBe('localhost:5000/library/alpine:edge');
    expect(plan(text, { buildArgs: new Map([['IMAGE', 'busybox']]) }).target.baseName).toBe('busybox:3.19');
    expect(plan(text).globalArgs.get('IMAGE')).toBe('docker.io/library/alpine');
  });

  it('does not let undeclared build args into FROM', () => {
    expect(() => plan('FROM ${BASE}\n', { buildArgs: { BASE: 'alpine' } })).toThrow(/^Dockerfile:1: FROM \$\{BASE\} expands to an empty image name/);
  });

  it('predefines the platform args in the global scope', () => {
    const result = plan('FROM --platform=$BUILDPLATFORM golang AS build\nFROM img-$TARGETOS-$TARGETARCH$TARGETVARIANT\n', {
      platform: armv7,
      buildPlatform: amd64,
    });
    expect(result.stages.map((stage) => [stage.baseName, stage.platform, stage.explicitPlatform])).toEqual([
      ['golang', amd64, true],
      ['img-linux-armv7', armv7, false],
    ]);
    expect(Object.fromEntries([...result.globalArgs].filter(([name]) => /^(TARGET|BUILD)/.test(name)))).toEqual({
      TARGETPLATFORM: 'linux/arm/v7',
      TARGETOS: 'linux',
      TARGETARCH: 'arm',
      TARGETVARIANT: 'v7',
      BUILDPLATFORM: 'linux/amd64',
      BUILDOS: 'linux',
      BUILDARCH: 'amd64',
      BUILDVARIANT: '',
    });
  });

  it('accepts the target platform as a string', () => {
    expect(plan('FROM a\n', { platform: 'linux/arm64' }).platform).toEqual(arm64);
  });

  it('rejects a bad FROM --platform at its line', () => {
    expect(() => plan('FROM a\nFROM --platform=linux/a/b/c b\n')).toThrow(/^Dockerfile:2: --platform: invalid platform "linux\/a\/b\/c"/);
  });

  it('reports build args no ARG of the built stages declares; proxy args are never reported', () => {
    const text = 'ARG META\nFROM alpine AS skipped\nARG ONLY_SKIPPED\nFROM alpine\nARG USED\n';
    const result = plan(text, { buildArgs: { META: '1', USED: '2', ONLY_SKIPPED: '3', TYPO: '4', HTTP_PROXY: 'http://proxy:3128', no_proxy: 'localhost' } });
    expect(result.unusedBuildArgs).toEqual(['ONLY_SKIPPED', 'TYPO']);
    expect(result.warnings).toContainEqual('build args ONLY_SKIPPED, TYPO not consumed: no ARG instruction in the stages built declares them');
    expect([...result.proxyArgs]).toEqual([
      ['HTTP_PROXY', 'http://proxy:3128'],
      ['no_proxy', 'localhost'],
    ]);
  });
});

/** Walks a stage the way the executor does: ARG through StageArgs, ENV into `env`, other words expanded. */
function walk(result: BuildPlan, stageIndex: number, startEnv: Record<string, string> = {}): { seen: string[]; args: StageArgs } {
  const stage = result.stages[stageIndex]!;
  const args = new StageArgs(result, result.dockerfile.escapeToken);
  const env = new Map(Object.entries(startEnv));
  const seen: string[] = [];
  for (const instruction of stage.stage.instructions as StageInstruction[]) {
    if (instruction.keyword === 'ARG') {
      args.declare(instruction as ArgInstruction, env);
      continue;
    }
    const expanded = expandInstruction(instruction, args.expansionEnv(env), result.dockerfile).instruction;
    if (expanded.keyword === 'ENV') for (const pair of expanded.pairs) env.set(pair.key, pair.value);
    if (expanded.keyword === 'WORKDIR') seen.push(expanded.path);
  }
  return { seen, args };
}

describe('StageArgs: ARG scoping along a stage', () => {
  const text = `ARG VERSION=1.0
FROM alpine:\${VERSION} AS first
WORKDIR /v=\${VERSION}
ARG VERSION
WORKDIR /v=\${VERSION}
ARG LOCAL=local-\${VERSION}
WORKDIR /\${LOCAL}
FROM alpine AS second
WORKDIR /v=\${VERSION}/local=\${LOCAL}
ARG TARGETARCH
ARG LOCAL
WORKDIR /\${TARGETARCH}/\${LOCAL:-unset}
`;

  it('a meta ARG is usable in FROM but must be re-declared inside a stage', () => {
    const result = plan(text);
    expect(result.stages[0]!.baseName).toBe('alpine:1.0');
    expect(walk(result, 0).seen).toEqual(['/v=', '/v=1.0', '/local-1.0']);
  });

  it('an ARG is visible only until the end of its stage; platform args need a bare ARG', () => {
    const result = plan(text, { platform: arm64 });
    expect(walk(result, 1).seen).toEqual(['/v=/local=', '/arm64/unset']);
  });

  it('build args override defaults and global values', () => {
    const result = plan(text, { buildArgs: { VERSION: '2.0', LOCAL: 'cli' } });
    expect(result.stages[0]!.baseName).toBe('alpine:2.0');
    expect(walk(result, 0).seen).toEqual(['/v=', '/v=2.0', '/cli']);
    expect(walk(result, 1).seen).toEqual(['/v=/local=', `/${result.platform.architecture}/cli`]);
  });

  it('ENV wins over an ARG of the same name, and ARG defaults see ENV and earlier ARGs', () => {
    const result = plan('FROM alpine\nARG A=from-arg\nENV A=from-env\nWORKDIR /$A\nARG B=${A}+${HOME}\nWORKDIR /$B\n');
    expect(walk(result, 0, { HOME: '/root' }).seen).toEqual(['/from-env', '/from-env+/root']);
  });

  it('records what each ARG resolved to, and keeps a value when re-declared bare', () => {
    const result = plan('FROM alpine\nARG A=1 B\nARG A\n');
    const args = new StageArgs(result);
    const [first, second] = result.target.stage.instructions as ArgInstruction[];
    expect(args.declare(first!, {})).toEqual([{ name: 'A', value: '1' }, { name: 'B' }]);
    expect(args.declare(second!, {})).toEqual([{ name: 'A' }]);
    expect([...args.entries]).toEqual([['A', '1']]);
    expect(args.names).toEqual(['A', 'B']);
    expect(args.has('B')).toBe(true);
    expect(args.has('C')).toBe(false);
  });
});
