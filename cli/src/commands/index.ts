import { registerAnalyze } from './analyze.js';
import { registerBuild } from './build.js';
import { registerCheck } from './check.js';
import { registerDf } from './df.js';
import { registerHistory } from './history.js';
import { registerImages } from './images.js';
import { registerImport } from './import.js';
import { registerInspect } from './inspect.js';
import { registerLoad } from './load.js';
import { registerLogin } from './login.js';
import { registerLogout } from './logout.js';
import { registerPrune } from './prune.js';
import { registerPull } from './pull.js';
import { registerPush } from './push.js';
import { registerRmi } from './rmi.js';
import { registerRun } from './run.js';
import { registerSave } from './save.js';
import { registerTag } from './tag.js';
import { registerUnpack } from './unpack.js';
import type { RegisterCommand } from './types.js';

/** A subcommand: the names it answers to (its name and aliases) and how to add it to the program. */
export interface CommandEntry {
  readonly names: readonly string[];
  readonly register: RegisterCommand;
}

/** Every subcommand, in the order `--help` lists them; `build` is the default command. */
export const commands: readonly CommandEntry[] = [
  { names: ['build'], register: registerBuild },
  { names: ['images', 'ls'], register: registerImages },
  { names: ['inspect'], register: registerInspect },
  { names: ['history'], register: registerHistory },
  { names: ['tag'], register: registerTag },
  { names: ['rmi'], register: registerRmi },
  { names: ['prune'], register: registerPrune },
  { names: ['save'], register: registerSave },
  { names: ['load'], register: registerLoad },
  { names: ['import'], register: registerImport },
  { names: ['unpack'], register: registerUnpack },
  { names: ['analyze'], register: registerAnalyze },
  { names: ['run'], register: registerRun },
  { names: ['pull'], register: registerPull },
  { names: ['push'], register: registerPush },
  { names: ['login'], register: registerLogin },
  { names: ['logout'], register: registerLogout },
  { names: ['df'], register: registerDf },
  { names: ['check'], register: registerCheck },
];
