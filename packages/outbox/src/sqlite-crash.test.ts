import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { createOutbox } from './outbox.js';
import { sqliteDriver } from './sqlite-driver.js';
import { sqliteLoads } from './test/sqlite-loads.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-crash-'));

// the child runs this package's sources, bundled, with better-sqlite3 and @tracks/breaker left as
// imports; it goes under this package's node_modules so that those resolve as they do here
async function bundleChild(): Promise<string> {
  const out = join(here, '..', 'node_modules', '.cache', 'tracks-outbox-test');
  mkdirSync(out, { recursive: true });
  const outfile = join(out, `crash-child-${process.pid}.mjs`);
  await build({
    entryPoints: [join(here, 'test', 'crash-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

const lines = (file: string): number[] => {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return [];
  }
};

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!sqliteLoads)('sqliteDriver under kill -9', () => {
  it('loses no accepted message when the process is killed mid-batch', async () => {
    const script = await bundleChild();
    const dbPath = join(dir, 'outbox.db');
    const logPath = join(dir, 'delivered-by-child.log');
    const child = fork(script, [dbPath, logPath], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = once(child, 'exit');
    const accepted = new Set<number>();
    child.on('message', (m: { n: number }) => accepted.add(m.n));
    const deadline = Date.now() + 10_000;
    while ((accepted.size < 100 || lines(logPath).length < 20) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    expect(accepted.size).toBeGreaterThanOrEqual(100);
    const byChild = lines(logPath);
    expect(byChild.length).toBeGreaterThanOrEqual(20);

    const integrity = new Sqlite(dbPath, { readonly: true });
    expect(integrity.pragma('integrity_check', { simple: true })).toBe('ok');
    integrity.close();

    // a new process takes over once the dead one's leases have ended (its clock is past them)
    const byRecovery: number[] = [];
    const recovery = createOutbox({
      driver: sqliteDriver({ path: dbPath }),
      handlers: { email: (m: { n: number }) => void byRecovery.push(m.n) },
      concurrency: 100,
      now: () => Date.now() + 120_000,
    });
    while ((await recovery.tick()) > 0) {}
    const stats = await recovery.stats();
    await recovery.stop();

    expect(stats.pending + stats.inflight + stats.dead).toBe(0);
    expect(stats.delivered).toBeGreaterThanOrEqual(accepted.size);
    const delivered = new Set([...byChild, ...byRecovery]);
    for (const n of accepted)
      expect(delivered.has(n), `message ${n} was accepted but never delivered`).toBe(true);
    // duplicates only from the jobs that were in flight when the process died
    const twice = byRecovery.filter((n) => byChild.includes(n));
    expect(twice.length).toBeLessThanOrEqual(4);
    expect(new Set(byChild).size).toBe(byChild.length);
  });
});
