import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { sqliteDriver } from './sqlite-driver.js';
import { sqliteLoads, sqliteSkipReason } from './test/sqlite-loads.js';
import { describeOutboxDriverContract } from './testing.js';

let dir: string | undefined;
let file = '';

if (!sqliteLoads) {
  describe('sqliteDriver (outbox driver contract)', () => {
    it.skip(sqliteSkipReason, () => {});
  });
} else
  describeOutboxDriverContract('sqliteDriver', {
    open: () => {
      dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-'));
      file = join(dir, 'data', 'outbox.db');
      // 'normal' keeps the suite fast; the kill -9 test runs the default, 'full'
      return sqliteDriver({ path: file, synchronous: 'normal' });
    },
    reopen: () => sqliteDriver({ path: file, synchronous: 'normal' }),
    cleanup: () => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  });
