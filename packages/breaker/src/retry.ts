import { neverAbortedSignal, onAbort } from './abort.js';
import { type Backoff, exponentialBackoff } from './backoff.js';
import { isMessageScoped } from './errors.js';
import { isRetryable } from './taxonomy.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** What {@link retry} hands to each attempt. */
export interface RetryContext {
  /** 1 for the first call, 2 for the first retry, … */
  readonly attempt: number;
  /** The caller's signal (a signal that never aborts when there is none): pass it to the SDK. */
  readonly signal: AbortSignal;
}

/** A retry is about to wait `delayMs` after attempt number `attempt` failed with `error`. */
export interface RetryEvent {
  /** The attempt that failed (1 for the first call); the next one is `attempt + 1`. */
  readonly attempt: number;
  /** How long retry waits before the next attempt, in ms. */
  readonly delayMs: number;
  /** What the attempt failed with. */
  readonly error: unknown;
}

/** Retry stopped after `attempts` attempts; `error` is what the caller receives. */
export interface GiveUpEvent {
  /** How many attempts were made. */
  readonly attempts: number;
  /** The error thrown to the caller. */
  readonly error: unknown;
  /** True when retry stopped because the caller's signal aborted; false when it ran out (not retryable, retries or budget). */
  readonly aborted: boolean;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Options of {@link retry} (and of a policy's `retry`). */
export interface RetryOptions {
  /**
   * Retries after the first attempt (so at most `maxRetries + 1` attempts). `Infinity` leaves
   * the limit to `maxElapsed`.
   * @default 3
   */
  maxRetries?: number;
  /**
   * Budget in ms for all attempts and waits together. A wait that would end at or past it is not
   * started: retry gives up at once with the last error. In a policy each attempt's timeout is
   * also cut to what is left of it.
   * @default 30_000
   */
  maxElapsed?: number;
  /**
   * The wait before each retry, in ms. A `retryAfterMs` on the error (a throttled provider, an
   * open breaker) is a lower bound on it.
   * @default exponentialBackoff({ initial: 1000, factor: 2, max: 30_000, jitter: 'full' })
   */
  backoff?: Backoff;
  /**
   * Whether to retry after `error` on attempt number `attempt`. Message-scoped `invalid` and
   * `permanent` errors are never retried, whatever this says.
   * @default isRetryable
   */
  retryIf?: (error: unknown, attempt: number) => boolean;
  /**
   * Aborting it ends a wait at once and rejects with the signal's reason; it is also handed to
   * every attempt.
   * @default undefined (no signal)
   */
  signal?: AbortSignal;
  /**
   * Called before each wait.
   * @default undefined
   */
  onRetry?: (event: RetryEvent) => void;
  /**
   * Called once when retry stops with an error (not retryable, out of retries or budget, or
   * aborted).
   * @default undefined
   */
  onGiveUp?: (event: GiveUpEvent) => void;
  /**
   * The clock, in ms, for the `maxElapsed` budget; injectable for tests.
   * @default Date.now
   */
  now?: () => number;
  /**
   * How to wait; injectable for tests.
   * @default a setTimeout that is cleared when the signal aborts
   */
  sleep?: Sleep;
}

/** RetryOptions with every default applied and checked once (a policy resolves them at creation). */
export interface RetrySchedule {
  readonly maxRetries: number;
  readonly maxElapsed: number;
  readonly backoff: Backoff;
  readonly retryIf: (error: unknown, attempt: number) => boolean;
  readonly now: () => number;
  readonly sleep: Sleep;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  readonly onGiveUp: ((event: GiveUpEvent) => void) | undefined;
}

/** How the retry loop reports; the policy adds its name and its own listeners. */
export interface RetryReporter {
  retry(attempt: number, delayMs: number, error: unknown): void;
  giveUp(attempts: number, error: unknown, aborted: boolean): void;
}

/**
 * Calls `fn` until it resolves, retrying errors that `retryIf` accepts after a backoff, within
 * `maxRetries` and the `maxElapsed` budget. A `retryAfterMs` on the error is honoured as the least
 * wait — so an open breaker is never retried before it admits a probe — and when it does not fit
 * the budget, retry gives up at once instead of sleeping. The last error is thrown as it was;
 * observers learn the number of attempts from `onGiveUp`. No timer outlives the call.
 *
 * @example
 * const result = await retry(({ signal }) => client.send(command, { abortSignal: signal }), {
 *   maxRetries: 5,
 *   signal: request.signal,
 *   onRetry: ({ attempt, delayMs, error }) => log.warn({ attempt, delayMs, error }, 'retrying'),
 * });
 */
export function retry<T>(
  fn: (ctx: RetryContext) => PromiseLike<T> | T,
  options: RetryOptions = {},
): Promise<T> {
  let schedule: RetrySchedule;
  try {
    schedule = resolveRetryOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const signal = options.signal;
  const ctxSignal = signal ?? neverAbortedSignal();
  const reporter: RetryReporter | undefined =
    schedule.onRetry === undefined && schedule.onGiveUp === undefined
      ? undefined
      : callbacksReporter(schedule);
  const startedAt = schedule.now();
  return runRetries(
    schedule,
    (attempt) => fn({ attempt, signal: ctxSignal }),
    signal,
    startedAt,
    undefined,
    reporter,
  );
}

/** Applies the defaults of {@link RetryOptions} and validates them; throws a `TypeError` on bad input. */
export function resolveRetryOptions(options: RetryOptions): RetrySchedule {
  const maxRetries = options.maxRetries ?? 3;
  const maxElapsed = options.maxElapsed ?? 30_000;
  if (
    typeof maxRetries !== 'number' ||
    maxRetries < 0 ||
    !(Number.isInteger(maxRetries) || maxRetries === Number.POSITIVE_INFINITY)
  ) {
    throw new TypeError(`retry: maxRetries must be an integer >= 0 or Infinity, got ${String(maxRetries)}`);
  }
  if (typeof maxElapsed !== 'number' || Number.isNaN(maxElapsed) || maxElapsed < 0) {
    throw new TypeError(`retry: maxElapsed must be a number of ms >= 0, got ${String(maxElapsed)}`);
  }
  for (const key of ['backoff', 'retryIf', 'onRetry', 'onGiveUp', 'now', 'sleep'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new TypeError(`retry: ${key} must be a function`);
    }
  }
  return {
    maxRetries,
    maxElapsed,
    backoff: options.backoff ?? exponentialBackoff(),
    retryIf: options.retryIf ?? defaultRetryIf,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? sleep,
    onRetry: options.onRetry,
    onGiveUp: options.onGiveUp,
  };
}

/**
 * The retry loop shared by {@link retry} and policies. `attempt(n)` runs attempt number `n`;
 * `retryIf` overrides the schedule's (a policy adds its idempotency rule).
 */
export async function runRetries<T>(
  schedule: RetrySchedule,
  attempt: (attempt: number) => PromiseLike<T> | T,
  signal: AbortSignal | undefined,
  startedAt: number,
  retryIf: ((error: unknown, attempt: number) => boolean) | undefined,
  reporter: RetryReporter | undefined,
): Promise<T> {
  if (signal?.aborted) throw signal.reason;
  let previousDelay: number | undefined;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (signal?.aborted) {
        reporter?.giveUp(n, signal.reason, true);
        throw signal.reason;
      }
      const delay = nextDelay(schedule, error, n, schedule.now() - startedAt, previousDelay, retryIf);
      if (delay === undefined) {
        reporter?.giveUp(n, error, false);
        throw error;
      }
      reporter?.retry(n, delay, error);
      try {
        await schedule.sleep(delay, signal);
        // an injected sleep may ignore the signal; the abort still wins
        if (signal?.aborted) throw signal.reason;
      } catch (reason) {
        reporter?.giveUp(n, reason, signal?.aborted === true);
        throw reason;
      }
      previousDelay = delay;
    }
  }
}

/**
 * The wait before the attempt after number `attempt`, or `undefined` to give up: not retryable,
 * out of retries, or the wait (at least the error's `retryAfterMs`) would not end before the
 * budget does.
 */
function nextDelay(
  schedule: RetrySchedule,
  error: unknown,
  attempt: number,
  elapsed: number,
  previousDelay: number | undefined,
  retryIf: ((error: unknown, attempt: number) => boolean) | undefined,
): number | undefined {
  if (attempt > schedule.maxRetries || isMessageScoped(error)) return undefined;
  if (!(retryIf ?? schedule.retryIf)(error, attempt)) return undefined;
  let delay = schedule.backoff(attempt, error, previousDelay);
  if (Number.isNaN(delay) || delay < 0) delay = 0;
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined && retryAfter > delay) delay = retryAfter;
  delay = Math.ceil(delay);
  if (elapsed + delay >= schedule.maxElapsed) return undefined;
  return delay;
}

