import type { State } from './state.js';

/** A breaker changed state. */
export interface StateChangeEvent {
  /** Name of the breaker. */
  readonly name: string;
  /** The state it left. */
  readonly from: State;
  /** The state it entered. */
  readonly to: State;
}

/**
 * A call succeeded: it resolved, or `isSuccessful` accepted its error. Emitted for every such
 * call, also for one whose outcome no longer counts (admitted before a state change or reset).
 */
export interface SuccessEvent {
  /** Name of the breaker. */
  readonly name: string;
  /** The state the call was admitted in. */
  readonly state: State;
  /**
   * How long the call took, by the breaker's clock, in ms. `NaN` for a call that a breaker without
   * a counting window admitted before its first listener was attached (its start was not timed).
   */
  readonly durationMs: number;
}

/**
 * A call failed: it threw or rejected, and the error was neither excluded nor a success. Emitted
 * for every such call, also for one whose outcome no longer counts.
 */
export interface FailureEvent {
  /** Name of the breaker. */
  readonly name: string;
  /** The state the call was admitted in. */
  readonly state: State;
  /** What the call threw, unchanged. */
  readonly error: unknown;
  /**
   * How long the call took, by the breaker's clock, in ms. `CircuitBreaker` and
   * `TwoStepCircuitBreaker` always set it (reading the clock only when a listener exists);
   * optional so that other breakers emitting this shape may leave it out.
   */
  readonly durationMs?: number;
}

/** A call threw an error that `isExcluded` accepted: it counted neither way. */
export interface ExclusionEvent {
  /** Name of the breaker. */
  readonly name: string;
  /** The state the call was admitted in. */
  readonly state: State;
  /** What the call threw, unchanged. */
  readonly error: unknown;
  /**
   * How long the call took, by the breaker's clock, in ms. `CircuitBreaker` and
   * `TwoStepCircuitBreaker` always set it (reading the clock only when a listener exists);
   * optional so that other breakers emitting this shape may leave it out.
   */
  readonly durationMs?: number;
}

/** A call was rejected without being made. */
export interface RejectEvent {
  /** Name of the breaker. */
  readonly name: string;
  /** `open`: the breaker is open; `too-many-requests`: every half-open probe slot is taken. */
  readonly reason: 'open' | 'too-many-requests';
}
