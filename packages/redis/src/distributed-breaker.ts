import {
  type BreakerSnapshot,
  CircuitBreaker,
  type Counts,
  type Disposer,
  Emitter,
  type ExclusionEvent,
  type ExecuteResult,
  type FailureEvent,
  type Listener,
  OpenStateError,
  type RejectEvent,
  type Settings,
  State,
  type StateChangeEvent,
  type SuccessEvent,
  TooManyRequestsError,
} from '@tracks/breaker';
import { BREAKER_SCRIPT, type BreakerOperation, type BreakerReply, decodeReply } from './breaker-script.js';
import { defineScript, type RedisClient } from './redis-client.js';
import { waitAtMost, withBudget } from './store-budget.js';

/** Settings of {@link createDistributedBreaker}: the local breaker's, plus how to use Redis. */
export interface DistributedSettings extends Settings {
  /**
   * Name of the breaker (`email:ses`), required: its state lives under `tracks:breaker:<name>`.
   * Letters, digits and `: . _ - / @`, at most 200 characters. Every instance that shares the
   * breaker must pass the same settings.
   */
  name: string;
  /**
   * The most a call waits for Redis, in ms: for its admission and its outcome together (the time
   * your function runs does not count). When Redis is slower or unreachable, the call goes on
   * with the breaker's local state, `onStoreError` reports it, and the breaker uses Redis again
   * once it answers. A recording the caller stopped waiting for still completes (or fails) in
   * the background, under the same budget.
   * @default 50
   */
  storeTimeout?: number | undefined;
  /**
   * While Redis is failing, how often (by the breaker's clock) a call checks in the background
   * whether it answers again, in ms. Calls never wait for that check.
   * @default 1000
   */
  storeRetryInterval?: number | undefined;
  /**
   * Lifetime of the Redis key after its last use, in ms: a breaker nobody uses leaves nothing
   * behind. Must exceed `timeout` and `interval`, or an open breaker or a window could vanish
   * while still meant to hold.
   * @default the largest of one hour, twice `timeout` and twice `interval`
   */
  keyTtl?: number | undefined;
}

/** What `onStoreError` listeners receive: Redis could not be used for a step of a call. */
export interface StoreErrorEvent {
  /** Name of the breaker. */
  readonly name: string;
  /** Why: a {@link StoreTimeoutError}, a connection error, a script error. */
  readonly error: unknown;
}

/** The Redis key prefix of breaker state. */
export const BREAKER_KEY_PREFIX = 'tracks:breaker:';
const NAME = /^[\w.:@/-]{1,200}$/;
const COMMAND = 'tracksBreakerV1';
const HOUR = 3_600_000;
const CODE_OPEN = -1;
const CODE_BUSY = -2;
const ZERO_COUNTS: Counts = Object.freeze({
  requests: 0,
  totalSuccesses: 0,
  totalFailures: 0,
  totalExclusions: 0,
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
});

/** As the script spells them: success, failure, exclusion. */
type Outcome = 's' | 'f' | 'e';

interface Admission {
  /** >= 0: admitted with this ticket; CODE_OPEN or CODE_BUSY: rejected. */
  readonly ticket: number;
  readonly generation: number;
  readonly state: State;
  /** For CODE_BUSY: ms until a probe slot frees, or -1. */
  readonly retryAfterMs: number;
}

interface PendingOutcome {
  readonly generation: number;
  readonly ticket: number;
  readonly outcome: Outcome;
  readonly resolve: () => void;
}

/**
 * A circuit breaker whose state is shared by every instance of an app through Redis, with the
 * semantics of `CircuitBreaker` from `@tracks/breaker`. Make one with {@link createDistributedBreaker}.
 *
 * Each call costs at most one round trip before it (the admission) and one after it (the
 * outcome), each ONE atomic Lua script; no lock is held while the call runs. While the breaker
 * is open, calls are rejected locally until the shared expiry, without touching Redis.
 *
 * `readyToTrip` is a function of yours, so it cannot run inside Redis: the outcome script returns
 * the shared counts after a failure, the instance asks its `readyToTrip`, and on `true` it opens
 * the breaker with a compare-and-set on the window's generation — one more round trip, and only
 * on the call that trips it. Of several instances that decide to trip the same window, one does.
 */
