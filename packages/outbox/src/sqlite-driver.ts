import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  ClaimRequest,
  DeadReason,
  EnqueueResult,
  JobCounts,
  JobState,
  ListRequest,
  NewJob,
  OutboxDriver,
  Reschedule,
  StoredJob,
} from './driver.js';

/** Options of {@link sqliteDriver}. */
export interface SqliteDriverOptions {
  /** The database file (created with its directory if missing), or `':memory:'`. */
  path: string;
  /**
   * The table that holds the jobs (letters, digits and `_`).
   * @default 'outbox_jobs'
   */
  table?: string;
  /**
   * SQLite's `synchronous` setting. `'full'` syncs every commit to disk: an accepted job survives
   * a power cut. `'normal'` (in WAL mode) survives a crash of the process, not of the machine,
   * and commits several times faster.
   * @default 'full'
   */
  synchronous?: 'full' | 'normal';
  /**
   * How long a statement waits for another process's write lock before failing, in ms.
   * @default 5_000
   */
  busyTimeoutMs?: number;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * An outbox driver on SQLite through `better-sqlite3` 12 (an optional peer dependency, loaded
 * on first use: importing `@tracks/outbox` never loads it). WAL mode; every state change is one
 * statement or one transaction; leases are timestamps, so several processes can share the file
 * and a killed process's jobs are claimed again when their leases end.
 *
 * @example
 * const outbox = createOutbox({ driver: sqliteDriver({ path: './.tracks-data/outbox.db' }), handlers });
 */
export function sqliteDriver(options: SqliteDriverOptions): OutboxDriver {
  if (typeof options?.path !== 'string' || options.path.length === 0) {
    throw new TypeError('sqliteDriver: path must be a file path or ":memory:"');
  }
  const table = options.table ?? 'outbox_jobs';
  if (!TABLE_NAME.test(table))
    throw new TypeError(`sqliteDriver: table ${JSON.stringify(table)} is not a plain name`);
  const synchronous = options.synchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal') {
    throw new TypeError("sqliteDriver: synchronous must be 'full' or 'normal'");
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new TypeError('sqliteDriver: busyTimeoutMs must be a whole number of ms >= 0');
  }
  return new SqliteDriver(options.path, table, synchronous, busyTimeoutMs);
}

interface Row {
  id: string;
  queue: string;
  payload: string;
  idempotency_key: string | null;
  state: JobState;
  attempts: number;
  ambiguous: number;
  run_at: number;
  lease_until: number | null;
  lease: number;
  created_at: number;
  updated_at: number;
  purge_at: number | null;
  last_error: string | null;
  dead_reason: DeadReason | null;
}

type Statement = BetterSqlite3.Statement;

class SqliteDriver implements OutboxDriver {
  readonly name = 'sqlite';
  readonly #path: string;
  readonly #table: string;
  readonly #synchronous: string;
  readonly #busyTimeoutMs: number;
  #db: Promise<Database> | undefined;
  #closed = false;

