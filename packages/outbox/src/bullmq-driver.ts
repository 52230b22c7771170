import { createHash, randomUUID } from 'node:crypto';
import type { Job, Queue, Worker } from 'bullmq';
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

/** Options of {@link bullmqDriver}. */
export interface BullmqDriverOptions {
  /**
   * Where Redis is: what BullMQ takes as `connection` — ioredis options (`{ host, port,
   * password }`) or an ioredis instance. Options: BullMQ opens its own connections and the
   * driver's `close()` closes them. An instance: you own it and close it after the outbox stopped.
   */
  connection: object;
  /**
   * The Redis key prefix of the BullMQ queues (one BullMQ queue per outbox queue).
   * @default 'tracks-outbox'
   */
  prefix?: string;
  /**
   * Outbox queues this driver should know before it has seen a job of them, for `list()` and
   * `counts()` without queues and `purge()` in a process that only reads.
   * @default []
   */
  queues?: readonly string[];
  /**
   * BullMQ's lock on a job in flight, in ms. The driver renews it every half of it while the
   * outbox holds the job, so a job comes back only when its worker stops renewing (it died, or
   * its event loop was blocked that long): after this plus up to `stalledIntervalMs`.
   * @default 30_000
   */
  lockDurationMs?: number;
  /**
   * How often this driver's workers look for stalled jobs (locks expired) and put them back to
   * waiting, in ms.
   * @default 30_000
   */
  stalledIntervalMs?: number;
}

/** What the driver keeps in a BullMQ job's `data`. */
interface JobData {
  /** The encoded payload. */
  p: string;
  /** The idempotency key. */
  k?: string;
  /** Attempts given back (breaker waits): attempts = BullMQ's attemptsStarted - r. */
  r: number;
  /** Ambiguous attempts. */
  a: number;
  /** When the job is due (the outbox's clock). */
  t: number;
  /** The enqueue's nonce: tells a new job from an existing one with the same jobId. */
  n: string;
  /** The last failure. */
  e?: string;
  /** Why it died. */
  d?: DeadReason;
}

interface Held {
  job: Job;
  token: string;
  lease: number;
}

type Bullmq = typeof import('bullmq');

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,100}$/;
const PENDING = ['waiting', 'prioritized', 'delayed', 'waiting-children'] as const;
const TYPES: Record<JobState, readonly string[]> = {
  pending: PENDING,
  inflight: ['active'],
  delivered: ['completed'],
  dead: ['failed'],
};
const PURGE_PAGE = 200;
const PURGE_MAX = 1_000;
// BullMQ fails a job that stalled more than this; the outbox decides when a job dies, not BullMQ
const NEVER = 1_000_000_000;

/**
 * An outbox driver on BullMQ 6 and Redis, for several instances of an app (an optional peer
 * dependency, loaded on first use: importing `@tracks/outbox` never loads it). Each outbox queue
 * is a BullMQ queue; the outbox claims jobs with BullMQ's manual job API (a `Worker` without a
 * processor: `getNextJob`, `moveToCompleted`, `moveToDelayed`, `moveToFailed`), so BullMQ's
 * locks, stalled-job checks and delayed jobs do the work, and any number of processes share a
 * queue. An idempotency key becomes the BullMQ `jobId`; dead letters are BullMQ's failed jobs.
 *
 * BullMQ reads its clock (`Date.now()`) on the client: give the outbox the real clock (its
 * default). Delivered jobs are kept until the outbox's `retentionMs` ends and then removed by
 * `purge()`.
 *
 * @example
 * const outbox = createOutbox({
 *   driver: bullmqDriver({ connection: { host: '127.0.0.1', port: 6379 } }),
 *   handlers: { email: (msg, ctx) => email.send(msg, ctx) },
 * });
 */
export function bullmqDriver(options: BullmqDriverOptions): OutboxDriver {
  if (typeof options?.connection !== 'object' || options.connection === null) {
    throw new TypeError('bullmqDriver: connection must be ioredis options or an ioredis instance');
  }
  const prefix = options.prefix ?? 'tracks-outbox';
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.includes(' ')) {
    throw new TypeError('bullmqDriver: prefix must be a non-empty string without spaces');
  }
  const lockDurationMs = options.lockDurationMs ?? 30_000;
  const stalledIntervalMs = options.stalledIntervalMs ?? 30_000;
  for (const [name, value] of [
    ['lockDurationMs', lockDurationMs],
    ['stalledIntervalMs', stalledIntervalMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 10) {
      throw new TypeError(`bullmqDriver: ${name} must be a whole number of ms >= 10`);
    }
  }
  for (const queue of options.queues ?? []) checkQueue(queue);
  return new BullmqDriver(
    options.connection,
    prefix,
    options.queues ?? [],
    lockDurationMs,
    stalledIntervalMs,
  );
}

