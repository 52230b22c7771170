/** Where a job is in its life. */
export type JobState = 'pending' | 'inflight' | 'delivered' | 'dead';

/** Why a job was moved to the dead letters. */
export type DeadReason = 'permanent' | 'max-attempts';

/**
 * One job as a driver stores it. The payload is the outbox's encoded string: drivers store it and
 * hand it back, they never look inside.
 */
export interface StoredJob {
  /** The job's id (a UUID), unique across queues. */
  readonly id: string;
  /** The handler that delivers it (`email`, `sms`). */
  readonly queue: string;
  /** The encoded payload. */
  readonly payload: string;
  /** The caller's key, unique per queue while the job is kept. */
  readonly idempotencyKey: string | undefined;
  /** Where the job is. */
  readonly state: JobState;
  /** Delivery attempts started (breaker waits are given back and not counted). */
  readonly attempts: number;
  /** Attempts whose outcome was unknown (a timeout after the request left): each may have delivered. */
  readonly ambiguous: number;
  /** When a pending job may next be claimed (ms since the epoch). */
  readonly runAt: number;
  /** When an in-flight job's lease ends and another worker may claim it. */
  readonly leaseUntil: number | undefined;
  /** The claim that holds the lease: results of an older claim are ignored. */
  readonly lease: number;
  /** When the job was accepted. */
  readonly createdAt: number;
  /** When the job last changed. */
  readonly updatedAt: number;
  /** A one-line summary of the last failure, for people. */
  readonly lastError: string | undefined;
  /** Why a dead job died. */
  readonly deadReason: DeadReason | undefined;
}

/** A job to store: {@link OutboxDriver.enqueue}. */
export interface NewJob {
  readonly id: string;
  readonly queue: string;
  readonly payload: string;
  readonly idempotencyKey: string | undefined;
  readonly runAt: number;
  readonly now: number;
}

/** What {@link OutboxDriver.enqueue} did. */
export interface EnqueueResult {
  /** The stored job's id: the new one, or the existing job's when the key was taken. */
  readonly id: string;
  /** True when a job with the same queue and idempotency key already existed (nothing was stored). */
  readonly duplicate: boolean;
}

/** Arguments of {@link OutboxDriver.claim}. */
export interface ClaimRequest {
  /** Only jobs of these queues. */
  readonly queues: readonly string[];
  /** The most jobs to claim. */
  readonly limit: number;
  /** The current time. */
  readonly now: number;
  /** The lease length: the job may be claimed again at `now + leaseMs`. */
  readonly leaseMs: number;
}

/** A failed attempt to schedule again: {@link OutboxDriver.reschedule}. */
export interface Reschedule {
  readonly runAt: number;
  readonly now: number;
  /** Give the attempt back (a breaker wait: nothing was sent). */
  readonly refund: boolean;
  /** The outcome may have been a delivery. */
  readonly ambiguous: boolean;
  readonly error: string;
}

/** Filter of {@link OutboxDriver.list}. */
export interface ListRequest {
  readonly state?: JobState | undefined;
  readonly queue?: string | undefined;
  /** @default 100 */
  readonly limit?: number | undefined;
}

/**
 * Job counts by state: what `@tracks/metrics` exports as `outbox_jobs{queue,state}`. A type
 * literal, not an interface, so that it is a `Record<string, number>` to structural observers.
 */
export type JobCounts = {
  /** Waiting to be claimed (ready now or scheduled later). */
  pending: number;
  /** Claimed by a worker (its lease may have expired: then it is claimed again). */
  inflight: number;
  /** Delivered and kept for the retention period (idempotency keys stay taken). */
  delivered: number;
  /** Dead letters: given up, waiting for a person. */
  dead: number;
};

/**
 * Storage of an outbox. Every method is one atomic state change: the memory driver holds no
 * lock across awaits, the SQLite driver runs each in one transaction. A driver does not decide
 * anything (the outbox does); it makes the decision durable and guards it with the lease token,
 * so a worker whose lease expired cannot overwrite the decision of the worker that took over.
 *
 * Any storage that implements this and passes `describeOutboxDriverContract` from
 * `@tracks/outbox/testing` works.
 */
export interface OutboxDriver {
  /** The driver's name, for messages: `memory`, `sqlite`, `bullmq`. */
  readonly name: string;
  /**
   * Stores a job, unless a job of the same queue and idempotency key is kept (in any state,
   * delivered jobs until their retention ends). Resolves once the job is durable.
   */
  enqueue(job: NewJob): Promise<EnqueueResult>;
  /**
   * Claims up to `limit` jobs of `queues` that are due: pending with `runAt <= now`, or in flight
   * with an expired lease (a worker died). Each claimed job gets `attempts + 1`, a new lease token
   * and `leaseUntil = now + leaseMs`. Oldest `runAt` first.
   */
  claim(request: ClaimRequest): Promise<StoredJob[]>;
  /**
   * Marks a job delivered and keeps it until `purgeAt` (its key stays taken). A delivery is a
   * fact whoever reports it: it is recorded even if the lease was taken over since.
   */
  complete(id: string, lease: number, now: number, purgeAt: number): Promise<void>;
  /** Puts a claimed job back to pending at `runAt`; ignored (false) when `lease` is no longer the job's. */
  reschedule(id: string, lease: number, change: Reschedule): Promise<boolean>;
  /** Moves a claimed job to the dead letters; ignored (false) when `lease` is no longer the job's. */
  bury(id: string, lease: number, reason: DeadReason, error: string, now: number): Promise<boolean>;
  /** Moves a dead job back to pending, due at `now`, with its attempts reset; false if it is not dead. */
  revive(id: string, now: number): Promise<boolean>;
  /** One job, or undefined. */
  get(id: string): Promise<StoredJob | undefined>;
  /** Jobs, oldest first. */
  list(request: ListRequest): Promise<StoredJob[]>;
  /** Counts by state (all queues when `queues` is undefined). */
  counts(queues?: readonly string[]): Promise<JobCounts>;
  /** The earliest time a job of `queues` becomes due (a pending `runAt` or an in-flight lease end). */
  nextDueAt(queues: readonly string[]): Promise<number | undefined>;
  /** Deletes delivered jobs whose retention ended by `now`; returns how many. */
  purge(now: number): Promise<number>;
  /** Releases the storage (connections, file handles). */
  close(): Promise<void>;
}
