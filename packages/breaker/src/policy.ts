import { neverAbortedSignal } from './abort.js';
import { Bulkhead, type BulkheadOptions, BulkheadRejectedError } from './bulkhead.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { type Disposer, Emitter, type Listener } from './event.js';
import {
  notify,
  type RetryOptions,
  type RetryReporter,
  type RetrySchedule,
  resolveRetryOptions,
  runRetries,
} from './retry.js';
import type { Settings } from './settings.js';
import type { State } from './state.js';
import { isAmbiguous, isExcludedFromBreaker } from './taxonomy.js';
import { checkTimeout, DeadlineCall } from './timeout.js';

/**
 * What a policy needs of a breaker: a name, a state and `execute`. {@link CircuitBreaker}
 * satisfies it, and so can a breaker whose state lives elsewhere (the Redis distributed breaker).
 */
export interface Breaker {
  /** Name of the breaker (`email:ses`): the policy's events carry it. */
  readonly name: string;
  /** The current state. */
  readonly state: State;
  /** Runs `fn` if the breaker admits it and records its outcome; rejects with the breaker's rejection if not. */
  execute<R>(fn: () => R | PromiseLike<R>): Promise<R>;
}

/** What a policy hands to each attempt of `fn`. */
export interface ExecuteContext {
  /**
   * Aborts when the attempt's deadline passes (the policy's `timeout`, cut to what is left of
   * the retry budget) or the caller's signal aborts: pass it to the SDK.
   */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
}

/** Per-call options of {@link Policy.execute}. */
export interface ExecuteOptions {
  /**
   * The caller's signal: aborting it ends the call (or its wait) at once, rejecting with its reason.
   * @default the policy's `retry.signal`, if any
   */
  signal?: AbortSignal;
  /**
   * Overrides the policy's `idempotent` for this call: a send passes `false`, so an ambiguous
   * timeout is not retried.
   * @default the policy's `idempotent`
   */
  idempotent?: boolean;
}

/** A policy is about to retry: attempt number `attempt` failed with `error`; the next starts in `delayMs`. */
export interface PolicyRetryEvent {
  /** The policy's name (its breaker's, unless the options named it). */
  readonly name: string;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** The wait before the next attempt, in ms. */
  readonly delayMs: number;
  /** What the attempt failed with. */
  readonly error: unknown;
}

/** A policy's call failed for good after `attempts` attempts with `error` (what the caller receives). */
export interface PolicyGiveUpEvent {
  /** The policy's name. */
  readonly name: string;
  /** How many attempts were made. */
  readonly attempts: number;
  /** The error the caller receives. */
  readonly error: unknown;
  /**
   * True when the call stopped because the caller's signal aborted (the error is then the
   * signal's reason); false when it ran out: not retryable, out of retries or of budget.
   */
  readonly aborted: boolean;
}

/** A policy's call succeeded on attempt number `attempts`, `durationMs` after it started (waits included). */
export interface PolicySuccessEvent {
  /** The policy's name. */
  readonly name: string;
  /** How many attempts it took. */
  readonly attempts: number;
  /** Time from the call to its success, retries and waits included, in ms. */
  readonly durationMs: number;
}

/** A composition of retry, breaker, bulkhead and timeout around calls; see {@link resilience}. */
export interface Policy {
  /** Runs `fn` through the policy's layers; resolves with its value or rejects with the last error, unwrapped. */
  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, options?: ExecuteOptions): Promise<T>;
  /** The breaker this policy runs through, for metrics and dashboards; undefined without one. */
  readonly breaker: Breaker | undefined;
  /** Listens to retries (`{ name, attempt, delayMs, error }`); returns the disposer. */
  onRetry(listener: Listener<PolicyRetryEvent>): Disposer;
  /** Listens to calls that failed for good (`{ name, attempts, error, aborted }`); returns the disposer. */
  onGiveUp(listener: Listener<PolicyGiveUpEvent>): Disposer;
  /** Listens to successful calls (`{ name, attempts, durationMs }`); returns the disposer. */
  onSuccess(listener: Listener<PolicySuccessEvent>): Disposer;
}

