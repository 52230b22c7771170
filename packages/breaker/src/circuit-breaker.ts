import type {
  ExclusionEvent,
  FailureEvent,
  RejectEvent,
  StateChangeEvent,
  SuccessEvent,
} from './breaker-events.js';
import { type Disposer, Emitter, type Listener } from './event.js';
import { openStateError, tooManyRequestsError } from './rejections.js';
import { RollingCounts } from './rolling-counts.js';
import { resolveSettings, type Settings } from './settings.js';
import { type BreakerSnapshot, validateSnapshot } from './snapshot.js';
import { type Counts, State } from './state.js';

/** What {@link CircuitBreaker.tryExecute} resolves to: the value, or what the call threw. */
export type ExecuteResult<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

// Tickets returned by `#admit`: a non-negative ticket is the bucket age (closed) or the probe id
// (half-open) of an admitted call; a negative one says why the call was rejected.
const REJECTED_OPEN = -1;
const REJECTED_BUSY = -2;

/** @internal Lets `TwoStepCircuitBreaker` use the admission and recording steps of a breaker. */
export let allowCall: (breaker: CircuitBreaker) => (error?: unknown) => void;

/**
 * A circuit breaker with the semantics of sony/gobreaker v2: it counts the outcomes of the calls
 * it runs, opens when `readyToTrip` says so, rejects calls while open, lets `maxRequests` probes
 * through when the open `timeout` is over (half-open), and closes after that many consecutive
 * successes — any half-open failure opens it again.
 *
 * There are no timers: every transition is evaluated when the breaker is used or read, so an idle
 * breaker costs nothing and never keeps a process alive.
 *
 * @example
 * const breaker = new CircuitBreaker({ name: 'email:ses', timeout: 30_000, readyToTrip: failureRatio({ ratio: 0.5, minRequests: 10 }) });
 * const id = await breaker.execute(() => ses.send(message)); // rejects with OpenStateError while open
 */
export class CircuitBreaker<T = unknown> {
  /** Name of the breaker, from the settings. */
  readonly name: string;

  readonly #maxRequests: number;
  readonly #interval: number;
  readonly #bucketPeriod: number;
  readonly #timeout: number;
  readonly #probeTimeout: number;
  readonly #readyToTrip: (counts: Counts) => boolean;
  readonly #onStateChangeSetting: ((name: string, from: State, to: State) => void) | undefined;
  readonly #isSuccessful: ((error: unknown) => boolean) | undefined;
  readonly #isExcluded: ((error: unknown) => boolean) | undefined;
  readonly #now: () => number;

  #state: State = State.Closed;
  #generation = 0;
  readonly #counts: RollingCounts;
  /** Start of the current generation: the window, open or half-open period. */
  #start = 0;
  /** End of the fixed window (closed) or of the open period; Infinity: never. */
  #expiry = Number.POSITIVE_INFINITY;
  /** The next moment time changes anything: `#expiry`, or the next bucket of a rolling window. */
  #deadline = Number.POSITIVE_INFINITY;
  /** Clock reading of the latest admission, so that a call reads the clock once. */
  #admittedAt = 0;
  /** The half-open probes in flight, when probes can time out. */
  #probes: Probes | undefined;

  // created by the first subscription: a breaker nobody watches allocates no emitter, and
  // keeps one field for all five (memory per breaker counts when there are thousands)
  #observers: Observers | undefined;

  static {
    allowCall = (breaker) => breaker.#allow();
  }

  /** @throws TypeError for invalid settings (NaN or infinite numbers, a non-integer `maxRequests`, callbacks that are not functions). */
  constructor(settings?: Settings) {
    const s = resolveSettings(settings);
    this.name = s.name;
    this.#maxRequests = s.maxRequests;
    this.#interval = s.interval;
    this.#bucketPeriod = s.bucketPeriod;
    this.#timeout = s.timeout;
    this.#probeTimeout = s.probeTimeout;
    this.#readyToTrip = s.readyToTrip;
    this.#onStateChangeSetting = s.onStateChange;
    this.#isSuccessful = s.isSuccessful;
    this.#isExcluded = s.isExcluded;
    this.#now = s.now;
    this.#counts = new RollingCounts(s.buckets);
    this.#newGeneration(this.#now());
  }

