#!/usr/bin/env node
// `pnpm demo`: builds the workspace and starts the demo app (apps/demo). Until the demo app
// exists it runs the breaker example instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };

const demo = join(root, 'apps', 'demo', 'dist', 'main.js');
console.log(
  existsSync(demo)
    ? 'tracks: building the workspace (cached after the first run)…'
    : 'tracks: building the workspace; the first run compiles every package and takes about a minute…',
);
const build = spawnSync(
  join(root, 'node_modules', '.bin', 'turbo'),
  ['run', 'build', '--output-logs=errors-only'],
  {
    cwd: root,
    stdio: 'inherit',
    env,
  },
);
if (build.status !== 0) process.exit(build.status ?? 1);

const entry = existsSync(demo) ? demo : join(root, 'examples', 'breaker-demo.mjs');
const child = spawn(process.execPath, [entry], { cwd: root, stdio: 'inherit', env });
// The demo shuts down gracefully on SIGTERM/SIGINT: pass them on, so that stopping this
// launcher (or the pnpm/npx above it) never leaves the server running on its own.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
// npx and pnpm do not always pass a SIGTERM on to their children: if whoever started us is gone,
// stop the demo rather than leave it serving on its own.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid !== parent) child.kill('SIGTERM');
}, 1000);
child.on('exit', (code) => {
  clearInterval(watch);
  process.exit(code ?? 1);
});
