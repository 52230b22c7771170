import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Whether better-sqlite3 (an optional peer that compiles with node-gyp) loads on this machine.
 * Probed in a child process, so no native Database lives in the test worker. Where it does not
 * load, the SQLite tests say they skipped and why — except under `CI=true`, where they run and
 * fail, since CI is meant to prove the SQLite driver.
 */
export const sqliteLoads: boolean = (() => {
  const probe = spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
  });
  if (probe.status === 0) return true;
  if (process.env.CI === 'true') return true;
  const why = (probe.stderr || probe.error?.message || '').split('\n').find((line) => /Error/.test(line));
  console.warn(
    `sqlite outbox tests skipped: better-sqlite3 does not load here (${why?.trim() ?? 'no build'})`,
  );
  return false;
})();

/** The reason shown on the skipped placeholder test. */
export const sqliteSkipReason =
  'better-sqlite3 does not load here (it needs a C++ toolchain to build); the SQLite tests are skipped';
