/**
 * The typed instruction model. Words are kept **unexpanded** (quotes and `$VAR` as written): ENV and ARG change
 * what they expand to along a stage, so expansion happens at execution time (`expandInstruction`).
 */
import type { Heredoc } from './heredoc.js';

/** Every Dockerfile instruction keyword, upper-case. */
export type Keyword =
  | 'ADD'
  | 'ARG'
  | 'CMD'
  | 'COPY'
  | 'ENTRYPOINT'
  | 'ENV'
  | 'EXPOSE'
  | 'FROM'
  | 'HEALTHCHECK'
  | 'LABEL'
  | 'MAINTAINER'
  | 'ONBUILD'
  | 'RUN'
  | 'SHELL'
  | 'STOPSIGNAL'
  | 'USER'
  | 'VOLUME'
  | 'WORKDIR';

/** What every instruction carries: its keyword, its source text and where it is. */
export interface InstructionBase<K extends Keyword> {
  /** The keyword, upper-case whatever case the file used. */
  readonly keyword: K;
  /**
   * The instruction as one logical line, as BuildKit keeps it for history (`created_by`): physical lines joined
   * with the continuation escapes removed and comment lines dropped, heredoc bodies not included. Keyword case as
   * written, e.g. `RUN apt-get update &&     apt-get install -y git`.
   */
  readonly original: string;
  /** The Dockerfile's name as given to the parser. */
  readonly file: string;
  /** First line (1-based). */
  readonly startLine: number;
  /** Last line (1-based), including heredoc bodies. */
  readonly endLine: number;
}

/** A shell-form command: one string run through the stage's SHELL (default `/bin/sh -c`). */
export interface ShellFormCommand {
  readonly form: 'shell';
  /** The command text, unexpanded (the shell expands it). */
  readonly command: string;
}

/** An exec-form command: a JSON array used as the argv as is. */
export interface ExecFormCommand {
  readonly form: 'exec';
  /** The argv, decoded from JSON. May be empty (`CMD []`). */
  readonly command: readonly string[];
}

/** The command of RUN, CMD, ENTRYPOINT and `HEALTHCHECK CMD`. */
export type CommandLine = ShellFormCommand | ExecFormCommand;

/** `FROM [--platform=…] image [AS name]`. */
export interface FromInstruction extends InstructionBase<'FROM'> {
  /** The base: an image reference, `scratch`, or the name of an earlier stage (unexpanded). */
  readonly image: string;
  /** The `--platform` value (unexpanded). */
  readonly platform?: string;
  /** The stage name after `AS`, lower-cased. */
  readonly alias?: string;
}

/** RUN's network mode (`--network`). */
export type RunNetwork = 'default' | 'none' | 'host';

/** RUN's security mode (`--security`). */
export type RunSecurity = 'sandbox' | 'insecure';

/** The flags and heredocs of RUN; see {@link RunInstruction}. */
export interface RunOptions extends InstructionBase<'RUN'> {
  /**
   * Heredocs that follow the line. When the command is exactly one heredoc operator (`RUN <<EOF`), BuildKit runs
   * its content as the script; otherwise the command with each body appended (`\n` + content + name) goes to the
   * shell.
   */
  readonly heredocs: readonly Heredoc[];
  /**
   * The `--mount` specs as written (`type=cache,target=/root/.cache`), checked for syntax. Their values are
   * expanded at execution time: use `expandRunMounts` to get typed mounts.
   */
  readonly mounts: readonly string[];
  /** `--network`, when given. */
  readonly network?: RunNetwork;
  /** `--security`, when given. */
  readonly security?: RunSecurity;
}

/** `RUN [--mount=…] [--network=…] [--security=…] command` (shell form, exec form or heredoc). */
export type RunInstruction = RunOptions & CommandLine;

/** `CMD command` (shell or exec form). */
export type CmdInstruction = InstructionBase<'CMD'> & CommandLine;

/** `ENTRYPOINT command` (shell or exec form). */
export type EntrypointInstruction = InstructionBase<'ENTRYPOINT'> & CommandLine;

/** What COPY and ADD share. */
export interface SourcesAndDest {
  /** Source paths (context paths, URLs for ADD, or paths in `--from`), unexpanded. */
  readonly sources: readonly string[];
  /** Inline files from heredoc sources (`COPY <<EOF /dst`): each creates a file named after its delimiter. */
  readonly heredocs: readonly Heredoc[];
  /** The destination, unexpanded. */
  readonly dest: string;
  /** True when written in JSON form (`COPY ["a b", "/dst/"]`). */
  readonly json: boolean;
  /** `--chown=user[:group]`. */
  readonly chown?: string;
  /** `--chmod=mode`. */
  readonly chmod?: string;
  /** `--link`. */
  readonly link: boolean;
  /** `--exclude=pattern` (repeatable). */
  readonly excludes: readonly string[];
}