  /** The current state, after applying the transitions that time has made due (as gobreaker's `State()`). */
  get state(): State {
    return this.#current(this.#now());
  }

  /** A copy of the counts of the current window or half-open period. */
  get counts(): Counts {
    return this.#counts.toJSON();
  }

  /**
   * Runs `fn` if the breaker admits it and records its outcome. Resolves with what `fn` returns or
   * rejects with what it throws, unchanged — also a non-`Error` value. A rejected call is not made:
   * the promise rejects with an {@link OpenStateError} or a {@link TooManyRequestsError}.
   *
   * The outcome is recorded before the returned promise settles, so the breaker has counted the
   * call by the time the caller sees its result. A failure the caller never handles surfaces as an
   * unhandled rejection, exactly as `fn()` alone would.
   */
  execute<R extends T>(fn: () => R | PromiseLike<R>): Promise<R> {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('execute() needs a function'));
    const ticket = this.#admit();
    if (ticket < 0) return Promise.reject(this.#reject(ticket));
    const generation = this.#generation;
    const state = this.#state;
    const startedAt = this.#admittedAt;
    let promise: Promise<R>;
    try {
      const result = fn();
      // a native promise is used as is: Promise.resolve() would check its constructor, which
      // costs more than the instanceof test (measured ~9 ns of a ~105 ns call)
      promise = result instanceof Promise ? result : Promise.resolve(result);
    } catch (error) {
      this.#settle(generation, ticket, state, startedAt, error);
      return Promise.reject(error);
    }
    // The caller gets the promise of the recording reaction, not `promise` itself: a rejection
    // handler marks its promise handled, so returning `promise` would swallow a failure that the
    // caller never awaited. The price is one microtask more before the caller resumes (about
    // 10 ns a call, measured); sharing the two handlers between calls saved nothing measurable.
    return promise.then(
      (value) => {
        this.#succeed(generation, ticket, state, startedAt);
        return value;
      },
      (error: unknown) => {
        this.#settle(generation, ticket, state, startedAt, error);
        throw error;
      },
    );
  }

  /** As {@link execute}, but never rejects: resolves `{ ok: true, value }` or `{ ok: false, error }`. */
  tryExecute<R extends T>(fn: () => R | PromiseLike<R>): Promise<ExecuteResult<R>> {
    try {
      return this.execute(fn).then(succeeded, failed) as Promise<ExecuteResult<R>>;
    } catch (error) {
      return Promise.resolve(failed(error));
    }
  }

