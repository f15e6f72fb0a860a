/**
 * `@tsbuild/builder`: Dockerfile builds. The front end (`dockerfile`: parser, word expansion, stage planning),
 * RUN isolation (`run`), and the executor (`buildImage`, `runImage`).
 * @packageDocumentation
 */
export * as dockerfile from './dockerfile/index.js';
export * from './executor/index.js';
export * from './import/index.js';
