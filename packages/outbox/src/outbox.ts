import {
  type Backoff,
  type Disposer,
  Emitter,
  exponentialBackoff,
  isOpenStateError,
  type Listener,
} from '@tracks/breaker';
import { decodePayload, encodePayload } from './codec.js';
import type { DeadReason, JobCounts, JobState, OutboxDriver, StoredJob } from './driver.js';
import { decide, describeError, retryAfterOf } from './outcome.js';

/** What a handler receives with each payload. */
export interface DeliveryContext {
  /** The job's id. */
  readonly id: string;
  /** The queue (the handler's name). */
  readonly queue: string;
  /** 1 for the first delivery attempt, 2 for the next… (breaker waits are not attempts). */
  readonly attempt: number;
  /** The job's idempotency key: pass it on where the provider lets it travel. */
  readonly idempotencyKey: string | undefined;
  /**
   * Aborts when the job's lease ends (another worker may take the job over then): pass it to
   * the send so that an attempt cannot outlive its lease.
   */
  readonly signal: AbortSignal;
}

/** Delivers one payload; resolves when the provider accepted it. Throw to fail the attempt. */
export type Deliver<P> = (payload: P, context: DeliveryContext) => unknown;

/** A handler with the validation `enqueue` runs before accepting a payload. */
export interface HandlerSpec<P> {
  /** Delivers one payload. */
  deliver: Deliver<P>;
  /**
   * Throws when the payload must not be accepted (`validateEmailMessage`, `normalizePhoneNumber`):
   * `enqueue` rejects with that error and nothing is stored.
   * @default undefined (every JSON-serializable payload is accepted)
   */
  validate?: (payload: P) => void;
}

/** A queue's handler: a delivery function, or one with its validation. */
export type Handler<P> = Deliver<P> | HandlerSpec<P>;

/** The payload type a handler takes. */
export type PayloadOf<H> = H extends HandlerSpec<infer P> ? P : H extends Deliver<infer P> ? P : never;

/** Retry settings of {@link createOutbox}. */
export interface OutboxRetryOptions {
  /**
   * The wait after failed attempt number n, unless the error names one (`retryAfterMs` of a
   * provider's 429 or of an open breaker).
   * @default exponentialBackoff({ initial: 1_000, factor: 2, max: 300_000, jitter: 'equal' })
   */
  backoff?: Backoff;
  /**
   * Delivery attempts before a job goes to the dead letters. Only attempts that reached the
   * provider count: waits for an open breaker do not, so a long outage dead-letters nothing.
   * @default 20
   */
  maxAttempts?: number;
}

/** Options of {@link createOutbox}. */
export interface OutboxOptions<H extends Record<string, Handler<never>>> {
  /** Where jobs are kept: `memoryDriver()`, `sqliteDriver({ path })`, `bullmqDriver({ connection })`. */
  driver: OutboxDriver;
  /** One handler per queue: `{ email: (msg, ctx) => email.send(msg, ctx) }`. */
  handlers: H;
  /**
   * The outbox's name: the `queue` label of `@tracks/metrics`' outbox series.
   * @default 'outbox'
   */
  name?: string;
  /** Backoff and attempt limit. */
  retry?: OutboxRetryOptions;
  /**
   * Jobs delivered at the same time by this worker.
   * @default 4
   */
  concurrency?: number;
  /**
   * How long a claimed job belongs to this worker, in ms. If the worker dies, another claims the
   * job once the lease ends; the handler's signal aborts at the lease's end. Keep it above the
   * handler's longest call (its policy's `maxElapsed`).
   * @default 60_000
   */
  leaseMs?: number;
  /**
   * How long a delivered job is kept, in ms: its idempotency key stays taken until then.
   * @default 86_400_000 (24 h)
   */
  retentionMs?: number;
  /**
   * The longest sleep of a started worker between looks at the store (other processes may add
   * jobs); it wakes sooner for its own enqueues and for the next job due.
   * @default 1_000
   */
  pollIntervalMs?: number;
  /**
   * The clock, in ms since the epoch. Inject one for tests and drive the worker with `tick()`.
   * @default Date.now
   */
  now?: () => number;
}