export class DistributedCircuitBreaker<T = unknown> {
  /** Name of the breaker. */
  readonly name: string;
  /** The Redis key of its state (`tracks:breaker:<name>`). */
  readonly key: string;

  readonly #script: (...args: (string | number)[]) => Promise<unknown>;
  readonly #args: readonly number[];
  readonly #timeout: number;
  readonly #storeTimeout: number;
  readonly #storeRetryInterval: number;
  readonly #readyToTrip: (counts: Counts) => boolean;
  readonly #isSuccessful: ((error: unknown) => boolean) | undefined;
  readonly #isExcluded: ((error: unknown) => boolean) | undefined;
  readonly #onStateChangeSetting: ((name: string, from: State, to: State) => void) | undefined;
  readonly #buckets: number;
  readonly #clock: () => number;

  // the last shared state this instance knows
  #state: State = State.Closed;
  #generation = 0;
  #start = 0;
  #expiry = -1;
  #isolated = false;
  #counts: Counts = ZERO_COUNTS;
  /** Until when calls are rejected locally without asking Redis. */
  #openUntil = Number.NEGATIVE_INFINITY;

  /** The local breaker that serves calls while Redis is failing. */
  readonly #fallback: CircuitBreaker<T>;
  #degraded = false;
  #restoring = false;
  #retryStoreAt = 0;
  #resync: Promise<void> | undefined;

  // calls of the current tick waiting for their admission, outcomes waiting to be recorded
  #admissions: ((admission: Admission | undefined) => void)[] | undefined;
  #outcomes: PendingOutcome[] | undefined;

  #observers: Observers | undefined;

  /** @throws TypeError for invalid settings, as the local breaker, and for an invalid name or store setting. */
  constructor(redis: RedisClient, settings: DistributedSettings) {
    if (typeof settings !== 'object' || settings === null) {
      throw new TypeError('createDistributedBreaker needs settings with a name');
    }
    const { storeTimeout, storeRetryInterval, keyTtl, onStateChange, ...local } = settings;
    if (typeof local.name !== 'string' || !NAME.test(local.name)) {
      throw new TypeError(
        `distributed breaker name must be 1 to 200 letters, digits or ": . _ - / @", got ${JSON.stringify(local.name)}`,
      );
    }
    if (typeof redis?.defineCommand !== 'function') {
      throw new TypeError('createDistributedBreaker needs an ioredis client');
    }
    // the local breaker validates the shared settings exactly as it would for itself
    this.#fallback = new CircuitBreaker<T>(local);
    const r = resolve(local);
    this.name = local.name;
    this.key = BREAKER_KEY_PREFIX + local.name;
    this.#timeout = r.timeout;
    this.#buckets = r.buckets;
    this.#storeTimeout = positive('storeTimeout', storeTimeout ?? 50);
    this.#storeRetryInterval = nonNegative('storeRetryInterval', storeRetryInterval ?? 1000);
    const ttl = Math.ceil(positive('keyTtl', keyTtl ?? Math.max(HOUR, 2 * r.timeout, 2 * r.interval)));
    if (ttl <= r.timeout || ttl <= r.interval) {
      throw new TypeError(
        `distributed breaker "${this.name}": keyTtl (${ttl} ms) must exceed timeout (${r.timeout} ms) and interval (${r.interval} ms)`,
      );
    }
    this.#args = [r.maxRequests, r.interval, r.bucketPeriod, r.buckets, r.timeout, r.probeTimeout, ttl];
    this.#readyToTrip = local.readyToTrip ?? ((c) => c.consecutiveFailures > 5);
    this.#isSuccessful = local.isSuccessful;
    this.#isExcluded = local.isExcluded;
    this.#onStateChangeSetting = onStateChange;
    const now = local.now ?? Date.now;
    // whole ms: the times travel through Lua, whose replies are integers
    this.#clock = () => Math.floor(now());
    this.#script = defineScript(redis, COMMAND, BREAKER_SCRIPT);
    this.#forwardFallbackEvents();
  }

  /**
   * The state this instance last learnt from Redis, with the open period's end applied by the
   * local clock; no round trip (see {@link refresh}). While Redis is failing: the local state.
   */
  get state(): State {
    return this.#degraded ? this.#fallback.state : this.#known();
  }

  /** The counts this instance last learnt from Redis (a copy); while Redis is failing, the local ones. */
  get counts(): Counts {
    return this.#degraded ? this.#fallback.counts : { ...this.#counts };
  }

