import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

describe('@tracks/outbox entry point', () => {
  it('does not load better-sqlite3 until sqliteDriver() is used', async () => {
    // the entry point bundled as published (dependencies left as imports), run in a fresh Node
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
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: join(here, '..'),
      encoding: 'utf8',
    });
    expect(JSON.parse(output)).toEqual({ before: false, afterCreate: false, afterUse: true });
  });
});
