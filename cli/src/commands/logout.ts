import { println } from '../io.js';
import { registryModule } from '../lazy.js';
import { registryHost } from './login.js';
import type { RegisterCommand } from './types.js';

/** `tsbuild logout REGISTRY`. */
export const registerLogout: RegisterCommand = (program, io) =>
  program
    .command('logout')
    .description('Log out of a registry: remove its stored credentials')
    .argument('<registry>', 'registry host, e.g. localhost:5000')
    .option('--authfile <file>', 'auth file to remove the credentials from (default: the one login writes)')
    .action(async (registryArg: string, options: { authfile?: string }) => {
      const { logout } = await registryModule();
      const registry = registryHost(registryArg);
      const removed = await logout(registry, options.authfile !== undefined ? { authfile: options.authfile } : {});
      println(io.stdout, removed ? `Removed login credentials for ${registry}` : `Not logged in to ${registry}`);
    });