  /** True while Redis is failing and calls are served by the local state. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /**
   * Runs `fn` if the shared breaker admits it and records its outcome in Redis before the
   * returned promise settles (unless that would take the call past `storeTimeout`); resolves with what `fn` returns or rejects with what it throws,
   * unchanged. A rejected call is not made: the promise rejects with an `OpenStateError` or a
   * `TooManyRequestsError` from `@tracks/breaker`.
   */
  execute<R extends T>(fn: () => R | PromiseLike<R>): Promise<R> {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('execute() needs a function'));
    const now = this.#clock();
    if (this.#degraded) return this.#executeLocally(fn, now);
    // open: every instance rejects on its own until the shared expiry, without a round trip
    if (this.#state === State.Open && now < this.#openUntil) return Promise.reject(this.#rejectOpen(now));
    return this.#execute(fn, now);
  }

  /** As {@link execute}, but never rejects: resolves `{ ok: true, value }` or `{ ok: false, error }`. */
  tryExecute<R extends T>(fn: () => R | PromiseLike<R>): Promise<ExecuteResult<R>> {
    return this.execute(fn).then(succeeded, failed) as Promise<ExecuteResult<R>>;
  }

  /**
   * Fetches the shared state (one round trip, within `storeTimeout`) and resolves with it; when
   * Redis fails, reports it through `onStoreError` and resolves with the local state.
   */
  async refresh(): Promise<State> {
    await this.#step('read');
    return this.state;
  }

  /** Opens the breaker for every instance and holds it open until {@link reset}. */
  async isolate(): Promise<void> {
    if (!(await this.#step('isolate'))) this.#fallback.isolate();
  }

  /** Returns the shared breaker to a fresh closed state: counts cleared, isolation lifted. */
  async reset(): Promise<void> {
    if (!(await this.#step('reset'))) this.#fallback.reset();
  }

  /** Listens to state changes this instance sees (`{ name, from, to }`); returns the disposer. */
  onStateChange(listener: Listener<StateChangeEvent>): Disposer {
    return this.#observe().stateChanges.on(listener);
  }

  /** Listens to calls that counted as successes (`{ name, state, durationMs }`); returns the disposer. */
  onSuccess(listener: Listener<SuccessEvent>): Disposer {
    return this.#observe().successes.on(listener);
  }

  /** Listens to calls that failed (`{ name, state, error }`); returns the disposer. */
  onFailure(listener: Listener<FailureEvent>): Disposer {
    return this.#observe().failures.on(listener);
  }

  /** Listens to calls whose error was excluded (`{ name, state, error }`); returns the disposer. */
  onExclusion(listener: Listener<ExclusionEvent>): Disposer {
    return this.#observe().exclusions.on(listener);
  }

  /** Listens to rejected calls (`{ name, reason: 'open' | 'too-many-requests' }`); returns the disposer. */
  onReject(listener: Listener<RejectEvent>): Disposer {
    return this.#observe().rejections.on(listener);
  }

  /**
   * Listens to failures to use Redis (`{ name, error }`): each time a step of a call fell back to
   * the local state. `@tracks/metrics` counts them as `circuit_breaker_store_errors_total`.
   */
  onStoreError(listener: Listener<StoreErrorEvent>): Disposer {
    return this.#observe().storeErrors.on(listener);
  }

  async #execute<R extends T>(fn: () => R | PromiseLike<R>, now: number): Promise<R> {
    const asked = performance.now();
    const admission = await this.#admit();
    if (admission === undefined) return this.#fallback.execute(fn);
    if (admission.ticket < 0) {
      throw admission.ticket === CODE_OPEN ? this.#rejectOpen(now) : this.#rejectBusy(admission.retryAfterMs);
    }
    // a call waits for Redis at most storeTimeout in all: what the admission left, for the outcome
    const left = this.#storeTimeout - (performance.now() - asked);
    const { generation, ticket, state } = admission;
    let value: R;
    try {
      value = await fn();
    } catch (error) {
      await waitAtMost(this.#settle(generation, ticket, state, now, error), left);
      throw error;
    }
    this.#emitSuccess(state, now);
    await waitAtMost(this.#record(generation, ticket, 's'), left);
    return value;
  }

  // Admissions asked for in one tick share one script call: under load an instance sends one
  // admission per tick instead of one per call. A single caller waits no longer for it.
  #admit(): Promise<Admission | undefined> {
    return new Promise((resolve) => {
      if (this.#admissions === undefined) {
        this.#admissions = [];
        process.nextTick(() => void this.#flushAdmissions());
      }
      this.#admissions.push(resolve);
    });
  }

  async #flushAdmissions(): Promise<void> {
    const waiters = this.#admissions ?? [];
    this.#admissions = undefined;
    const reply = await this.#call('admit', this.#clock(), [waiters.length]);
    for (let i = 0; i < waiters.length; i++) {
      const resolve = waiters[i]!;
      if (reply === undefined) resolve(undefined);
      else if (i < reply.admitted) {
        // closed: every call of the batch counts in the same bucket; half-open: consecutive probe ids
        const ticket = reply.state === State.Closed ? reply.code : reply.code + i;
        resolve({ ticket, generation: reply.generation, state: reply.state, retryAfterMs: -1 });
      } else {
        const ticket = reply.code === CODE_OPEN ? CODE_OPEN : CODE_BUSY;
        resolve({ ticket, generation: reply.generation, state: reply.state, retryAfterMs: reply.extra });
      }
    }
  }

  // Outcomes of one tick share one script call too, applied in order.
  #record(generation: number, ticket: number, outcome: Outcome): Promise<void> {
    return new Promise((resolve) => {
      if (this.#outcomes === undefined) {
        this.#outcomes = [];
        process.nextTick(() => void this.#flushOutcomes());
      }
      this.#outcomes.push({ generation, ticket, outcome, resolve });
    });
  }

  async #flushOutcomes(): Promise<void> {
    const batch = this.#outcomes ?? [];
    this.#outcomes = undefined;
    const args: (number | string)[] = [batch.length];
    for (const o of batch) args.push(o.generation, o.ticket, o.outcome);
    const reply = await this.#call('record', this.#clock(), args);
    // the instance that sees readyToTrip say yes opens the breaker, with a compare-and-set on
    // the window's generation: one more round trip, only when tripping
    for (const counts of reply?.failures ?? []) {
      if (this.#shouldTrip(counts)) {
        await this.#call('trip', this.#clock(), [counts.generation]);
        break;
      }
    }
    for (const o of batch) o.resolve();
  }

  #executeLocally<R extends T>(fn: () => R | PromiseLike<R>, now: number): Promise<R> {
    if (now >= this.#retryStoreAt && this.#resync === undefined) {
      // one background check at a time; the call does not wait for it
      this.#retryStoreAt = now + this.#storeRetryInterval;
      this.#resync = this.#step('read').then(() => {
        this.#resync = undefined;
      });
    }
    return this.#fallback.execute(fn);
  }

  async #settle(
    generation: number,
    ticket: number,
    state: State,
    startedAt: number,
    error: unknown,
  ): Promise<void> {
    let excluded = false;
    let successful = false;
    try {
      excluded = this.#isExcluded?.(error) === true;
      successful = !excluded && this.#isSuccessful?.(error) === true;
    } catch {
      // a classifier that throws cannot vouch for the call: it counts as a failure
      excluded = false;
      successful = false;
    }
    if (successful) {
      this.#emitSuccess(state, startedAt);
      await this.#record(generation, ticket, 's');
      return;
    }
    const observers = this.#observers;
    if (excluded) {
      if (observers?.exclusions.active) observers.exclusions.emit({ name: this.name, state, error });
      await this.#record(generation, ticket, 'e');
      return;
    }
    if (observers?.failures.active) observers.failures.emit({ name: this.name, state, error });
    await this.#record(generation, ticket, 'f');
  }

