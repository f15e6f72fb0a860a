/**
 * `@tsbuild/builder`: the Dockerfile front end (parser, word expansion, stage planning).
 * @packageDocumentation
 */
export * as dockerfile from './dockerfile/index.js';