/** Options of {@link Outbox.enqueue}. */
export interface EnqueueOptions {
  /**
   * The same key in the same queue makes one job, while the job is kept (pending, in flight,
   * dead, or delivered within `retentionMs`). Visible ASCII, 1 to 256 characters.
   * @default undefined (every enqueue is a new job)
   */
  idempotencyKey?: string | undefined;
  /**
   * The earliest delivery time.
   * @default now
   */
  notBefore?: Date | number | undefined;
}

/** What {@link Outbox.enqueue} resolves to, once the job is durable. */
export interface Enqueued {
  /** The job's id (the existing job's, for a duplicate key). */
  readonly id: string;
  /** True when the idempotency key was already taken: nothing new was stored. */
  readonly duplicate: boolean;
}

/** A job as the outbox shows it: the stored job with its payload decoded. */
export interface OutboxJob extends Omit<StoredJob, 'payload'> {
  /** The payload, as the handler receives it. */
  readonly payload: unknown;
}

/** Job counts by state: `@tracks/metrics` exports them as `outbox_jobs{queue,state}`. */
export type OutboxStats = JobCounts;

/** A job was delivered. */
export interface DeliveredEvent {
  readonly name: string;
  readonly queue: string;
  readonly id: string;
  readonly outcome: 'delivered';
  /** Attempts it took. */
  readonly attempts: number;
  /** Earlier attempts whose outcome was unknown: each may also have delivered (a duplicate). */
  readonly ambiguous: number;
}

/** A delivery attempt failed and the job will be tried again. */
export interface FailedEvent {
  readonly name: string;
  readonly queue: string;
  readonly id: string;
  /** `ambiguous` when the attempt may have delivered (a timeout after the request left). */
  readonly outcome: 'failed' | 'ambiguous';
  /** The attempt that failed. */
  readonly attempt: number;
  readonly error: unknown;
  /** The wait before the next attempt, in ms. */
  readonly retryInMs: number;
}

/** A job went to the dead letters. */
export interface DeadEvent {
  readonly name: string;
  readonly queue: string;
  readonly id: string;
  readonly outcome: 'dead';
  readonly attempts: number;
  readonly reason: DeadReason;
  readonly error: unknown;
}

/** A job met an open breaker (or a full bulkhead): nothing was sent, no attempt was counted. */
export interface DeferredEvent {
  readonly name: string;
  readonly queue: string;
  readonly id: string;
  readonly outcome: 'deferred';
  readonly error: unknown;
  /** The wait before the job is tried again, in ms. */
  readonly retryInMs: number;
}

/** The store failed under the worker (the job stays leased and is retried after its lease). */
export interface OutboxErrorEvent {
  readonly name: string;
  readonly error: unknown;
}

/** Events of an {@link Outbox}, by name. */
export interface OutboxEvents {
  delivered: DeliveredEvent;
  failed: FailedEvent;
  dead: DeadEvent;
  deferred: DeferredEvent;
  error: OutboxErrorEvent;
}

/** A durable send queue; made by {@link createOutbox}. */
export interface Outbox<H extends Record<string, Handler<never>> = Record<string, Handler<never>>> {
  /** The outbox's name (the metrics' `queue` label). */
  readonly name: string;
  /** The driver's name. */
  readonly driver: string;
  /**
   * Validates the payload with the queue's handler, then stores the job; resolves once it is
   * durable. Rejects with the validation error (nothing stored) or the store's error.
   */
  enqueue<Q extends keyof H & string>(
    queue: Q,
    payload: PayloadOf<H[Q]>,
    options?: EnqueueOptions,
  ): Promise<Enqueued>;
  /** Starts the worker: it delivers due jobs, `concurrency` at a time, until `stop()`. */
  start(): void;
  /** Stops claiming, waits for the jobs in flight to settle, then closes the driver. Idempotent. */
  stop(): Promise<void>;
  /**
   * One pass of the worker without starting it: claims the due jobs (up to `concurrency`),
   * delivers them and resolves with how many it handled, once they are settled. For tests with an
   * injected clock, and for cron-style draining.
   */
  tick(): Promise<number>;
  /** Job counts by state. */
  stats(): Promise<OutboxStats>;
  /** One job, or undefined (delivered jobs are kept for `retentionMs`). */
  get(id: string): Promise<OutboxJob | undefined>;
  /** Jobs, oldest first: `list({ state: 'dead' })` lists the dead letters. */
  list(filter?: { state?: JobState; queue?: keyof H & string; limit?: number }): Promise<OutboxJob[]>;
  /** Sends a dead job again (attempts reset); false when the job is not dead. */
  retry(id: string): Promise<boolean>;
  /** Listens to one kind of event; returns the disposer. */
  on<E extends keyof OutboxEvents>(event: E, listener: Listener<OutboxEvents[E]>): Disposer;
}

