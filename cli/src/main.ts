import { processIO } from './io.js';
import { CommandFailed, runCli } from './program.js';

// The launcher (bin/tsbuild) started Node without NODE_EXTRA_CA_CERTS; the registry client reads the deferred name
// itself. Processes tsbuild starts get the variable as it was.
const deferredCaCerts = process.env.TSBUILD_DEFERRED_NODE_EXTRA_CA_CERTS;
if (deferredCaCerts) process.env.NODE_EXTRA_CA_CERTS ??= deferredCaCerts;

const controller = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort(new CommandFailed('interrupted', 130));
  });
}
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

void runCli(process.argv.slice(2), processIO(), controller.signal).then((code) => {
  process.exitCode = code;
});