/** Options of {@link resilience}. */
export interface ResilienceOptions {
  /**
   * The name the policy's events carry.
   * @default the breaker's name, or '' without a breaker
   */
  name?: string;
  /**
   * Retry options, or `false` for a single attempt. `maxElapsed` bounds the whole call: each
   * attempt's timeout is cut to what is left of it.
   * @default {} (3 retries, exponential backoff with full jitter, 30 s budget)
   */
  retry?: RetryOptions | false;
  /**
   * The breaker each attempt runs through: a {@link CircuitBreaker} or any {@link Breaker}
   * (shared, observed elsewhere), {@link Settings} to create a `CircuitBreaker` from, or `false` for
   * none. A breaker created here excludes what {@link isExcludedFromBreaker} excludes, on top of
   * the settings' own `isExcluded`.
   * @default {} (a CircuitBreaker with default settings)
   */
  breaker?: Breaker | Settings | false;
  /**
   * Deadline of each attempt, in ms (a {@link TimeoutError} at the deadline, and the attempt's
   * signal aborts).
   * @default undefined (no deadline beyond the retry budget)
   */
  timeout?: number;
  /**
   * Limits concurrent attempts: options, or a {@link Bulkhead} shared with other policies. A
   * bulkhead rejection never reaches the breaker.
   * @default undefined (no limit)
   */
  bulkhead?: BulkheadOptions | Bulkhead;
  /**
   * Whether calls may safely run twice. Non-idempotent calls (sends) do not retry ambiguous
   * timeouts. {@link ExecuteOptions.idempotent} overrides it per call.
   * @default true
   */
  idempotent?: boolean;
  /**
   * Retry ambiguous timeouts of non-idempotent calls too, accepting possible duplicates.
   * @default false
   */
  retryAmbiguous?: boolean;
}

/**
 * Composes the layers, outermost first: retry → breaker → bulkhead → timeout → `fn`. Each attempt
 * makes one breaker call, so the breaker counts attempts and an open breaker's rejection (with its
 * `retryAfterMs`) reaches the retry, which waits for it or gives up within `maxElapsed`. A
 * bulkhead rejection is not counted by the breaker. Each attempt's deadline is the `timeout`, cut
 * to what is left of `maxElapsed`.
 *
 * @example
 * const policy = resilience({ retry: { maxRetries: 2 }, breaker: presets.email, timeout: 5_000, bulkhead: { limit: 10, queue: 100 } });
 * await policy.execute(({ signal }) => adapter.send(message, { signal }), { signal, idempotent: false });
 */
export function resilience(options: ResilienceOptions = {}): Policy {
  return new ResiliencePolicy(options);
}

/**
 * True for a {@link Policy}: an object with `execute`, `onRetry`, `onGiveUp` and `onSuccess`
 * (so a policy from another copy of this package, or one written by hand, qualifies).
 */
export function isPolicy(value: unknown): value is Policy {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.execute === 'function' &&
    typeof p.onRetry === 'function' &&
    typeof p.onGiveUp === 'function' &&
    typeof p.onSuccess === 'function'
  );
}

/** Defaults of {@link asPolicy}. */
export interface AsPolicyDefaults {
  /**
   * Settings of the breaker to create when the options have no `breaker` (a family passes its
   * preset with the provider's name: `{ ...presets.email, name: 'email:ses' }`).
   * @default undefined (a CircuitBreaker with default settings)
   */
  breaker?: Settings;
}

/**
 * What `withResilience(adapter, policyOrOptions)` does with its argument: a {@link Policy} is
 * returned as it is; options (or nothing) make a new policy with {@link resilience}, and when they
 * name no `breaker`, its breaker is created from `defaults.breaker`.
 *
 * @example
 * const policy = asPolicy(options, { breaker: { ...presets.email, name: `email:${adapter.provider}` } });
 */
export function asPolicy(
  policyOrOptions: Policy | ResilienceOptions | undefined,
  defaults?: AsPolicyDefaults,
): Policy {
  if (isPolicy(policyOrOptions)) return policyOrOptions;
  if (policyOrOptions !== undefined && (typeof policyOrOptions !== 'object' || policyOrOptions === null)) {
    throw new TypeError('asPolicy: expected a policy made by resilience() or its options object');
  }
  const options = policyOrOptions ?? {};
  if (options.breaker === undefined && defaults?.breaker !== undefined) {
    return new ResiliencePolicy({ ...options, breaker: defaults.breaker });
  }
  return new ResiliencePolicy(options);
}