  #shouldTrip(counts: Counts): boolean {
    try {
      return this.#readyToTrip(copyCounts(counts)) === true;
    } catch {
      return false; // a throwing readyToTrip never breaks the call it judges
    }
  }

  #emitSuccess(state: State, startedAt: number): void {
    const successes = this.#observers?.successes;
    if (successes?.active) successes.emit({ name: this.name, state, durationMs: this.#clock() - startedAt });
  }

  // One script call within the budget. Resolves with the reply, learnt; or, when Redis fails,
  // reports it, switches to the local state and resolves undefined. Never rejects.
  async #call(
    op: BreakerOperation,
    now: number,
    args: readonly (number | string)[] = [],
  ): Promise<BreakerReply | undefined> {
    let reply: BreakerReply;
    try {
      const command = this.#script(this.key, op, now, ...this.#args, ...args);
      reply = decodeReply(await withBudget(command, this.#storeTimeout, this.name));
    } catch (error) {
      this.#storeFailed(error, now);
      return undefined;
    }
    if (this.#degraded) {
      // Redis is back: the shared state wins over what this instance did alone meanwhile
      this.#degraded = false;
      this.#state = this.#fallback.state;
    }
    this.#learn(reply.state, reply.generation, reply.expiry, reply.start, reply.isolated, reply, now);
    return reply;
  }

  // A step that is not a call (read, isolate, reset): true if Redis did it.
  async #step(op: BreakerOperation): Promise<boolean> {
    return (await this.#call(op, this.#clock())) !== undefined;
  }

  #storeFailed(error: unknown, now: number): void {
    const storeErrors = this.#observers?.storeErrors;
    if (storeErrors?.active) storeErrors.emit({ name: this.name, error });
    if (this.#degraded) return;
    // the local breaker carries on from the last shared state this instance knows; its counts
    // start afresh (the shared window's are in Redis)
    const snapshot = this.#snapshot(now);
    this.#restoring = true;
    try {
      this.#fallback.restore(snapshot);
    } finally {
      this.#restoring = false;
    }
    this.#degraded = true;
    this.#retryStoreAt = now + this.#storeRetryInterval;
  }

  // The shared state as last learnt, with the end of the open period applied by the local clock.
  #known(): State {
    if (this.#state === State.Open && !this.#isolated && this.#clock() >= this.#expiry) {
      this.#learn(State.HalfOpen, this.#generation, -1, this.#expiry, false, ZERO_COUNTS);
    }
    return this.#state;
  }

  #snapshot(now: number): BreakerSnapshot {
    const state = this.#known();
    const isolated = state === State.Open && this.#isolated;
    return {
      version: 1,
      name: this.name,
      state,
      generation: 0,
      counts: ZERO_COUNTS,
      buckets: this.#buckets > 1 ? Array.from({ length: this.#buckets }, () => ZERO_COUNTS) : [],
      age: 0,
      start: state === State.HalfOpen ? now : this.#start,
      expiry: this.#expiry >= 0 && !isolated ? this.#expiry : null,
      isolated,
    };
  }

  #learn(
    state: State,
    generation: number,
    expiry: number,
    start: number,
    isolated: boolean,
    counts: Counts,
    now = 0,
  ): void {
    const from = this.#state;
    this.#state = state;
    this.#generation = generation;
    this.#expiry = expiry;
    this.#start = start;
    this.#isolated = isolated;
    this.#counts = copyCounts(counts);
    // an isolated breaker has no expiry: this instance asks again after one open timeout, so that
    // a reset() made elsewhere reaches it
    this.#openUntil =
      state !== State.Open ? Number.NEGATIVE_INFINITY : isolated ? now + this.#timeout : expiry;
    if (from !== state) this.#notify(from, state);
  }

  #notify(from: State, to: State): void {
    const callback = this.#onStateChangeSetting;
    if (callback !== undefined) {
      try {
        callback(this.name, from, to);
      } catch {
        // observers never change the breaker's course
      }
    }
    this.#observers?.stateChanges.emit({ name: this.name, from, to });
  }

  #rejectOpen(now: number): OpenStateError {
    const rejections = this.#observers?.rejections;
    if (rejections?.active) rejections.emit({ name: this.name, reason: 'open' });
    const retryAfterMs = this.#isolated ? this.#timeout : Math.max(0, Math.ceil(this.#expiry - now));
    return openStateError(this.name, retryAfterMs);
  }

  #rejectBusy(retryAfterMs: number): TooManyRequestsError {
    const rejections = this.#observers?.rejections;
    if (rejections?.active) rejections.emit({ name: this.name, reason: 'too-many-requests' });
    return tooManyRequestsError(this.name, retryAfterMs >= 0 ? retryAfterMs : undefined);
  }

  #observe(): Observers {
    this.#observers ??= new Observers();
    return this.#observers;
  }

  // While Redis fails the local breaker serves the calls: its events are this breaker's events.
  #forwardFallbackEvents(): void {
    const f = this.#fallback;
    f.onStateChange(({ from, to }) => {
      if (this.#restoring || !this.#degraded) return;
      this.#notify(from, to);
    });
    f.onSuccess((event) => this.#observers?.successes.emit(event));
    f.onFailure((event) => this.#observers?.failures.emit(event));
    f.onExclusion((event) => this.#observers?.exclusions.emit(event));
    f.onReject((event) => this.#observers?.rejections.emit(event));
  }
}

/**
 * Creates a {@link DistributedCircuitBreaker}: the local breaker's semantics, with its state kept
 * in Redis under `tracks:breaker:<name>` and shared by every instance that uses the same name.
 * It satisfies `Breaker` from `@tracks/breaker`, so `resilience({ breaker })` accepts it.
 *
 * @example
 * const breaker = createDistributedBreaker(redis, { ...presets.email, name: 'email:ses' });
 * const policy = resilience({ breaker, retry: { maxAttempts: 3 } });
 * await policy.execute(() => ses.send(message));
 */
export function createDistributedBreaker<T = unknown>(
  redis: RedisClient,
  settings: DistributedSettings,
): DistributedCircuitBreaker<T> {
  return new DistributedCircuitBreaker<T>(redis, settings);
}

class Observers {
  readonly stateChanges: Emitter<StateChangeEvent> = new Emitter();
  readonly successes: Emitter<SuccessEvent> = new Emitter();
  readonly failures: Emitter<FailureEvent> = new Emitter();
  readonly exclusions: Emitter<ExclusionEvent> = new Emitter();
  readonly rejections: Emitter<RejectEvent> = new Emitter();
  readonly storeErrors: Emitter<StoreErrorEvent> = new Emitter();
}

// The local breaker's settings rules (packages/breaker/src/settings.ts), for the numbers the
// script needs; the local breaker built from the same settings has already validated them.
function resolve(settings: Settings) {
  const num = (value: number | undefined): number => value ?? 0;
  const maxRequests = num(settings.maxRequests) <= 0 ? 1 : num(settings.maxRequests);
  const intervalSetting = num(settings.interval);
  const bucketSetting = num(settings.bucketPeriod);
  let interval = 0;
  let bucketPeriod = 0;
  let buckets = 1;
  if (intervalSetting > 0 && bucketSetting > 0) {
    buckets = Math.ceil(intervalSetting / bucketSetting);
    interval = buckets * bucketSetting;
    bucketPeriod = buckets > 1 ? bucketSetting : 0;
  } else if (intervalSetting > 0) {
    interval = intervalSetting;
  }
  const timeout = num(settings.timeout) <= 0 ? 60_000 : num(settings.timeout);
  const probeTimeout = Math.max(settings.probeTimeout === undefined ? timeout : settings.probeTimeout, 0);
  return { maxRequests, interval, bucketPeriod, buckets, timeout, probeTimeout };
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`distributed breaker setting "${name}" must be a positive finite number of ms`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`distributed breaker setting "${name}" must be a finite number of ms >= 0`);
  }
  return value;
}

function copyCounts(c: Counts): Counts {
  return {
    requests: c.requests,
    totalSuccesses: c.totalSuccesses,
    totalFailures: c.totalFailures,
    totalExclusions: c.totalExclusions,
    consecutiveSuccesses: c.consecutiveSuccesses,
    consecutiveFailures: c.consecutiveFailures,
  };
}

// Rejections without a captured stack, as the local breaker makes them (see its rejections.ts:
// an open breaker may reject many thousands of calls a second, and a stack is most of the cost).
// They share the classes' prototypes, so they are instances of them and carry their brands.
function openStateError(breaker: string, retryAfterMs: number): OpenStateError {
  const error = Object.create(OpenStateError.prototype) as { breaker: string; retryAfterMs: number };
  error.breaker = breaker;
  error.retryAfterMs = retryAfterMs;
  return error as OpenStateError;
}

function tooManyRequestsError(breaker: string, retryAfterMs: number | undefined): TooManyRequestsError {
  const error = Object.create(TooManyRequestsError.prototype) as { breaker: string; retryAfterMs?: number };
  error.breaker = breaker;
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs;
  return error as TooManyRequestsError;
}

function succeeded<R>(value: R): ExecuteResult<R> {
  return { ok: true, value };
}

function failed(error: unknown): ExecuteResult<never> {
  return { ok: false, error };
}
