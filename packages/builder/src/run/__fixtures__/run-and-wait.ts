// Run by a test as its own Node process (with the TypeScript loader): starts one RUN from the JSON options in
// argv[2], its output on this process's stdout, and waits; the test then kills this process with SIGKILL.
import { runInSnapshot } from '../run-in-snapshot.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof runInSnapshot>[0];
await runInSnapshot({ ...options, stdout: process.stdout, stderr: process.stderr });
