/**
 * The three states of a circuit breaker, as strings so that they read well in logs, JSON and
 * metrics labels.
 *
 * - `closed`: calls pass and their outcomes are counted;
 * - `open`: calls are rejected at once with an {@link OpenStateError} until the open `timeout` ends;
 * - `half-open`: up to `maxRequests` probe calls pass; their outcomes decide between closed and open.
 */
export const State = { Closed: 'closed', HalfOpen: 'half-open', Open: 'open' } as const;

/** One of the values of {@link State}: `'closed' | 'half-open' | 'open'`. */
export type State = (typeof State)[keyof typeof State];

/**
 * The numbers of requests and of their outcomes in the current window (closed state) or in the
 * current half-open period. A breaker clears them on every state change and when its closed-state
 * window moves on; results of calls admitted before a clear are ignored.
 */
export interface Counts {
  /** Calls admitted (each counted when it starts). */
  readonly requests: number;
  /** Calls that completed successfully, or whose error `isSuccessful` accepted. */
  readonly totalSuccesses: number;
  /** Calls that failed. */
  readonly totalFailures: number;
  /** Calls whose error `isExcluded` accepted: neither success nor failure. */
  readonly totalExclusions: number;
  /** Successes since the last failure. */
  readonly consecutiveSuccesses: number;
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
}

/** True for one of the three {@link State} values. */
export function isState(value: unknown): value is State {
  return value === State.Closed || value === State.HalfOpen || value === State.Open;
}
