/**
 * `@tsbuild/cli`: the `tsbuild` command line. `runCli(argv, io)` runs it without exiting the process.
 * @packageDocumentation
 */
export { runCli, createProgram, ExitCode, CommandFailed } from './program.js';
export { processIO, type CliIO } from './io.js';
