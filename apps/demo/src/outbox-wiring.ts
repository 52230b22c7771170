import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exponentialBackoff } from '@tracks/breaker';
import { type EmailAdapter, type EmailMessage, validateEmailMessage } from '@tracks/email';
import { createOutbox, memoryDriver, type Outbox, type OutboxDriver, sqliteDriver } from '@tracks/outbox';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';

/** The demo's email outbox: one `email` queue, delivered through the resilient adapter. */
export type EmailOutbox = Outbox<{
  email: { deliver: (msg: EmailMessage, ctx: { signal: AbortSignal }) => Promise<unknown> };
}>;

/** What {@link wireOutbox} needs. */
export interface OutboxWiringOptions {
  readonly config: Config;
  readonly now: () => number;
  readonly log: FastifyBaseLogger;
  /** Makes the sqlite driver; tests pass one that cannot load. @default sqliteDriver */
  readonly sqliteDriver?: (options: { path: string }) => OutboxDriver;
}

/**
 * Builds the email outbox on SQLite (`OUTBOX_DB_PATH`), or on memory when `OUTBOX_DRIVER=memory`
 * or when better-sqlite3 cannot be loaded (it is an optional dependency that compiles with
 * node-gyp: a machine without a C++ toolchain still runs the demo, and says what it loses).
 *
 * The handler calls `guarded` — the adapter with validation, retry, breaker and failover — so a
 * queued message goes through the same breaker as a direct send: while it is open, the worker
 * waits for its `retryAfterMs` without using up attempts.
 */
export async function wireOutbox(guarded: EmailAdapter, options: OutboxWiringOptions): Promise<EmailOutbox> {
  const { config, now } = options;
  const driver = await openDriver(options);
  return createOutbox({
    name: 'email',
    driver,
    now,
    handlers: {
      email: {
        deliver: (msg: EmailMessage, ctx) => guarded.send(msg, { signal: ctx.signal }),
        validate: (msg: EmailMessage) => validateEmailMessage(msg),
      },
    },
    // a person watching the dashboard sees queued mail go out within half a minute of a recovery
    retry: {
      backoff: exponentialBackoff({ initial: 1_000, factor: 2, max: 30_000, jitter: 'equal' }),
      maxAttempts: config.outbox.maxAttempts,
    },
    concurrency: 4,
    // above a delivery's longest call: the policy's whole retry budget plus one attempt
    leaseMs: Math.max(30_000, config.maxElapsedMs + 2 * config.providerTimeoutMs),
  });
}

async function openDriver(options: OutboxWiringOptions): Promise<OutboxDriver> {
  const { config, log } = options;
  if (config.outbox.driver === 'memory') {
    log.info('outbox: memory driver (OUTBOX_DRIVER=memory), queued mail is lost on restart');
    return memoryDriver();
  }
  const make = options.sqliteDriver ?? sqliteDriver;
  keepOutOfGit(config.outbox.path);
  const driver = make({ path: config.outbox.path });
  try {
    // the driver loads better-sqlite3 and opens the file on its first operation
    await driver.counts();
    log.info({ path: config.outbox.path }, `outbox: sqlite driver at ${config.outbox.path}`);
    return driver;
  } catch (error) {
    await driver.close().catch(() => undefined);
    const what = /better-sqlite3/i.test(String((error as Error)?.message))
      ? 'better-sqlite3 unavailable'
      : `sqlite at ${config.outbox.path} failed`;
    log.warn(`outbox: ${what} (${reason(error)}); using the memory driver, queued mail is lost on restart`);
    return memoryDriver();
  }
}

// `pnpm demo` runs in the repository: a folder the demo creates for its database ignores itself,
// as pytest's and virtualenv's do, so queued mail never shows up as a change to commit. A folder
// that exists already is the user's, and left alone.
function keepOutOfGit(path: string): void {
  if (path === ':memory:') return;
  const folder = dirname(path);
  if (existsSync(folder)) return;
  try {
    mkdirSync(folder, { recursive: true });
    writeFileSync(`${folder}/.gitignore`, '# made by the tracks demo: its outbox database, not source\n*\n');
  } catch {
    // the driver reports what is wrong with the path
  }
}

// the innermost cause says what is missing ("Cannot find package 'better-sqlite3'", a bad ABI)
function reason(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  const message = current instanceof Error ? current.message : String(current);
  return message.split('\n')[0]?.slice(0, 200) ?? 'unknown error';
}
