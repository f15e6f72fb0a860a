// Prints the plain "N passed, N failed" line CI reads, from vitest's JSON report.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'test-results/vitest.json';
let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A test file that fails to load has no failed tests of its own: count the file.
  if (report.success === false && failed === 0) failed = Math.max(1, report.numFailedTestSuites ?? 0);
} catch (err) {
  console.log(`no test report at ${path}: ${err.message} (the build or the test run failed before any test ran)`);
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
