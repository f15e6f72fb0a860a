import { TsbuildError } from '@tsbuild/oci';
import type { Instruction } from '../dockerfile/index.js';

/** Where an error points: the instruction's file, line and text. */
export type ErrorLocation = Pick<Instruction, 'file' | 'startLine' | 'original'>;

/** A build step that failed: the message starts with `Dockerfile:LINE` and names the instruction. */
export class BuildError extends TsbuildError {
  /** The last lines the step printed, when it ran a command. */
  readonly outputTail: readonly string[];

  constructor(instruction: ErrorLocation | undefined, message: string, options: { cause?: unknown; outputTail?: readonly string[] } = {}) {
    const where = instruction ? `${instruction.file}:${instruction.startLine}: ` : '';
    const tail = options.outputTail && options.outputTail.length > 0 ? `\n${options.outputTail.map((line) => `  > ${line}`).join('\n')}` : '';
    super('BUILD_FAILED', `${where}${message}${tail}`, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.outputTail = options.outputTail ?? [];
  }
}
