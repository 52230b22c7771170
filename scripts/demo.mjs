#!/usr/bin/env node
// `pnpm demo`: builds the workspace and starts the demo app (apps/demo). Until the demo app
// exists it runs the breaker example instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
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

const demo = join(root, 'apps', 'demo', 'dist', 'main.js');
const entry = existsSync(demo) ? demo : join(root, 'examples', 'breaker-demo.mjs');
const child = spawnSync(process.execPath, [entry], { cwd: root, stdio: 'inherit', env });
process.exit(child.status ?? 1);