class BullmqDriver implements OutboxDriver {
  readonly name = 'bullmq';
  readonly #connection: object;
  readonly #prefix: string;
  readonly #lockDurationMs: number;
  readonly #stalledIntervalMs: number;
  readonly #known: Set<string>;
  #lib: Promise<Bullmq> | undefined;
  readonly #queues = new Map<string, Promise<Queue>>();
  readonly #workers = new Map<string, Promise<Worker>>();
  readonly #held = new Map<string, Held>();
  #renewer: ReturnType<typeof setInterval> | undefined;
  #closed: Promise<void> | undefined;

  constructor(
    connection: object,
    prefix: string,
    queues: readonly string[],
    lockDurationMs: number,
    stalledIntervalMs: number,
  ) {
    this.#connection = connection;
    this.#prefix = prefix;
    this.#known = new Set(queues);
    this.#lockDurationMs = lockDurationMs;
    this.#stalledIntervalMs = stalledIntervalMs;
  }

  #load(): Promise<Bullmq> {
    if (this.#closed !== undefined) return Promise.reject(new Error('bullmqDriver: closed'));
    this.#lib ??= import('bullmq');
    return this.#lib;
  }

  #queue(name: string): Promise<Queue> {
    checkQueue(name);
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      this.#known.add(name);
      queue = this.#load().then((lib) => {
        const q = new lib.Queue(name, { connection: this.#connection as never, prefix: this.#prefix });
        // a lost connection is retried by ioredis and surfaces as the failing call's error
        q.on('error', () => {});
        return q;
      });
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #worker(name: string): Promise<Worker> {
    let worker = this.#workers.get(name);
    if (worker === undefined) {
      worker = this.#load().then((lib) => {
        const w = new lib.Worker(name, null, {
          connection: this.#connection as never,
          prefix: this.#prefix,
          autorun: false,
          lockDuration: this.#lockDurationMs,
          stalledInterval: this.#stalledIntervalMs,
          maxStalledCount: NEVER,
        });
        w.on('error', () => {});
        // manual processing runs no stalled checker of its own: a dead worker's jobs come back
        // only because some live worker runs this one
        void w.startStalledCheckTimer();
        return w;
      });
      this.#workers.set(name, worker);
    }
    return worker;
  }

  async enqueue(job: NewJob): Promise<EnqueueResult> {
    const queue = await this.#queue(job.queue);
    const id =
      job.idempotencyKey === undefined
        ? `${job.queue}.${job.id}`
        : `${job.queue}.k-${createHash('sha256').update(job.idempotencyKey).digest('hex')}`;
    const data: JobData = { p: job.payload, r: 0, a: 0, t: job.runAt, n: job.id };
    if (job.idempotencyKey !== undefined) data.k = job.idempotencyKey;
    for (;;) {
      // adding an existing jobId is a no-op in BullMQ: that is the idempotency check, atomic in Redis
      await queue.add(job.queue, data, {
        jobId: id,
        // BullMQ times delays by Date.now(): hand it the outbox's delay, not its timestamp
        delay: Math.max(0, job.runAt - job.now),
        attempts: 1,
        removeOnComplete: false,
        removeOnFail: false,
      });
      if (job.idempotencyKey === undefined) return { id, duplicate: false };
      const stored = await queue.getJob(id);
      if (stored === undefined) continue; // purged between the two calls: add again
      if ((stored.data as JobData).n === job.id) return { id, duplicate: false };
      const purgeAt = purgeAtOf(stored);
      if (purgeAt !== undefined && purgeAt <= job.now && (await stored.isCompleted())) {
        // delivered and past its retention but not purged yet: the key is free again
        await stored.remove();
        continue;
      }
      return { id, duplicate: true };
    }
  }

  async claim(request: ClaimRequest): Promise<StoredJob[]> {
    if (request.limit <= 0 || request.queues.length === 0) return [];
    const claimed: StoredJob[] = [];
    for (const name of request.queues) {
      const worker = await this.#worker(name);
      while (claimed.length < request.limit) {
        const token = randomUUID();
        const job = (await worker.getNextJob(token, { block: false })) as Job | undefined;
        if (job?.id === undefined) break;
        // attemptsStarted grows with every claim: the lease token the outbox hands back
        const lease = job.attemptsStarted;
        this.#held.set(job.id, { job, token, lease });
        claimed.push(toStored(job, 'inflight', request.now + request.leaseMs));
      }
      if (claimed.length >= request.limit) break;
    }
    if (this.#held.size > 0) this.#startRenewing();
    return claimed.sort((a, b) => a.runAt - b.runAt);
  }

  async complete(id: string, lease: number, _now: number, purgeAt: number): Promise<void> {
    const held = this.#release(id, lease);
    if (held === undefined && !QUEUE_NAME.test(queueOf(id))) return;
    const job = held?.job ?? (await (await this.#queue(queueOf(id))).getJob(id));
    if (job === undefined) return;
    try {
      await job.moveToCompleted({ purgeAt }, held?.token ?? '0', false);
    } catch (error) {
      // the lock was lost (the worker stalled): a delivery is a fact whoever reports it, so
      // record it if the job is in flight elsewhere; if it is waiting again it will be delivered
      // again (at least once)
      if (!isLockError(error)) throw error;
      if ((await job.getState()) === 'active') {
        await job.moveToCompleted({ purgeAt }, '0', false).catch(ignoreLockError);
      }
    }
  }

  async reschedule(id: string, lease: number, change: Reschedule): Promise<boolean> {
    const held = this.#release(id, lease);
    if (held === undefined || !(await this.#stillLocked(held))) return false;
    const data = held.job.data as JobData;
    const next: JobData = {
      ...data,
      t: change.runAt,
      r: data.r + (change.refund ? 1 : 0),
      a: data.a + (change.ambiguous ? 1 : 0),
      e: change.error,
    };
    try {
      await held.job.updateData(next);
      await held.job.moveToDelayed(Date.now() + Math.max(0, change.runAt - change.now), held.token);
      return true;
    } catch (error) {
      return ignoreLockError(error);
    }
  }

  async bury(id: string, lease: number, reason: DeadReason, error: string, _now: number): Promise<boolean> {
    const held = this.#release(id, lease);
    if (held === undefined || !(await this.#stillLocked(held))) return false;
    const data = held.job.data as JobData;
    try {
      await held.job.updateData({ ...data, e: error, d: reason });
      // attempts: 1, so BullMQ does not retry it: the job goes to BullMQ's failed set
      await held.job.moveToFailed(new Error(error), held.token, false);
      return true;
    } catch (failure) {
      return ignoreLockError(failure);
    }
  }

  async revive(id: string, now: number): Promise<boolean> {
    if (!QUEUE_NAME.test(queueOf(id))) return false;
    const job = await (await this.#queue(queueOf(id))).getJob(id);
    if (job === undefined || (await job.getState()) !== 'failed') return false;
    const { d: _dead, ...data } = job.data as JobData;
    await job.updateData({ ...data, r: 0, t: now });
    try {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    } catch {
      return false; // retried by someone else meanwhile
    }
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const name = queueOf(id);
    if (!QUEUE_NAME.test(name)) return undefined;
    const job = await (await this.#queue(name)).getJob(id);
    if (job === undefined) return undefined;
    const state = stateOf(await job.getState());
    return state === undefined ? undefined : toStored(job, state, this.#leaseEnd(job, state));
  }

  async list(request: ListRequest): Promise<StoredJob[]> {
    const limit = request.limit ?? 100;
    const names = request.queue === undefined ? [...this.#known] : [request.queue];
    const states: JobState[] =
      request.state === undefined ? ['pending', 'inflight', 'delivered', 'dead'] : [request.state];
    const out: StoredJob[] = [];
    for (const name of names) {
      const queue = await this.#queue(name);
      for (const state of states) {
        const jobs = (await queue.getJobs([...TYPES[state]] as never, 0, limit - 1, true)) as Job[];
        for (const job of jobs)
          if (job !== undefined) out.push(toStored(job, state, this.#leaseEnd(job, state)));
      }
    }
    out.sort((a, b) => a.createdAt - b.createdAt);
    return out.slice(0, limit);
  }

  async counts(queues?: readonly string[]): Promise<JobCounts> {
    const counts: JobCounts = { pending: 0, inflight: 0, delivered: 0, dead: 0 };
    for (const name of queues ?? [...this.#known]) {
      const queue = await this.#queue(name);
      const c = await queue.getJobCounts(...PENDING, 'active', 'completed', 'failed');
      for (const type of PENDING) counts.pending += c[type] ?? 0;
      counts.inflight += c.active ?? 0;
      counts.delivered += c.completed ?? 0;
      counts.dead += c.failed ?? 0;
    }
    return counts;
  }

  async nextDueAt(queues: readonly string[]): Promise<number | undefined> {
    let next: number | undefined;
    for (const name of queues) {
      const queue = await this.#queue(name);
      if ((await queue.getWaitingCount()) > 0) return Date.now();
      const [first] = (await queue.getDelayed(0, 0)) as Job[];
      if (first === undefined) continue;
      const at = (first.data as JobData).t ?? first.timestamp + first.delay;
      if (next === undefined || at < next) next = at;
    }
    // jobs in flight are not due: a stalled one comes back through BullMQ's stalled check
    return next;
  }

  async purge(now: number): Promise<number> {
    let purged = 0;
    for (const name of this.#known) {
      const queue = await this.#queue(name);
      // completed jobs, oldest first: stop at the first one still kept
      for (let start = 0; purged < PURGE_MAX; ) {
        const jobs = (await queue.getJobs(['completed'], start, start + PURGE_PAGE - 1, true)) as Job[];
        let kept = 0;
        let done = jobs.length < PURGE_PAGE;
        for (const job of jobs) {
          const purgeAt = purgeAtOf(job);
          if (purgeAt !== undefined && purgeAt > now) {
            done = true;
            break;
          }
          if (purgeAt === undefined) kept++;
          else {
            await job.remove().catch(() => {});
            purged++;
          }
        }
        if (done) break;
        start += kept;
      }
    }
    return purged;
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    if (this.#renewer !== undefined) clearInterval(this.#renewer);
    this.#renewer = undefined;
    this.#held.clear();
    const workers = await Promise.allSettled(this.#workers.values());
    const queues = await Promise.allSettled(this.#queues.values());
    await Promise.allSettled([
      ...workers.map((w) => (w.status === 'fulfilled' ? w.value.close() : undefined)),
      ...queues.map((q) => (q.status === 'fulfilled' ? q.value.close() : undefined)),
    ]);
  }

  #release(id: string, lease: number): Held | undefined {
    const held = this.#held.get(id);
    if (held === undefined || held.lease !== lease) return undefined;
    this.#held.delete(id);
    return held;
  }

  async #stillLocked(held: Held): Promise<boolean> {
    // a lost lock means another worker may hold the job: this worker's word no longer counts
    return (await held.job.extendLock(held.token, this.#lockDurationMs)) === 1;
  }

  #leaseEnd(job: Job, state: JobState): number | undefined {
    return state === 'inflight' ? (job.processedOn ?? job.timestamp) + this.#lockDurationMs : undefined;
  }

  #startRenewing(): void {
    if (this.#renewer !== undefined || this.#closed !== undefined) return;
    this.#renewer = setInterval(() => void this.#renew(), Math.max(5, Math.floor(this.#lockDurationMs / 2)));
    // only renewals: the app decides whether the process lives
    this.#renewer.unref?.();
  }

  async #renew(): Promise<void> {
    if (this.#held.size === 0) {
      clearInterval(this.#renewer);
      this.#renewer = undefined;
      return;
    }
    const byQueue = new Map<string, Held[]>();
    for (const held of this.#held.values()) {
      const name = held.job.queueName;
      byQueue.set(name, [...(byQueue.get(name) ?? []), held]);
    }
    for (const [name, helds] of byQueue) {
      const worker = await this.#workers.get(name);
      await worker
        ?.extendJobLocks(
          helds.map((h) => h.job.id ?? ''),
          helds.map((h) => h.token),
          this.#lockDurationMs,
        )
        .catch(() => {}); // a renewal that fails is retried at the next one
    }
  }
}

function checkQueue(name: string): void {
  if (typeof name !== 'string' || !QUEUE_NAME.test(name)) {
    throw new TypeError(
      `bullmqDriver: queue ${JSON.stringify(name)} must be 1 to 100 letters, digits, _ or -`,
    );
  }
}

function queueOf(id: string): string {
  const dot = id.lastIndexOf('.');
  return dot > 0 ? id.slice(0, dot) : '';
}

function stateOf(state: string): JobState | undefined {
  for (const [ours, theirs] of Object.entries(TYPES) as [JobState, readonly string[]][]) {
    if (theirs.includes(state)) return ours;
  }
  return undefined;
}

function purgeAtOf(job: Job): number | undefined {
  const value = (job.returnvalue as { purgeAt?: unknown } | null | undefined)?.purgeAt;
  return typeof value === 'number' ? value : undefined;
}

function toStored(job: Job, state: JobState, leaseUntil: number | undefined): StoredJob {
  const data = job.data as JobData;
  return {
    id: job.id ?? '',
    queue: job.queueName,
    payload: data.p,
    idempotencyKey: data.k,
    state,
    attempts: Math.max(0, (job.attemptsStarted ?? 0) - (data.r ?? 0)),
    ambiguous: data.a ?? 0,
    runAt: data.t ?? job.timestamp,
    leaseUntil,
    lease: job.attemptsStarted ?? 0,
    createdAt: job.timestamp,
    updatedAt: Math.max(job.timestamp, job.processedOn ?? 0, job.finishedOn ?? 0),
    lastError: data.e ?? (job.failedReason || undefined),
    deadReason: state === 'dead' ? (data.d ?? 'permanent') : undefined,
  };
}

function isLockError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /lock|not in the active state|Missing key/i.test(message);
}

function ignoreLockError(error: unknown): false {
  if (isLockError(error)) return false;
  throw error;
}
