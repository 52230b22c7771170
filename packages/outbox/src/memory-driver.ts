import type {
  ClaimRequest,
  DeadReason,
  EnqueueResult,
  JobCounts,
  ListRequest,
  NewJob,
  OutboxDriver,
  Reschedule,
  StoredJob,
} from './driver.js';

type MemoryRow = { -readonly [K in keyof StoredJob]: StoredJob[K] } & { purgeAt: number | undefined };

/**
 * An outbox driver that keeps jobs in this process's memory: for tests and development. Nothing
 * survives a restart. Several outboxes may share one memory driver (to play several workers);
 * its `close()` releases nothing, so stopping one of them leaves the others working.
 *
 * @example
 * const outbox = createOutbox({ driver: memoryDriver(), handlers: { email: (msg, ctx) => email.send(msg, ctx) } });
 */
export function memoryDriver(): OutboxDriver {
  return new MemoryDriver();
}

class MemoryDriver implements OutboxDriver {
  readonly name = 'memory';
  readonly #rows = new Map<string, MemoryRow>();
  readonly #keys = new Map<string, string>();

  async enqueue(job: NewJob): Promise<EnqueueResult> {
    if (job.idempotencyKey !== undefined) {
      const existing = this.#byKey(job.queue, job.idempotencyKey, job.now);
      if (existing !== undefined) return { id: existing.id, duplicate: true };
    }
    if (this.#rows.has(job.id)) throw new Error(`outbox memory driver: job ${job.id} already exists`);
    this.#rows.set(job.id, {
      id: job.id,
      queue: job.queue,
      payload: job.payload,
      idempotencyKey: job.idempotencyKey,
      state: 'pending',
      attempts: 0,
      ambiguous: 0,
      runAt: job.runAt,
      leaseUntil: undefined,
      lease: 0,
      createdAt: job.now,
      updatedAt: job.now,
      lastError: undefined,
      deadReason: undefined,
      purgeAt: undefined,
    });
    if (job.idempotencyKey !== undefined) this.#keys.set(keyOf(job.queue, job.idempotencyKey), job.id);
    return { id: job.id, duplicate: false };
  }

  async claim(request: ClaimRequest): Promise<StoredJob[]> {
    const queues = new Set(request.queues);
    const due: MemoryRow[] = [];
    for (const row of this.#rows.values()) {
      if (!queues.has(row.queue)) continue;
      if (
        (row.state === 'pending' && row.runAt <= request.now) ||
        (row.state === 'inflight' && (row.leaseUntil ?? 0) <= request.now)
      ) {
        due.push(row);
      }
    }
    due.sort((a, b) => dueAt(a) - dueAt(b));
    return due.slice(0, Math.max(0, request.limit)).map((row) => {
      row.state = 'inflight';
      row.attempts += 1;
      row.lease += 1;
      row.leaseUntil = request.now + request.leaseMs;
      row.updatedAt = request.now;
      return snapshot(row);
    });
  }

  async complete(id: string, _lease: number, now: number, purgeAt: number): Promise<void> {
    const row = this.#rows.get(id);
    if (row === undefined || row.state === 'delivered') return;
    row.state = 'delivered';
    row.leaseUntil = undefined;
    row.updatedAt = now;
    row.purgeAt = purgeAt;
    row.deadReason = undefined;
  }

  async reschedule(id: string, lease: number, change: Reschedule): Promise<boolean> {
    const row = this.#rows.get(id);
    if (row === undefined || row.state !== 'inflight' || row.lease !== lease) return false;
    row.state = 'pending';
    row.runAt = change.runAt;
    row.leaseUntil = undefined;
    row.updatedAt = change.now;
    row.lastError = change.error;
    if (change.refund) row.attempts = Math.max(0, row.attempts - 1);
    if (change.ambiguous) row.ambiguous += 1;
    return true;
  }

  async bury(id: string, lease: number, reason: DeadReason, error: string, now: number): Promise<boolean> {
    const row = this.#rows.get(id);
    if (row === undefined || row.state !== 'inflight' || row.lease !== lease) return false;
    row.state = 'dead';
    row.leaseUntil = undefined;
    row.updatedAt = now;
    row.lastError = error;
    row.deadReason = reason;
    return true;
  }

  async revive(id: string, now: number): Promise<boolean> {
    const row = this.#rows.get(id);
    if (row === undefined || row.state !== 'dead') return false;
    row.state = 'pending';
    row.attempts = 0;
    row.runAt = now;
    row.updatedAt = now;
    row.deadReason = undefined;
    return true;
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const row = this.#rows.get(id);
    return row === undefined ? undefined : snapshot(row);
  }

  async list(request: ListRequest): Promise<StoredJob[]> {
    const out: StoredJob[] = [];
    for (const row of this.#rows.values()) {
      if (request.state !== undefined && row.state !== request.state) continue;
      if (request.queue !== undefined && row.queue !== request.queue) continue;
      out.push(snapshot(row));
    }
    out.sort((a, b) => a.createdAt - b.createdAt);
    return out.slice(0, request.limit ?? 100);
  }

  async counts(queues?: readonly string[]): Promise<JobCounts> {
    const only = queues === undefined ? undefined : new Set(queues);
    const counts: JobCounts = { pending: 0, inflight: 0, delivered: 0, dead: 0 };
    for (const row of this.#rows.values()) {
      if (only === undefined || only.has(row.queue)) counts[row.state] += 1;
    }
    return counts;
  }

  async nextDueAt(queues: readonly string[]): Promise<number | undefined> {
    const only = new Set(queues);
    let next: number | undefined;
    for (const row of this.#rows.values()) {
      if (!only.has(row.queue) || (row.state !== 'pending' && row.state !== 'inflight')) continue;
      const at = dueAt(row);
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  async purge(now: number): Promise<number> {
    let purged = 0;
    for (const row of this.#rows.values()) {
      if (row.state === 'delivered' && row.purgeAt !== undefined && row.purgeAt <= now) {
        this.#delete(row);
        purged += 1;
      }
    }
    return purged;
  }

  async close(): Promise<void> {}

  #byKey(queue: string, key: string, now: number): MemoryRow | undefined {
    const id = this.#keys.get(keyOf(queue, key));
    const row = id === undefined ? undefined : this.#rows.get(id);
    if (row === undefined) return undefined;
    // a delivered job past its retention no longer holds its key, purged or not
    if (row.state === 'delivered' && row.purgeAt !== undefined && row.purgeAt <= now) {
      this.#delete(row);
      return undefined;
    }
    return row;
  }

  #delete(row: MemoryRow): void {
    this.#rows.delete(row.id);
    if (row.idempotencyKey !== undefined) {
      const k = keyOf(row.queue, row.idempotencyKey);
      if (this.#keys.get(k) === row.id) this.#keys.delete(k);
    }
  }
}

function keyOf(queue: string, key: string): string {
  return `${queue}\u0000${key}`;
}

function dueAt(row: MemoryRow): number {
  return row.state === 'inflight' ? (row.leaseUntil ?? 0) : row.runAt;
}

function snapshot(row: MemoryRow): StoredJob {
  const { purgeAt: _purgeAt, ...job } = row;
  return job;
}