class ResiliencePolicy implements Policy {
  readonly breaker: Breaker | undefined;
  readonly #name: string;
  readonly #schedule: RetrySchedule | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #timeout: number;
  readonly #bulkhead: Bulkhead | undefined;
  readonly #idempotent: boolean;
  readonly #retryAmbiguous: boolean;
  readonly #retryIfIdempotent: ((error: unknown, attempt: number) => boolean) | undefined;
  readonly #retryIfNotIdempotent: ((error: unknown, attempt: number) => boolean) | undefined;
  readonly #reporter: RetryReporter;
  // created by the first subscription: a policy nobody watches builds no event objects
  #retries: Emitter<PolicyRetryEvent> | undefined;
  #giveUps: Emitter<PolicyGiveUpEvent> | undefined;
  #successes: Emitter<PolicySuccessEvent> | undefined;

  constructor(options: ResilienceOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('resilience: options must be an object');
    }
    for (const key of ['idempotent', 'retryAmbiguous'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean') {
        throw new TypeError(`resilience: ${key} must be a boolean`);
      }
    }
    if (options.name !== undefined && typeof options.name !== 'string') {
      throw new TypeError('resilience: name must be a string');
    }
    if (options.timeout !== undefined) checkTimeout(options.timeout, 'resilience: timeout');
    this.breaker = toBreaker(options.breaker, options.name);
    this.#name = options.name ?? this.breaker?.name ?? '';
    this.#timeout = options.timeout ?? Number.POSITIVE_INFINITY;
    this.#bulkhead =
      options.bulkhead === undefined
        ? undefined
        : options.bulkhead instanceof Bulkhead
          ? options.bulkhead
          : new Bulkhead(options.bulkhead);
    this.#idempotent = options.idempotent ?? true;
    this.#retryAmbiguous = options.retryAmbiguous ?? false;
    if (options.retry !== false) {
      const schedule = resolveRetryOptions(options.retry ?? {});
      this.#schedule = schedule;
      this.#signal = options.retry?.signal;
      this.#retryIfIdempotent = schedule.retryIf;
      // a send that timed out may have been delivered: retrying it could deliver twice
      this.#retryIfNotIdempotent = (error, attempt) =>
        !isAmbiguous(error) && schedule.retryIf(error, attempt);
    }
    this.#reporter = {
      retry: (attempt, delayMs, error) => {
        if (this.#schedule?.onRetry !== undefined)
          notify(this.#schedule.onRetry, { attempt, delayMs, error });
        if (this.#retries?.active) this.#retries.emit({ name: this.#name, attempt, delayMs, error });
      },
      giveUp: (attempts, error, aborted) => {
        if (this.#schedule?.onGiveUp !== undefined) {
          notify(this.#schedule.onGiveUp, { attempts, error, aborted });
        }
        if (this.#giveUps?.active) this.#giveUps.emit({ name: this.#name, attempts, error, aborted });
      },
    };
  }

  execute<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, options?: ExecuteOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('execute() needs a function'));
    const signal = options?.signal ?? this.#signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const schedule = this.#schedule;
    if (schedule === undefined) return this.#once(fn, signal);

    const idempotent = options?.idempotent ?? this.#idempotent;
    const retryIf = idempotent || this.#retryAmbiguous ? this.#retryIfIdempotent : this.#retryIfNotIdempotent;
    const startedAt = schedule.now();
    const maxElapsed = schedule.maxElapsed;
    let attempts = 0;
    const result = runRetries(
      schedule,
      (attempt) => {
        attempts = attempt;
        // the attempt gets what is left of the budget, so the last one cannot overrun it
        const left = maxElapsed - (schedule.now() - startedAt);
        return this.#attempt(fn, attempt, signal, left < this.#timeout ? Math.max(0, left) : this.#timeout);
      },
      signal,
      startedAt,
      retryIf,
      this.#reporter,
    );
    if (this.#successes === undefined) return result;
    return result.then((value) => {
      if (this.#successes?.active) {
        this.#successes.emit({ name: this.#name, attempts, durationMs: schedule.now() - startedAt });
      }
      return value;
    });
  }

  onRetry(listener: Listener<PolicyRetryEvent>): Disposer {
    this.#retries ??= new Emitter();
    return this.#retries.on(listener);
  }

  onGiveUp(listener: Listener<PolicyGiveUpEvent>): Disposer {
    this.#giveUps ??= new Emitter();
    return this.#giveUps.on(listener);
  }

  onSuccess(listener: Listener<PolicySuccessEvent>): Disposer {
    this.#successes ??= new Emitter();
    return this.#successes.on(listener);
  }

  // Without retry: one attempt, and the give-up and success events the retry loop would report.
  #once<T>(fn: (ctx: ExecuteContext) => PromiseLike<T> | T, signal: AbortSignal | undefined): Promise<T> {
    const startedAt = this.#successes === undefined ? 0 : Date.now();
    let result: Promise<T>;
    try {
      result = this.#attempt(fn, 1, signal, this.#timeout);
    } catch (error) {
      result = Promise.reject(error);
    }
    if (this.#successes === undefined && this.#giveUps === undefined) return result;
    return result.then(
      (value) => {
        if (this.#successes?.active) {
          this.#successes.emit({ name: this.#name, attempts: 1, durationMs: Date.now() - startedAt });
        }
        return value;
      },
      (error: unknown) => {
        if (this.#giveUps?.active) {
          this.#giveUps.emit({ name: this.#name, attempts: 1, error, aborted: signal?.aborted === true });
        }
        throw error;
      },
    );
  }

  // One attempt: breaker → bulkhead → timeout → fn.
  #attempt<T>(
    fn: (ctx: ExecuteContext) => PromiseLike<T> | T,
    attempt: number,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<T> {
    const run =
      timeoutMs === Number.POSITIVE_INFINITY && signal === undefined
        ? () => fn({ signal: neverAbortedSignal(), attempt })
        : () => new DeadlineCall<T>(timeoutMs, signal, attempt).run(fn);
    const bulkhead = this.#bulkhead;
    if (bulkhead === undefined) return this.#guarded(run);

    // The bulkhead place is taken before the breaker is asked, so a full bulkhead rejects
    // without touching the breaker: a rejection of ours says nothing about the provider.
    if (bulkhead.tryAcquire()) {
      return this.#guarded(run).then(
        (value) => {
          bulkhead.release();
          return value;
        },
        (error: unknown) => {
          bulkhead.release();
          throw error;
        },
      );
    }
    const waiter = bulkhead.enqueue(signal);
    if (waiter === undefined)
      return Promise.reject(new BulkheadRejectedError(bulkhead.limit, bulkhead.queue));
    // release() leaves the queue if the breaker rejected before the call started, or frees the slot
    return this.#guarded(() => waiter.ready.then(run)).then(
      (value) => {
        waiter.release();
        return value;
      },
      (error: unknown) => {
        waiter.release();
        throw error;
      },
    );
  }

  #guarded<T>(run: () => PromiseLike<T> | T): Promise<T> {
    // a hand-written breaker may throw synchronously: the bulkhead slot must still be freed
    try {
      return this.breaker !== undefined ? this.breaker.execute(run) : Promise.resolve(run());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function toBreaker(
  option: Breaker | Settings | false | undefined,
  name: string | undefined,
): Breaker | undefined {
  if (option === false) return undefined;
  if (option !== undefined && (typeof option !== 'object' || option === null)) {
    throw new TypeError('resilience: breaker must be a breaker, breaker settings or false');
  }
  if (isBreaker(option)) return option;
  const settings: Settings = option ?? {};
  const own = settings.isExcluded;
  if (own !== undefined && typeof own !== 'function') {
    throw new TypeError('resilience: breaker.isExcluded must be a function');
  }
  return new CircuitBreaker({
    ...settings,
    name: settings.name ?? name ?? '',
    isExcluded:
      own === undefined || own === isExcludedFromBreaker
        ? isExcludedFromBreaker
        : (error) => isExcludedFromBreaker(error) || own(error),
  });
}

function isBreaker(value: Breaker | Settings | undefined): value is Breaker {
  return value !== undefined && typeof (value as { execute?: unknown }).execute === 'function';
}
