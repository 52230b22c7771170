import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { sqliteLoads } from './test/sqlite-loads.js';

const here = dirname(fileURLToPath(import.meta.url));

// the entry point bundled as published (dependencies left as imports), for a fresh Node to import
async function bundleEntry(): Promise<string> {
  const out = join(here, '..', 'node_modules', '.cache', 'tracks-outbox-test');
  mkdirSync(out, { recursive: true });
  const outfile = join(out, `index-${process.pid}.mjs`);
  await build({
    entryPoints: [join(here, 'index.ts')],
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

function run(probe: string): unknown {
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
    cwd: join(here, '..'),
    encoding: 'utf8',
    timeout: 10_000,
  });
  return JSON.parse(output);
}

describe('@tracks/outbox entry point', () => {
  it.skipIf(!sqliteLoads)('does not load better-sqlite3 until sqliteDriver() is used', async () => {
    const outfile = await bundleEntry();
    const probe = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('better-sqlite3'));
      const outbox = await import(${JSON.stringify(outfile)});
      const before = loaded();
      const driver = outbox.sqliteDriver({ path: ':memory:' });
      const afterCreate = loaded();
      await driver.counts();
      const afterUse = loaded();
      await driver.close();
      console.log(JSON.stringify({ before, afterCreate, afterUse }));
    `;
    expect(run(probe)).toEqual({ before: false, afterCreate: false, afterUse: true });
  });

  it('does not load bullmq (nor ioredis) until bullmqDriver() is used', async () => {
    const outfile = await bundleEntry();
    // nothing listens on port 1: the first call fails, after loading BullMQ to make it
    const probe = `
      import { createRequire } from 'node:module';
      const cache = () => Object.keys(createRequire(import.meta.url).cache);
      const loaded = (name) => cache().some((k) => k.includes('/node_modules/' + name + '/'));
      const outbox = await import(${JSON.stringify(outfile)});
      const before = [loaded('bullmq'), loaded('ioredis')];
      const driver = outbox.bullmqDriver({
        connection: { host: '127.0.0.1', port: 1, retryStrategy: () => null, maxRetriesPerRequest: 0 },
      });
      const afterCreate = [loaded('bullmq'), loaded('ioredis')];
      const failed = await driver.counts(['email']).then(() => false, () => true);
      const afterUse = [loaded('bullmq'), loaded('ioredis')];
      await driver.close();
      console.log(JSON.stringify({ before, afterCreate, failed, afterUse }));
    `;
    expect(run(probe)).toEqual({
      before: [false, false],
      afterCreate: [false, false],
      failed: true,
      afterUse: [true, true],
    });
  });
});
