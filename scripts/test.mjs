#!/usr/bin/env node
// The one test command: builds what the tests import, runs every package's tests in one vitest
// run, and ends with the plain total `N passed, N failed, N skipped` on a line of its own.
// It fails when any test fails and when no test ran at all: a suite that silently runs nothing
// proves nothing. Extra arguments go to vitest (`pnpm test packages/breaker`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: process.env.FORCE_COLOR ?? '0' };

console.log(`tracks: testing on Node ${process.version}`);
if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) {
  // a fresh clone: install first, with the pnpm that runs this script
  const pnpm = process.env.npm_execpath;
  const install = pnpm
    ? spawnSync(process.execPath, [pnpm, 'install', '--frozen-lockfile'], {
        cwd: root,
        stdio: 'inherit',
        env,
      })
    : spawnSync('npx', ['-y', 'pnpm@10.34.9', 'install', '--frozen-lockfile'], {
        cwd: root,
        stdio: 'inherit',
        env,
      });
  if (install.status !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
const build = spawnSync(bin('turbo'), ['run', 'build', '--output-logs=errors-only'], {
  cwd: root,
  stdio: 'inherit',
  env,
});
if (build.status !== 0) {
  console.error('tracks: the build failed, so no test ran');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'tracks-test-'));
const report = join(dir, 'report.json');
const run = spawnSync(
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env },
);

let totals;
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  totals = {
    passed: json.numPassedTests,
    failed: json.numFailedTests + (json.numRuntimeErrorTestSuites ?? 0),
    skipped: json.numPendingTests + json.numTodoTests,
  };
  // tests that were collected but never reported (a crashed worker takes its file with it)
  const unreported = json.numTotalTests - totals.passed - json.numFailedTests - totals.skipped;
  if (unreported > 0) {
    console.error(`tracks: ${unreported} tests were collected but never ran to an outcome`);
    totals.failed += unreported;
  }
  for (const file of json.testResults) {
    if (file.status === 'failed' && file.assertionResults.every((a) => a.status !== 'failed')) {
      console.error(`tracks: ${file.name} failed to run: ${file.message.split('\n')[0]}`);
      totals.failed += 1;
    }
  }
  if (json.success === false && totals.failed === 0) {
    console.error('tracks: vitest reported errors outside any test (see "Unhandled Errors" above)');
    totals.failed = 1;
  }
} catch (error) {
  console.error(`tracks: vitest wrote no report (${error.message})`);
  totals = { passed: 0, failed: 1, skipped: 0 };
}
rmSync(dir, { recursive: true, force: true });

let status = run.status ?? 1;
if (totals.passed === 0) {
  console.error('tracks: no test passed; a run that proves nothing is a failure');
  status = 1;
}
if (totals.failed > 0) status = 1;
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(status);