  constructor(path: string, table: string, synchronous: string, busyTimeoutMs: number) {
    this.#path = path;
    this.#table = table;
    this.#synchronous = synchronous;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  #open(): Promise<Database> {
    if (this.#closed) return Promise.reject(new Error('sqliteDriver: closed'));
    this.#db ??= Database.open(this.#path, this.#table, this.#synchronous, this.#busyTimeoutMs);
    return this.#db;
  }

  async enqueue(job: NewJob): Promise<EnqueueResult> {
    return (await this.#open()).enqueue(job);
  }

  async claim(request: ClaimRequest): Promise<StoredJob[]> {
    const db = await this.#open();
    if (request.limit <= 0 || request.queues.length === 0) return [];
    const rows = db.claim.all({
      queues: JSON.stringify(request.queues),
      now: request.now,
      leaseUntil: request.now + request.leaseMs,
      limit: request.limit,
    }) as Row[];
    return rows.map(toJob).sort((a, b) => a.updatedAt - b.updatedAt || a.createdAt - b.createdAt);
  }

  async complete(id: string, _lease: number, now: number, purgeAt: number): Promise<void> {
    (await this.#open()).complete.run({ id, now, purgeAt });
  }

  async reschedule(id: string, lease: number, change: Reschedule): Promise<boolean> {
    const result = (await this.#open()).reschedule.run({
      id,
      lease,
      runAt: change.runAt,
      now: change.now,
      refund: change.refund ? 1 : 0,
      ambiguous: change.ambiguous ? 1 : 0,
      error: change.error,
    });
    return result.changes === 1;
  }

  async bury(id: string, lease: number, reason: DeadReason, error: string, now: number): Promise<boolean> {
    return (await this.#open()).bury.run({ id, lease, reason, error, now }).changes === 1;
  }

  async revive(id: string, now: number): Promise<boolean> {
    return (await this.#open()).revive.run({ id, now }).changes === 1;
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const row = (await this.#open()).get.get({ id }) as Row | undefined;
    return row === undefined ? undefined : toJob(row);
  }

  async list(request: ListRequest): Promise<StoredJob[]> {
    const rows = (await this.#open()).list.all({
      state: request.state ?? null,
      queue: request.queue ?? null,
      limit: request.limit ?? 100,
    }) as Row[];
    return rows.map(toJob);
  }

  async counts(queues?: readonly string[]): Promise<JobCounts> {
    const rows = (await this.#open()).counts.all({
      queues: queues === undefined ? null : JSON.stringify(queues),
    }) as { state: JobState; n: number }[];
    const counts: JobCounts = { pending: 0, inflight: 0, delivered: 0, dead: 0 };
    for (const { state, n } of rows) if (state in counts) counts[state] = n;
    return counts;
  }

  async nextDueAt(queues: readonly string[]): Promise<number | undefined> {
    const row = (await this.#open()).nextDue.get({ queues: JSON.stringify(queues) }) as
      | { at: number | null }
      | undefined;
    return row?.at ?? undefined;
  }

  async purge(now: number): Promise<number> {
    return (await this.#open()).purge.run({ now }).changes;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const db = this.#db;
    this.#db = undefined;
    if (db !== undefined) (await db.catch(() => undefined))?.close();
  }
}

// The connection and its prepared statements: one object, so no statement outlives its database.
class Database {
  readonly #db: BetterSqlite3.Database;
  readonly #insert: Statement;
  readonly #byKey: Statement;
  readonly #deleteById: Statement;
  readonly claim: Statement;
  readonly complete: Statement;
  readonly reschedule: Statement;
  readonly bury: Statement;
  readonly revive: Statement;
  readonly get: Statement;
  readonly list: Statement;
  readonly counts: Statement;
  readonly nextDue: Statement;
  readonly purge: Statement;
  readonly #enqueue: (job: NewJob) => EnqueueResult;

  static async open(
    path: string,
    table: string,
    synchronous: string,
    busyTimeoutMs: number,
  ): Promise<Database> {
    let Sqlite: typeof BetterSqlite3;
    try {
      Sqlite = (await import('better-sqlite3')).default;
    } catch (error) {
      throw new Error(
        `sqliteDriver needs better-sqlite3 12 (npm install better-sqlite3@^12), which could not be loaded: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Sqlite(path, { timeout: busyTimeoutMs });
    try {
      return new Database(db, table, synchronous);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(db: BetterSqlite3.Database, t: string, synchronous: string) {
    this.#db = db;
    // exec, not pragma(): pragma() prepares a throwaway Statement, and better-sqlite3 12 on Node 24
    // aborts the process (RemoveEnvironmentCleanupHook: env != nullptr) when the garbage collector
    // finalizes one at a moment no context is entered — seen at the demo's start, 1 run in 6
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${synchronous}`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${t} (
        id TEXT PRIMARY KEY,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        idempotency_key TEXT,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        ambiguous INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        lease_until INTEGER,
        lease INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        purge_at INTEGER,
        last_error TEXT,
        dead_reason TEXT
      );
      CREATE UNIQUE INDEX IF NOT EXISTS ${t}_key ON ${t} (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX IF NOT EXISTS ${t}_due ON ${t} (state, run_at);
      CREATE INDEX IF NOT EXISTS ${t}_lease ON ${t} (state, lease_until);
      CREATE INDEX IF NOT EXISTS ${t}_purge ON ${t} (state, purge_at);
    `);
    const due = `(CASE state WHEN 'inflight' THEN lease_until ELSE run_at END)`;
    const inQueues = `queue IN (SELECT value FROM json_each(@queues))`;
    this.#insert = db.prepare(
      `INSERT INTO ${t} (id, queue, payload, idempotency_key, state, run_at, created_at, updated_at)
       VALUES (@id, @queue, @payload, @key, 'pending', @runAt, @now, @now)`,
    );
    this.#byKey = db.prepare(
      `SELECT id, state, purge_at FROM ${t} WHERE queue = @queue AND idempotency_key = @key`,
    );
    this.#deleteById = db.prepare(`DELETE FROM ${t} WHERE id = @id`);
    this.claim = db.prepare(
      `UPDATE ${t} SET state = 'inflight', attempts = attempts + 1, lease = lease + 1,
         lease_until = @leaseUntil, updated_at = @now
       WHERE id IN (
         SELECT id FROM ${t}
         WHERE ${inQueues}
           AND ((state = 'pending' AND run_at <= @now) OR (state = 'inflight' AND lease_until <= @now))
         ORDER BY ${due} LIMIT @limit)
       RETURNING *`,
    );
    // a delivery is a fact whoever reports it: no lease check
    this.complete = db.prepare(
      `UPDATE ${t} SET state = 'delivered', lease_until = NULL, updated_at = @now, purge_at = @purgeAt,
         dead_reason = NULL
       WHERE id = @id AND state != 'delivered'`,
    );
    this.reschedule = db.prepare(
      `UPDATE ${t} SET state = 'pending', run_at = @runAt, lease_until = NULL, updated_at = @now,
         last_error = @error, attempts = MAX(0, attempts - @refund), ambiguous = ambiguous + @ambiguous
       WHERE id = @id AND state = 'inflight' AND lease = @lease`,
    );
    this.bury = db.prepare(
      `UPDATE ${t} SET state = 'dead', lease_until = NULL, updated_at = @now, last_error = @error,
         dead_reason = @reason
       WHERE id = @id AND state = 'inflight' AND lease = @lease`,
    );
    this.revive = db.prepare(
      `UPDATE ${t} SET state = 'pending', attempts = 0, run_at = @now, updated_at = @now, dead_reason = NULL
       WHERE id = @id AND state = 'dead'`,
    );
    this.get = db.prepare(`SELECT * FROM ${t} WHERE id = @id`);
    this.list = db.prepare(
      `SELECT * FROM ${t} WHERE (@state IS NULL OR state = @state) AND (@queue IS NULL OR queue = @queue)
       ORDER BY created_at, rowid LIMIT @limit`,
    );
    this.counts = db.prepare(
      `SELECT state, COUNT(*) AS n FROM ${t} WHERE (@queues IS NULL OR ${inQueues}) GROUP BY state`,
    );
    this.nextDue = db.prepare(
      `SELECT MIN(${due}) AS at FROM ${t} WHERE ${inQueues} AND state IN ('pending', 'inflight')`,
    );
    this.purge = db.prepare(`DELETE FROM ${t} WHERE state = 'delivered' AND purge_at <= @now`);
    // check-then-insert in one IMMEDIATE transaction: two processes cannot both take a key
    const enqueue = db.transaction((job: NewJob): EnqueueResult => {
      if (job.idempotencyKey !== undefined) {
        const existing = this.#byKey.get({ queue: job.queue, key: job.idempotencyKey }) as
          | Pick<Row, 'id' | 'state' | 'purge_at'>
          | undefined;
        if (existing !== undefined) {
          const expired =
            existing.state === 'delivered' && existing.purge_at !== null && existing.purge_at <= job.now;
          if (!expired) return { id: existing.id, duplicate: true };
          this.#deleteById.run({ id: existing.id });
        }
      }
      this.#insert.run({
        id: job.id,
        queue: job.queue,
        payload: job.payload,
        key: job.idempotencyKey ?? null,
        runAt: job.runAt,
        now: job.now,
      });
      return { id: job.id, duplicate: false };
    });
    this.#enqueue = (job) => enqueue.immediate(job);
  }

  enqueue(job: NewJob): EnqueueResult {
    return this.#enqueue(job);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function toJob(row: Row): StoredJob {
  return {
    id: row.id,
    queue: row.queue,
    payload: row.payload,
    idempotencyKey: row.idempotency_key ?? undefined,
    state: row.state,
    attempts: row.attempts,
    ambiguous: row.ambiguous,
    runAt: row.run_at,
    leaseUntil: row.lease_until ?? undefined,
    lease: row.lease,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastError: row.last_error ?? undefined,
    deadReason: row.dead_reason ?? undefined,
  };
}
