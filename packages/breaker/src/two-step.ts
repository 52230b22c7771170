import type {
  ExclusionEvent,
  FailureEvent,
  RejectEvent,
  StateChangeEvent,
  SuccessEvent,
} from './breaker-events.js';
import { allowCall, CircuitBreaker } from './circuit-breaker.js';
import type { Disposer, Listener } from './event.js';
import type { Settings } from './settings.js';
import type { BreakerSnapshot } from './snapshot.js';
import type { Counts, State } from './state.js';

/**
 * A circuit breaker for calls it does not run itself (gobreaker's `TwoStepCircuitBreaker`): ask
 * {@link allow} before the call, and report its outcome through the function it returns. Same
 * settings, state machine, events, snapshots and manual control as {@link CircuitBreaker}.
 *
 * @example
 * const done = breaker.allow(); // throws OpenStateError or TooManyRequestsError
 * stream.on('finish', () => done()).on('error', (error) => done(error));
 */
export class TwoStepCircuitBreaker {
  readonly #breaker: CircuitBreaker;

  /** @throws TypeError for invalid settings, as {@link CircuitBreaker}. */
  constructor(settings?: Settings) {
    this.#breaker = new CircuitBreaker(settings);
  }

  /** Name of the breaker, from the settings. */
  get name(): string {
    return this.#breaker.name;
  }

  /** The current state, after applying the transitions that time has made due. */
  get state(): State {
    return this.#breaker.state;
  }

  /** A copy of the counts of the current window or half-open period. */
  get counts(): Counts {
    return this.#breaker.counts;
  }

  /**
   * Admits a call or throws the rejection ({@link OpenStateError}, {@link TooManyRequestsError}).
   * Returns `done`: call `done()` when the call succeeded and `done(error)` with what it threw
   * (classified by `isExcluded` and `isSuccessful`). `done(undefined)` and `done(null)` are
   * successes too, so a Node-style `(error) => done(error)` callback works as is. Only the first
   * report counts.
   */
  allow(): (error?: unknown) => void {
    return allowCall(this.#breaker);
  }

  /** The whole state as plain JSON; see {@link CircuitBreaker.snapshot}. */
  snapshot(): BreakerSnapshot {
    return this.#breaker.snapshot();
  }

  /** Takes back a snapshot, validated; see {@link CircuitBreaker.restore}. */
  restore(snapshot: BreakerSnapshot): void {
    this.#breaker.restore(snapshot);
  }

  /** Opens the breaker and holds it open until {@link reset}. */
  isolate(): void {
    this.#breaker.isolate();
  }

  /** Returns to a fresh closed state. */
  reset(): void {
    this.#breaker.reset();
  }

  /** Listens to state changes; returns the disposer. */
  onStateChange(listener: Listener<StateChangeEvent>): Disposer {
    return this.#breaker.onStateChange(listener);
  }

  /** Listens to calls reported as successes; returns the disposer. */
  onSuccess(listener: Listener<SuccessEvent>): Disposer {
    return this.#breaker.onSuccess(listener);
  }

  /** Listens to calls reported as failures; returns the disposer. */
  onFailure(listener: Listener<FailureEvent>): Disposer {
    return this.#breaker.onFailure(listener);
  }

  /** Listens to calls whose reported error was excluded; returns the disposer. */
  onExclusion(listener: Listener<ExclusionEvent>): Disposer {
    return this.#breaker.onExclusion(listener);
  }

  /** Listens to rejected calls; returns the disposer. */
  onReject(listener: Listener<RejectEvent>): Disposer {
    return this.#breaker.onReject(listener);
  }
}