const MAX_KEY_LENGTH = 256;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
// purging delivered jobs more often than this is wasted work: retention is hours, not seconds
const PURGE_EVERY_MS = 60_000;

/**
 * Creates a durable outbox: `enqueue` stores a job and resolves once it is durable; a started
 * worker delivers it through its queue's handler, at least once. A retryable failure reschedules
 * it with backoff (or the error's `retryAfterMs`); an open breaker pauses the queue for the
 * breaker's `retryAfterMs` without using up attempts; a permanent failure or `maxAttempts`
 * failed attempts move it to the dead letters, where `list({ state: 'dead' })` finds it and
 * `retry(id)` sends it again.
 *
 * @example
 * const outbox = createOutbox({
 *   driver: sqliteDriver({ path: './.tracks-data/outbox.db' }),
 *   handlers: { email: { deliver: (msg: EmailMessage, ctx) => email.send(msg, ctx), validate: (msg) => validateEmailMessage(msg) } },
 *   retry: { backoff: exponentialBackoff({ initial: 1000, factor: 2, max: 300_000 }), maxAttempts: 20 },
 * });
 * outbox.start();
 * const { id } = await outbox.enqueue('email', message, { idempotencyKey: message.idempotencyKey });
 */
export function createOutbox<H extends Record<string, Handler<never>>>(options: OutboxOptions<H>): Outbox<H> {
  return new OutboxWorker(options) as unknown as Outbox<H>;
}

interface ResolvedHandler {
  deliver: Deliver<unknown>;
  validate: ((payload: unknown) => void) | undefined;
}

class OutboxWorker {
  readonly name: string;
  readonly driver: string;
  readonly #store: OutboxDriver;
  readonly #handlers = new Map<string, ResolvedHandler>();
  readonly #queues: readonly string[];
  readonly #backoff: Backoff;
  readonly #maxAttempts: number;
  readonly #concurrency: number;
  readonly #claimBatch: number;
  readonly #leaseMs: number;
  readonly #retentionMs: number;
  readonly #pollIntervalMs: number;
  readonly #now: () => number;
  readonly #emitters: { [E in keyof OutboxEvents]?: Emitter<OutboxEvents[E]> } = {};
  // jobs being delivered and enqueues being stored: stop() waits for both before closing
  readonly #inflight = new Set<Promise<void>>();
  readonly #enqueues = new Set<Promise<unknown>>();
  // queues whose breaker is open, with the time they may be tried again
  readonly #pausedUntil = new Map<string, number>();
  #running = false;
  #stopped: Promise<void> | undefined;
  #pumping = false;
  #again = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastPurge = Number.NEGATIVE_INFINITY;

