import { onAbort } from './abort.js';
import type { Disposer } from './event.js';

const timeoutErrorBrand: unique symbol = Symbol.for('tracks.TimeoutError');
// setTimeout stores its delay in 32 bits: anything longer fires at once. Longer deadlines are
// treated as no deadline (24.8 days is beyond any call's budget).
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A call did not finish before its deadline. The request may still have reached the provider
 * (an email may be delivered), so a policy retries it only for idempotent operations, or with
 * `retryAmbiguous: true`. It counts against a breaker.
 */
export class TimeoutError extends Error {
  /** Always `'timeout'`, as a {@link ProviderError} of kind `timeout`. */
  readonly kind = 'timeout' as const;
  /** The deadline that passed, in ms. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, message?: string) {
    super(
      message ??
        `call timed out after ${timeoutMs} ms; its signal was aborted, but the request may still reach the provider`,
    );
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
    Object.defineProperty(this, timeoutErrorBrand, { value: true });
  }
}

/** True for a {@link TimeoutError} from any copy of this package. */
export function isTimeoutError(error: unknown): error is TimeoutError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[timeoutErrorBrand] === true
  );
}

/** Options of {@link withTimeout}. */
export interface WithTimeoutOptions {
  /**
   * The caller's signal: when it aborts, so does the signal handed to `fn`, and the call rejects
   * at once with the signal's reason.
   * @default undefined (no caller signal)
   */
  signal?: AbortSignal;
}

/**
 * Runs `fn` with a deadline. The signal handed to `fn` aborts at the deadline (reason: a
 * {@link TimeoutError}) or when `options.signal` aborts (its reason). The promise rejects with
 * the `TimeoutError` at the deadline even if `fn` ignores its signal, and with the caller's
 * reason when the caller aborts. The timer and the listener on the caller's signal are removed as
 * soon as the call settles.
 *
 * @param ms the deadline in ms; `Infinity` (or more than 2³¹−1) means none
 * @example
 * const page = await withTimeout((signal) => fetch(url, { signal }), 5_000, { signal: request.signal });
 */
export function withTimeout<T>(
  fn: (signal: AbortSignal) => PromiseLike<T> | T,
  ms: number,
  options: WithTimeoutOptions = {},
): Promise<T> {
  checkTimeout(ms);
  const call = new DeadlineCall<T>(ms, options.signal, 1);
  return call.run((ctx) => fn(ctx.signal));
}

/** Throws a `TypeError` unless `ms` is a number of ms >= 0 (`Infinity` allowed). */
export function checkTimeout(ms: unknown, what = 'timeout'): void {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new TypeError(`${what} must be a number of ms >= 0, got ${String(ms)}`);
  }
}

/**
 * One call under a deadline and a caller's signal: the context handed to the callee (its
 * `signal` is created only when the callee reads it — most fast calls never do), the timer, and
 * the hook on the caller's signal. Internal: the policy and {@link withTimeout} share it.
 */
export class DeadlineCall<T = unknown> {
  readonly attempt: number;
  #ms: number;
  #parent: AbortSignal | undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;
  #settled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unhook: Disposer | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((reason: unknown) => void) | undefined;

  constructor(ms: number, parent: AbortSignal | undefined, attempt: number) {
    this.#ms = ms;
    this.#parent = parent;
    this.attempt = attempt;
  }

  /** The signal for the callee: aborted at the deadline or with the caller's signal. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Runs `fn(this)` once and settles with it, the deadline or the caller's abort, whichever is first. */
  run(fn: (ctx: DeadlineCall<T>) => PromiseLike<T> | T): Promise<T> {
    const parent = this.#parent;
    if (parent?.aborted) return Promise.reject(parent.reason);
    return new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      if (this.#ms <= MAX_TIMER_MS) this.#timer = setTimeout(this.#onDeadline, this.#ms);
      if (parent !== undefined) this.#unhook = onAbort(parent, this.#onCallerAbort);
      let result: PromiseLike<T> | T;
      try {
        result = fn(this);
        // inside the try: a foreign thenable's `then` may throw, and the timer must still go
        if (isPromiseLike(result)) {
          result.then(this.#succeed, this.#fail);
          return;
        }
      } catch (error) {
        this.#fail(error);
        return;
      }
      this.#succeed(result);
    });
  }

  #succeed = (value: T): void => {
    if (this.#settled) return;
    this.#cleanup();
    this.#resolve!(value);
  };

  #fail = (error: unknown): void => {
    if (this.#settled) return;
    this.#cleanup();
    this.#reject!(error);
  };

  #onDeadline = (): void => {
    this.#timer = undefined;
    const error = new TimeoutError(this.#ms);
    this.#abort(error);
    this.#fail(error);
  };

  #onCallerAbort = (reason: unknown): void => {
    this.#abort(reason);
    this.#fail(reason);
  };

  #abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  #cleanup(): void {
    this.#settled = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#unhook !== undefined) {
      this.#unhook();
      this.#unhook = undefined;
    }
  }
}

function isPromiseLike<T>(value: PromiseLike<T> | T): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}
