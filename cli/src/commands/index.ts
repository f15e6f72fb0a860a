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

/** Every subcommand, in the order `--help` lists them. */
export const commands: readonly RegisterCommand[] = [
  registerBuild,
  registerImages,
  registerInspect,
  registerHistory,
  registerTag,
  registerRmi,
  registerPrune,
  registerSave,
  registerLoad,
  registerImport,
  registerUnpack,
  registerAnalyze,
  registerRun,
  registerPull,
  registerPush,
  registerLogin,
  registerLogout,
  registerDf,
  registerCheck,
];