/** `COPY [--from=…] [--chown=…] [--chmod=…] [--link] [--parents] [--exclude=…] src… dest`. */
export interface CopyInstruction extends InstructionBase<'COPY'>, SourcesAndDest {
  /** `--from=<stage name | stage index | image>`, unexpanded. */
  readonly from?: string;
  /** `--parents`. */
  readonly parents: boolean;
}

/** `ADD [--chown=…] [--chmod=…] [--link] [--checksum=…] [--keep-git-dir] [--unpack] [--exclude=…] src… dest`. */
export interface AddInstruction extends InstructionBase<'ADD'>, SourcesAndDest {
  /** `--checksum=sha256:…` for a URL source. */
  readonly checksum?: string;
  /** `--keep-git-dir`. */
  readonly keepGitDir: boolean;
  /** `--unpack[=true|false]`, when given. */
  readonly unpack?: boolean;
}

/** A `name=value` pair of ENV or LABEL, both unexpanded with their quotes. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** `ENV k=v …` or the legacy `ENV k v w`. */
export interface EnvInstruction extends InstructionBase<'ENV'> {
  readonly pairs: readonly KeyValue[];
}

/** `LABEL k=v …`. */
export interface LabelInstruction extends InstructionBase<'LABEL'> {
  readonly pairs: readonly KeyValue[];
}

/** One name of an ARG instruction. */
export interface ArgDeclaration {
  /** The name, unexpanded. */
  readonly name: string;
  /** The default after `=`, unexpanded with its quotes; absent for a bare `ARG name`. */
  readonly default?: string;
}

/** `ARG name[=default] …`. */
export interface ArgInstruction extends InstructionBase<'ARG'> {
  readonly args: readonly ArgDeclaration[];
}

/** `EXPOSE port[/proto] …`. */
export interface ExposeInstruction extends InstructionBase<'EXPOSE'> {
  readonly ports: readonly string[];
}

/** `VOLUME path …` or `VOLUME ["path", …]`. */
export interface VolumeInstruction extends InstructionBase<'VOLUME'> {
  readonly volumes: readonly string[];
}

/** `USER user[:group]`. */
export interface UserInstruction extends InstructionBase<'USER'> {
  readonly user: string;
}

/** `WORKDIR path`. */
export interface WorkdirInstruction extends InstructionBase<'WORKDIR'> {
  readonly path: string;
}

/** `STOPSIGNAL signal`. */
export interface StopSignalInstruction extends InstructionBase<'STOPSIGNAL'> {
  readonly signal: string;
}

/** `MAINTAINER name` (deprecated; sets the image author). */
export interface MaintainerInstruction extends InstructionBase<'MAINTAINER'> {
  readonly maintainer: string;
}

/** `SHELL ["executable", "param", …]` (JSON form only). */
export interface ShellInstruction extends InstructionBase<'SHELL'> {
  readonly shell: readonly string[];
}

/** `HEALTHCHECK NONE`: disables any health check inherited from the base image. */
export interface HealthcheckNone {
  readonly kind: 'none';
  /** `["NONE"]`, as the image config stores it. */
  readonly test: readonly string[];
}

/** `HEALTHCHECK [options] CMD command`. */
export interface HealthcheckCommand {
  readonly kind: 'cmd';
  /** `["CMD", argv…]` for the exec form or `["CMD-SHELL", command]` for the shell form, as the image config stores it. */
  readonly test: readonly string[];
  /** The command as written. */
  readonly command: CommandLine;
  /** `--interval` in nanoseconds (0 = inherit the default). */
  readonly interval?: number;
  /** `--timeout` in nanoseconds. */
  readonly timeout?: number;
  /** `--start-period` in nanoseconds. */
  readonly startPeriod?: number;
  /** `--start-interval` in nanoseconds. */
  readonly startInterval?: number;
  /** `--retries`. */
  readonly retries?: number;
}

/** `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD command`. */
export interface HealthcheckInstruction extends InstructionBase<'HEALTHCHECK'> {
  readonly health: HealthcheckNone | HealthcheckCommand;
}

/** `ONBUILD <instruction>`: stored in the image config and run when the image is used as a base. */
export interface OnbuildInstruction extends InstructionBase<'ONBUILD'> {
  /**
   * The trigger as the image config's `OnBuild` list stores it: the text after `ONBUILD`, with heredoc bodies
   * appended (`\n` + content + delimiter). `parseInstruction(expression)` turns it back into an instruction.
   */
  readonly expression: string;
  /** The trigger, parsed. */
  readonly trigger: Instruction;
}

/** Any instruction. Narrow on `keyword`. */
export type Instruction =
  | AddInstruction
  | ArgInstruction
  | CmdInstruction
  | CopyInstruction
  | EntrypointInstruction
  | EnvInstruction
  | ExposeInstruction
  | FromInstruction
  | HealthcheckInstruction
  | LabelInstruction
  | MaintainerInstruction
  | OnbuildInstruction
  | RunInstruction
  | ShellInstruction
  | StopSignalInstruction
  | UserInstruction
  | VolumeInstruction
  | WorkdirInstruction;

/** Instructions that may follow FROM inside a stage. */
export type StageInstruction = Exclude<Instruction, FromInstruction>;