  constructor(options: OutboxOptions<Record<string, Handler<never>>>) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('createOutbox: options required');
    const { driver } = options;
    if (typeof driver?.claim !== 'function' || typeof driver.enqueue !== 'function') {
      throw new TypeError(
        'createOutbox: driver must be an outbox driver (memoryDriver(), sqliteDriver(), …)',
      );
    }
    this.#store = driver;
    this.driver = driver.name;
    this.name = options.name ?? 'outbox';
    if (typeof options.handlers !== 'object' || options.handlers === null) {
      throw new TypeError('createOutbox: handlers must map queue names to functions');
    }
    for (const [queue, handler] of Object.entries(options.handlers)) {
      this.#handlers.set(queue, resolveHandler(queue, handler as Handler<unknown>));
    }
    if (this.#handlers.size === 0) throw new TypeError('createOutbox: at least one handler is needed');
    this.#queues = [...this.#handlers.keys()];
    this.#backoff =
      options.retry?.backoff ??
      exponentialBackoff({ initial: 1_000, factor: 2, max: 300_000, jitter: 'equal' });
    if (typeof this.#backoff !== 'function')
      throw new TypeError('createOutbox: retry.backoff must be a function');
    this.#maxAttempts = positiveInteger('retry.maxAttempts', options.retry?.maxAttempts ?? 20);
    this.#concurrency = positiveInteger('concurrency', options.concurrency ?? 4);
    this.#claimBatch = Math.max(1, Math.floor(this.#concurrency / 4));
    this.#leaseMs = positiveNumber('leaseMs', options.leaseMs ?? 60_000);
    this.#retentionMs = positiveNumber('retentionMs', options.retentionMs ?? 86_400_000, true);
    this.#pollIntervalMs = positiveNumber('pollIntervalMs', options.pollIntervalMs ?? 1_000);
    this.#now = options.now ?? Date.now;
  }

  enqueue(queue: string, payload: unknown, options: EnqueueOptions = {}): Promise<Enqueued> {
    const stored = this.#enqueue(queue, payload, options);
    this.#enqueues.add(stored);
    const forget = (): void => {
      this.#enqueues.delete(stored);
    };
    stored.then(forget, forget);
    return stored;
  }

  async #enqueue(queue: string, payload: unknown, options: EnqueueOptions): Promise<Enqueued> {
    if (this.#stopped !== undefined) throw new Error(`outbox ${this.name}: stopped, no job accepted`);
    const handler = this.#handlers.get(queue);
    if (handler === undefined) {
      throw new TypeError(`outbox ${this.name}: no handler for queue ${JSON.stringify(queue)}`);
    }
    const key = options.idempotencyKey;
    if (
      key !== undefined &&
      (typeof key !== 'string' || key.length > MAX_KEY_LENGTH || !VISIBLE_ASCII.test(key))
    ) {
      throw new TypeError(`outbox ${this.name}: idempotencyKey must be 1 to 256 visible ASCII characters`);
    }
    handler.validate?.(payload);
    const encoded = encodePayload(payload);
    const now = this.#now();
    const notBefore = options.notBefore instanceof Date ? options.notBefore.getTime() : options.notBefore;
    if (notBefore !== undefined && !Number.isFinite(notBefore)) {
      throw new TypeError(`outbox ${this.name}: notBefore must be a Date or a time in ms`);
    }
    const result = await this.#store.enqueue({
      id: globalThis.crypto.randomUUID(),
      queue,
      payload: encoded,
      idempotencyKey: key,
      runAt: Math.max(now, notBefore ?? now),
      now,
    });
    if (!result.duplicate) this.#wake();
    return { id: result.id, duplicate: result.duplicate };
  }

  start(): void {
    if (this.#stopped !== undefined) throw new Error(`outbox ${this.name}: stopped; create a new outbox`);
    if (this.#running) return;
    this.#running = true;
    this.#wake();
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#drainAndClose();
    return this.#stopped;
  }

  async #drainAndClose(): Promise<void> {
    this.#running = false;
    this.#clearTimer();
    // a job settling may have started nothing new (not running), but a tick() may: loop until quiet
    while (this.#inflight.size > 0 || this.#enqueues.size > 0 || this.#pumping) {
      await Promise.allSettled([...this.#inflight, ...this.#enqueues]);
      if (this.#pumping) await new Promise((resolve) => setImmediate(resolve));
    }
    this.#clearTimer();
    await this.#store.close();
  }

  async tick(): Promise<number> {
    if (this.#stopped !== undefined) return 0;
    await this.#purge(true);
    const jobs = await this.#claim(this.#concurrency - this.#inflight.size);
    await Promise.allSettled(jobs.map((job) => this.#deliver(job)));
    return jobs.length;
  }

  stats(): Promise<OutboxStats> {
    return this.#store.counts(this.#queues);
  }

  async get(id: string): Promise<OutboxJob | undefined> {
    const job = await this.#store.get(id);
    return job === undefined ? undefined : decodeJob(job);
  }

  async list(filter: { state?: JobState; queue?: string; limit?: number } = {}): Promise<OutboxJob[]> {
    const jobs = await this.#store.list({ state: filter.state, queue: filter.queue, limit: filter.limit });
    return jobs.map(decodeJob);
  }

  async retry(id: string): Promise<boolean> {
    const revived = await this.#store.revive(id, this.#now());
    if (revived) this.#wake();
    return revived;
  }

  on<E extends keyof OutboxEvents>(event: E, listener: Listener<OutboxEvents[E]>): Disposer {
    if (!['delivered', 'failed', 'dead', 'deferred', 'error'].includes(event)) {
      throw new TypeError(`outbox: unknown event ${JSON.stringify(event)}`);
    }
    let emitter = this.#emitters[event] as Emitter<OutboxEvents[E]> | undefined;
    if (emitter === undefined) {
      emitter = new Emitter<OutboxEvents[E]>();
      (this.#emitters as Record<string, unknown>)[event] = emitter;
    }
    return emitter.on(listener);
  }

  #emit<E extends keyof OutboxEvents>(event: E, value: OutboxEvents[E]): void {
    (this.#emitters[event] as Emitter<OutboxEvents[E]> | undefined)?.emit(value);
  }

  // The worker loop. `#wake` is called by start, enqueue, retry, every settled job and the timer;
  // calls that arrive during a pass are folded into one more pass.
  #wake = (): void => {
    if (!this.#running) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    void this.#pump();
  };

  async #pump(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && this.#running);
    } catch (error) {
      this.#emit('error', { name: this.name, error });
      this.#schedule(this.#pollIntervalMs);
    } finally {
      this.#pumping = false;
    }
  }

  async #pass(): Promise<void> {
    this.#clearTimer();
    await this.#purge(false);
    const free = this.#concurrency - this.#inflight.size;
    // the next job to settle wakes the loop; claiming slots a few at a time, not one by one,
    // saves the store a write transaction (an fsync, for SQLite) per job
    if (free <= 0 || (free < this.#claimBatch && this.#inflight.size > 0)) return;
    const jobs = await this.#claim(free);
    for (const job of jobs) void this.#deliver(job);
    if (!this.#running) return;
    if (jobs.length === free) {
      this.#again = true; // there may be more due
      return;
    }
    const now = this.#now();
    let next = await this.#store.nextDueAt(this.#activeQueues(now));
    for (const until of this.#pausedUntil.values()) next = next === undefined ? until : Math.min(next, until);
    const delay = next === undefined ? this.#pollIntervalMs : Math.min(this.#pollIntervalMs, next - now);
    this.#schedule(Math.max(1, delay));
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    this.#clearTimer();
    this.#timer = setTimeout(this.#wake, delayMs);
    // only a wake-up: the app's server (or its own keep-alive) decides whether the process lives
    this.#timer.unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #activeQueues(now: number): string[] {
    return this.#queues.filter((queue) => {
      const until = this.#pausedUntil.get(queue);
      if (until === undefined) return true;
      if (until <= now) {
        this.#pausedUntil.delete(queue);
        return true;
      }
      return false;
    });
  }

  async #claim(limit: number): Promise<StoredJob[]> {
    if (limit <= 0) return [];
    const now = this.#now();
    const queues = this.#activeQueues(now);
    if (queues.length === 0) return [];
    return this.#store.claim({ queues, limit, now, leaseMs: this.#leaseMs });
  }

  async #purge(force: boolean): Promise<void> {
    const now = this.#now();
    if (!force && now - this.#lastPurge < PURGE_EVERY_MS) return;
    this.#lastPurge = now;
    await this.#store.purge(now);
  }

  #deliver(job: StoredJob): Promise<void> {
    const run = this.#attempt(job).catch((error: unknown) => {
      // the store failed to record the outcome: the job stays leased and comes back after the lease
      this.#emit('error', { name: this.name, error });
    });
    this.#inflight.add(run);
    run.then(() => {
      this.#inflight.delete(run);
      this.#wake();
    });
    return run;
  }

  async #attempt(job: StoredJob): Promise<void> {
    const handler = this.#handlers.get(job.queue);
    let payload: unknown;
    try {
      if (handler === undefined) throw new Error(`no handler for queue ${job.queue}`);
      payload = decodePayload(job.payload);
    } catch (error) {
      await this.#bury(job, 'permanent', error);
      return;
    }

    const controller = new AbortController();
    let leaseExpired = false;
    let leaseTimer: ReturnType<typeof setTimeout> | undefined;
    // the attempt ends at the lease's end even if the handler ignores its signal: by then another
    // worker may hold the job, and stop() must not wait for a send that never answers
    const leaseEnd = new Promise<never>((_resolve, reject) => {
      leaseTimer = setTimeout(() => {
        leaseExpired = true;
        const error = new Error(
          `outbox ${this.name}: the lease of job ${job.id} ended before its delivery did`,
        );
        controller.abort(error);
        reject(error);
      }, this.#leaseMs);
      leaseTimer.unref?.();
    });
    let failure: { error: unknown } | undefined;
    try {
      await Promise.race([
        (async () =>
          handler.deliver(payload, {
            id: job.id,
            queue: job.queue,
            attempt: job.attempts,
            idempotencyKey: job.idempotencyKey,
            signal: controller.signal,
          }))(),
        leaseEnd,
      ]);
    } catch (error) {
      failure = { error };
    } finally {
      clearTimeout(leaseTimer);
    }

    const now = this.#now();
    if (failure === undefined) {
      await this.#store.complete(job.id, job.lease, now, now + this.#retentionMs);
      this.#emit('delivered', {
        name: this.name,
        queue: job.queue,
        id: job.id,
        outcome: 'delivered',
        attempts: job.attempts,
        ambiguous: job.ambiguous,
      });
      return;
    }

    const { error } = failure;
    const decision = decide(error, leaseExpired);
    if (decision === 'dead') return this.#bury(job, 'permanent', error);
    if (decision === 'defer') {
      // An open breaker says how long it stays open: wait that long. A half-open breaker's busy
      // probe slot or a full bulkhead frees soon (their hint is only an upper bound): wait briefly.
      // Either way the whole queue waits, or the worker would run every job into the same wall.
      const hinted = retryAfterOf(error);
      const retryInMs = isOpenStateError(error)
        ? (hinted ?? this.#delay(1, error))
        : Math.min(hinted ?? Number.POSITIVE_INFINITY, this.#delay(1, error));
      this.#pausedUntil.set(job.queue, Math.max(now + retryInMs, this.#pausedUntil.get(job.queue) ?? 0));
      const rescheduled = await this.#store.reschedule(job.id, job.lease, {
        runAt: now + retryInMs,
        now,
        refund: true,
        ambiguous: false,
        error: describeError(error),
      });
      if (rescheduled) {
        this.#emit('deferred', {
          name: this.name,
          queue: job.queue,
          id: job.id,
          outcome: 'deferred',
          error,
          retryInMs,
        });
      }
      return;
    }
    if (job.attempts >= this.#maxAttempts) return this.#bury(job, 'max-attempts', error);
    const retryInMs = retryAfterOf(error) ?? this.#delay(job.attempts, error);
    const ambiguous = decision === 'ambiguous';
    const rescheduled = await this.#store.reschedule(job.id, job.lease, {
      runAt: now + retryInMs,
      now,
      refund: false,
      ambiguous,
      error: describeError(error),
    });
    if (rescheduled) {
      this.#emit('failed', {
        name: this.name,
        queue: job.queue,
        id: job.id,
        outcome: ambiguous ? 'ambiguous' : 'failed',
        attempt: job.attempts,
        error,
        retryInMs,
      });
    }
  }

  async #bury(job: StoredJob, reason: DeadReason, error: unknown): Promise<void> {
    const buried = await this.#store.bury(job.id, job.lease, reason, describeError(error), this.#now());
    if (buried) {
      this.#emit('dead', {
        name: this.name,
        queue: job.queue,
        id: job.id,
        outcome: 'dead',
        attempts: job.attempts,
        reason,
        error,
      });
    }
  }

  #delay(attempt: number, error: unknown): number {
    const delay = this.#backoff(attempt, error);
    return Number.isFinite(delay) && delay >= 0 ? delay : this.#pollIntervalMs;
  }
}

function resolveHandler(queue: string, handler: Handler<unknown>): ResolvedHandler {
  if (typeof handler === 'function') return { deliver: handler, validate: undefined };
  if (typeof handler === 'object' && handler !== null && typeof handler.deliver === 'function') {
    if (handler.validate !== undefined && typeof handler.validate !== 'function') {
      throw new TypeError(`createOutbox: handlers.${queue}.validate must be a function`);
    }
    return { deliver: handler.deliver, validate: handler.validate };
  }
  throw new TypeError(`createOutbox: handlers.${queue} must be a function or { deliver, validate? }`);
}

function decodeJob(job: StoredJob): OutboxJob {
  let payload: unknown;
  try {
    payload = decodePayload(job.payload);
  } catch {
    payload = job.payload;
  }
  return { ...job, payload };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`createOutbox: ${name} must be a whole number >= 1, got ${String(value)}`);
  }
  return value;
}

function positiveNumber(name: string, value: number, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(`createOutbox: ${name} must be a finite number of ms > 0, got ${String(value)}`);
  }
  return value;
}
