/**
 * How long to wait before the next attempt, in ms. `attempt` is the number of the attempt that
 * just failed (1 after the first call), `error` what it failed with, `previousDelayMs` the wait
 * chosen before the previous attempt (undefined before the first retry) — only decorrelated
 * jitter needs it. Any `(attempt, error) => number` function is a backoff.
 */
export type Backoff = (attempt: number, error: unknown, previousDelayMs?: number) => number;

/**
 * How randomness spreads the delays of many clients apart (see AWS's "Exponential Backoff And
 * Jitter"): `none` — exactly `initial * factor^(attempt-1)`, capped at `max`; `full` — uniform in
 * `[0, that]`; `equal` — uniform in `[that/2, that]`; `decorrelated` — uniform in
 * `[initial, 3 × the previous delay]`, capped at `max`.
 */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /**
   * The delay before the first retry, in ms (before jitter).
   * @default 1000
   */
  initial?: number;
  /**
   * What each delay is multiplied by.
   * @default 2
   */
  factor?: number;
  /**
   * The longest delay, in ms.
   * @default 30_000
   */
  max?: number;
  /**
   * How delays are randomized.
   * @default 'full'
   */
  jitter?: Jitter;
  /**
   * A source of uniform random numbers in [0, 1), injectable for tests.
   * @default Math.random
   */
  random?: () => number;
}

const JITTERS: readonly Jitter[] = ['none', 'full', 'equal', 'decorrelated'];

/**
 * Exponential backoff: `initial`, `initial × factor`, `initial × factor²` … capped at `max`, then
 * jittered. With `{ jitter: 'none' }` the defaults give exactly 1 s, 2 s, 4 s, 8 s ….
 *
 * @example
 * retry(fn, { backoff: exponentialBackoff({ initial: 200, max: 5_000, jitter: 'equal' }) })
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const initial = options.initial ?? 1000;
  const factor = options.factor ?? 2;
  const max = options.max ?? 30_000;
  const jitter = options.jitter ?? 'full';
  const random = options.random ?? Math.random;
  checkDuration('initial', initial);
  checkDuration('max', max);
  if (!Number.isFinite(factor) || factor < 1) {
    throw new TypeError(`exponentialBackoff: factor must be a finite number >= 1, got ${String(factor)}`);
  }
  if (!JITTERS.includes(jitter)) {
    throw new TypeError(
      `exponentialBackoff: jitter must be one of ${JITTERS.join(', ')}, got ${String(jitter)}`,
    );
  }
  if (typeof random !== 'function') throw new TypeError('exponentialBackoff: random must be a function');

  const ceiling = (attempt: number): number =>
    Math.min(max, initial * factor ** Math.max(0, Math.floor(attempt) - 1));

  switch (jitter) {
    case 'none':
      return (attempt) => ceiling(attempt);
    case 'full':
      return (attempt) => random() * ceiling(attempt);
    case 'equal':
      return (attempt) => {
        const base = ceiling(attempt);
        return base / 2 + (random() * base) / 2;
      };
    case 'decorrelated':
      return (_attempt, _error, previousDelayMs) => {
        const previous =
          previousDelayMs === undefined || previousDelayMs < initial ? initial : previousDelayMs;
        const low = Math.min(initial, max);
        const high = Math.min(max, previous * 3);
        return low + random() * (high - low);
      };
  }
}

/**
 * The same delay before every retry.
 *
 * @example
 * retry(fn, { backoff: constantBackoff(500) })
 */
export function constantBackoff(delayMs: number): Backoff {
  checkDuration('delayMs', delayMs);
  return () => delayMs;
}

function checkDuration(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`backoff: ${name} must be a finite number of ms >= 0, got ${String(value)}`);
  }
}