/** The `retryAfterMs` an error carries (a throttled provider, an open breaker), if any. */
function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && value >= 0 && Number.isFinite(value) ? value : undefined;
}

function defaultRetryIf(error: unknown): boolean {
  return isRetryable(error);
}

function callbacksReporter(schedule: RetrySchedule): RetryReporter {
  return {
    retry(attempt, delayMs, error) {
      if (schedule.onRetry !== undefined) notify(schedule.onRetry, { attempt, delayMs, error });
    },
    giveUp(attempts, error, aborted) {
      if (schedule.onGiveUp !== undefined) notify(schedule.onGiveUp, { attempts, error, aborted });
    },
  };
}

/** Calls an observer; one that throws must not change the outcome of the call it observes. */
export function notify<E>(listener: (event: E) => void, event: E): void {
  try {
    listener(event);
  } catch {
    // observers never break the call they observe
  }
}

/**
 * Waits `ms` milliseconds; rejects with the signal's reason as soon as it aborts, clearing the
 * timer and its listener. The default `sleep` of {@link retry}.
 *
 * @example
 * await sleep(250, signal);
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (!(ms > 0)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        unhook();
        resolve();
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    const unhook = onAbort(signal, (reason) => {
      clearTimeout(timer);
      reject(reason);
    });
  });
}