  /** The whole state as plain JSON, for {@link restore} here or in another process. */
  snapshot(): BreakerSnapshot {
    const state = this.#current(this.#now());
    return {
      version: 1,
      name: this.name,
      state,
      generation: this.#generation,
      counts: this.#counts.toJSON(),
      buckets: this.#counts.buckets(),
      age: this.#counts.age,
      start: this.#start,
      expiry: Number.isFinite(this.#expiry) ? this.#expiry : null,
      isolated: this.#isolated,
    };
  }

  /**
   * Takes back a {@link snapshot} (validated: a malformed one throws a `TypeError` and changes
   * nothing). Calls admitted before the restore do not count toward the restored state. Times
   * from a clock ahead of this breaker's are brought back to it: the restored window or open
   * period ends no later than this breaker's own `interval` or `timeout` from now.
   */
  restore(snapshot: BreakerSnapshot): void {
    const s = validateSnapshot(snapshot, this.#counts.size);
    const now = this.#now();
    const from = this.#state;
    this.#state = s.state;
    // always a new local generation: results of calls admitted before belong to another window
    this.#generation = Math.max(this.#generation + 1, s.generation);
    // The snapshot's times come from another clock, which may run ahead of ours: a generation
    // cannot have started in our future, and no window or open period lasts longer from now than
    // this breaker's own settings allow (else a skewed host could hold it open for hours).
    const start = Math.min(s.start, now - s.age * this.#bucketPeriod);
    this.#start = start;
    if (s.state === State.Open) {
      this.#expiry = Math.min(s.expiry ?? Number.POSITIVE_INFINITY, now + this.#timeout);
    } else if (s.state === State.Closed && this.#interval > 0 && this.#bucketPeriod === 0) {
      this.#expiry = Math.min(s.expiry ?? Number.POSITIVE_INFINITY, start + this.#interval);
    } else {
      this.#expiry = Number.POSITIVE_INFINITY; // no other state or window ends by time
    }
    this.#counts.load(s.counts, s.age, s.buckets);
    // an isolated breaker is an open one with no deadline (see `#isolated`)
    this.#deadline = s.isolated ? Number.POSITIVE_INFINITY : this.#nextDeadline();
    this.#resetProbes();
    if (s.state === State.HalfOpen && this.#probes !== undefined) {
      // probes admitted elsewhere hold slots too; they free theirs after probeTimeout like ours
      const c = s.counts;
      const inFlight = c.requests - c.totalSuccesses - c.totalFailures - c.totalExclusions;
      for (let i = 1; i <= inFlight; i++) this.#probes.inFlight.push(-i, start);
    }
    if (from !== s.state) this.#notify(from, s.state);
  }

  /** Opens the breaker and holds it open — whatever time passes — until {@link reset}. */
  isolate(): void {
    const now = this.#now();
    this.#setState(State.Open, now);
    this.#deadline = Number.POSITIVE_INFINITY; // no time-based transition until reset()
  }

  /** Returns to a fresh closed state: counts cleared, isolation lifted, a new generation. */
  reset(): void {
    const now = this.#now();
    if (this.#state === State.Closed) this.#newGeneration(now);
    else this.#setState(State.Closed, now);
  }

  /** Listens to state changes (`{ name, from, to }`); returns the disposer. */
  onStateChange(listener: Listener<StateChangeEvent>): Disposer {
    this.#observers ??= new Observers();
    return this.#observers.stateChanges.on(listener);
  }

  /** Listens to calls that counted as successes (`{ name, state, durationMs }`); returns the disposer. */
  onSuccess(listener: Listener<SuccessEvent>): Disposer {
    this.#observers ??= new Observers();
    return this.#observers.successes.on(listener);
  }

  /** Listens to calls that failed (`{ name, state, error, durationMs }`); returns the disposer. */
  onFailure(listener: Listener<FailureEvent>): Disposer {
    this.#observers ??= new Observers();
    return this.#observers.failures.on(listener);
  }

  /** Listens to calls whose error was excluded (`{ name, state, error, durationMs }`); returns the disposer. */
  onExclusion(listener: Listener<ExclusionEvent>): Disposer {
    this.#observers ??= new Observers();
    return this.#observers.exclusions.on(listener);
  }

  /** Listens to rejected calls (`{ name, reason: 'open' | 'too-many-requests' }`); returns the disposer. */
  onReject(listener: Listener<RejectEvent>): Disposer {
    this.#observers ??= new Observers();
    return this.#observers.rejections.on(listener);
  }

  #allow(): (error?: unknown) => void {
    const ticket = this.#admit();
    if (ticket < 0) throw this.#reject(ticket);
    const generation = this.#generation;
    const state = this.#state;
    const startedAt = this.#admittedAt;
    let reported = false;
    return (error?: unknown) => {
      // counted once: a second report of the same call would count a call that never happened
      if (reported) return;
      reported = true;
      // null too: Node-style callbacks report success as `callback(null, result)`
      if (error === undefined || error === null) this.#succeed(generation, ticket, state, startedAt);
      else this.#settle(generation, ticket, state, startedAt, error);
    };
  }

  // The one clock reading of a call: applies due transitions, then admits or rejects.
  #admit(): number {
    const counts = this.#counts;
    if (this.#state === State.Closed && this.#deadline === Number.POSITIVE_INFINITY) {
      // closed without a window: time changes nothing, so the clock is read only for observers
      // (unobserved, the start is unknown: NaN, so a later listener gets no made-up duration)
      this.#admittedAt = this.#observers !== undefined ? this.#now() : Number.NaN;
      counts.onRequest();
      return counts.age;
    }
    const now = this.#now();
    this.#admittedAt = now;
    const state = this.#current(now);
    if (state === State.Closed) {
      counts.onRequest();
      return counts.age;
    }
    if (state === State.Open) return REJECTED_OPEN;
    // half-open: excluded calls and timed-out probes give their slots back
    if (
      counts.requests - counts.totalExclusions - (this.#probes?.abandoned ?? 0) >= this.#maxRequests &&
      !this.#reclaim(now)
    ) {
      return REJECTED_BUSY;
    }
    const id = counts.requests;
    counts.onRequest();
    this.#probes?.inFlight.push(id, now);
    return id;
  }

  // Success path: no clock reading. A success never trips the breaker, so counting it in a fixed
  // window that has just expired is harmless — the next access clears that window anyway.
  #succeed(generation: number, ticket: number, state: State, startedAt: number): void {
    const successes = this.#observers?.successes;
    if (successes?.active) successes.emit({ name: this.name, state, durationMs: this.#now() - startedAt });
    if (generation !== this.#generation) return; // the window this call counted toward is gone
    if (this.#state === State.Closed) {
      this.#counts.onSuccess(ticket);
    } else if (this.#state === State.HalfOpen && this.#releaseProbe(ticket)) {
      this.#counts.onSuccess(0);
      if (this.#counts.consecutiveSuccesses >= this.#maxRequests) this.#setState(State.Closed, this.#now());
    }
  }

  #settle(generation: number, ticket: number, state: State, startedAt: number, error: unknown): void {
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
      this.#succeed(generation, ticket, state, startedAt);
      return;
    }
    if (excluded) {
      const exclusions = this.#observers?.exclusions;
      if (exclusions?.active) {
        exclusions.emit({ name: this.name, state, error, durationMs: this.#now() - startedAt });
      }
      if (generation !== this.#generation) return;
      if (this.#state === State.Closed) this.#counts.onExclusion(ticket);
      else if (this.#state === State.HalfOpen && this.#releaseProbe(ticket)) this.#counts.onExclusion(0);
      return;
    }
    // a failure may trip the breaker, so it is judged against the window of now, as gobreaker does
    const now = this.#now();
    const failures = this.#observers?.failures;
    if (failures?.active) failures.emit({ name: this.name, state, error, durationMs: now - startedAt });
    const current = this.#current(now);
    if (generation !== this.#generation) return;
    if (current === State.Closed) {
      this.#counts.onFailure(ticket);
      if (this.#shouldTrip()) this.#setState(State.Open, now);
    } else if (current === State.HalfOpen && this.#releaseProbe(ticket)) {
      this.#setState(State.Open, now);
    }
  }

  #shouldTrip(): boolean {
    try {
      return this.#readyToTrip(this.#counts.toJSON()) === true;
    } catch {
      return false; // a throwing readyToTrip never breaks the call it judges
    }
  }

  #reject(ticket: number): Error {
    const open = ticket === REJECTED_OPEN;
    const rejections = this.#observers?.rejections;
    if (rejections?.active) rejections.emit({ name: this.name, reason: open ? 'open' : 'too-many-requests' });
    if (open) {
      const retryAfterMs = this.#isolated
        ? this.#timeout
        : Math.max(0, Math.ceil(this.#expiry - this.#admittedAt));
      return openStateError(this.name, retryAfterMs);
    }
    const probes = this.#probes?.inFlight;
    const retryAfterMs =
      probes !== undefined && probes.length > 0
        ? Math.max(0, Math.ceil(probes[1]! + this.#probeTimeout - this.#admittedAt))
        : undefined;
    return tooManyRequestsError(this.name, retryAfterMs);
  }

  // gobreaker's currentState: the transitions that time makes, applied lazily. Until the next
  // deadline nothing is due, so the common case is one comparison.
  #current(now: number): State {
    if (now >= this.#deadline) this.#advance(now);
    return this.#state;
  }

  #advance(now: number): void {
    if (this.#state === State.Closed) {
      if (now >= this.#expiry) {
        this.#newGeneration(now);
      } else {
        const age = this.#age(now);
        this.#counts.grow(age);
        this.#deadline = this.#start + (age + 1) * this.#bucketPeriod;
      }
    } else if (this.#state === State.Open) {
      // (an isolated breaker has no deadline, so it never gets here)
      this.#setState(State.HalfOpen, now);
    }
  }

  #age(now: number): number {
    const age = Math.floor((now - this.#start) / this.#bucketPeriod);
    return Math.max(age, 0);
  }

  #setState(to: State, now: number): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#newGeneration(now);
    this.#notify(from, to);
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

  #newGeneration(now: number): void {
    this.#generation++;
    this.#start = now;
    this.#counts.clear();
    this.#resetProbes();
    if (this.#state === State.Open) this.#expiry = now + this.#timeout;
    else if (this.#state === State.Closed && this.#interval > 0 && this.#bucketPeriod === 0) {
      this.#expiry = now + this.#interval;
    } else this.#expiry = Number.POSITIVE_INFINITY;
    this.#deadline = this.#nextDeadline();
  }

  #nextDeadline(): number {
    if (this.#state === State.Open) return this.#expiry;
    if (this.#state === State.Closed && this.#bucketPeriod > 0) {
      return this.#start + (this.#counts.age + 1) * this.#bucketPeriod;
    }
    return this.#expiry;
  }

  #resetProbes(): void {
    this.#probes = this.#state === State.HalfOpen && this.#probeTimeout > 0 ? new Probes() : undefined;
  }

  // Frees the slot of the oldest probe if it has outlived probeTimeout; its result will be ignored.
  #reclaim(now: number): boolean {
    const probes = this.#probes;
    if (probes === undefined) return false;
    const inFlight = probes.inFlight;
    if (inFlight.length === 0 || now - inFlight[1]! < this.#probeTimeout) return false;
    inFlight.splice(0, 2);
    probes.abandoned++;
    return true;
  }

  // True if the probe still holds its slot (and gives it back); false if it was abandoned.
  #releaseProbe(id: number): boolean {
    const inFlight = this.#probes?.inFlight;
    if (inFlight === undefined) return true;
    for (let i = 0; i < inFlight.length; i += 2) {
      if (inFlight[i] === id) {
        inFlight.splice(i, 2);
        return true;
      }
    }
    return false;
  }

  // Held open by isolate(): open, with no deadline (an open period always has one).
  get #isolated(): boolean {
    return this.#state === State.Open && this.#deadline === Number.POSITIVE_INFINITY;
  }
}

// The half-open probes of one half-open period, kept only when probes can time out.
class Probes {
  /** In-flight probes as [id, startedAt] pairs, oldest first. */
  readonly inFlight: number[] = [];
  /** Slots given back by probes that outlived `probeTimeout`. */
  abandoned = 0;
}

class Observers {
  readonly stateChanges: Emitter<StateChangeEvent> = new Emitter();
  readonly successes: Emitter<SuccessEvent> = new Emitter();
  readonly failures: Emitter<FailureEvent> = new Emitter();
  readonly exclusions: Emitter<ExclusionEvent> = new Emitter();
  readonly rejections: Emitter<RejectEvent> = new Emitter();
}

function succeeded<R>(value: R): ExecuteResult<R> {
  return { ok: true, value };
}

function failed(error: unknown): ExecuteResult<never> {
  return { ok: false, error };
}
