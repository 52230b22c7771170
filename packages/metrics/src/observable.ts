import type { Disposer } from '@tracks/breaker';

// These are structural on purpose: @tracks/metrics observes breakers, policies, registries, the
// Redis store and the outbox without importing any of them. Anything with the right methods
// can be observed, including a third-party breaker or a test fake.

/** A breaker state as `@tracks/breaker` names it. */
export type BreakerState = 'closed' | 'half-open' | 'open';

/** Subscribes a listener to one kind of event; returns its disposer. */
export type Subscribe<E> = (listener: (event: E) => void) => Disposer;

/** `onStateChange` event. */
export interface StateChangeEvent {
  readonly name: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
}

/** `onSuccess` event of a breaker. */
export interface CallEvent {
  readonly name: string;
  readonly state: BreakerState;
  /** Time the admitted call took, in ms. */
  readonly durationMs?: number;
}

/** `onFailure` / `onExclusion` event of a breaker. */
export interface CallErrorEvent {
  readonly name: string;
  readonly state: BreakerState;
  readonly error: unknown;
  /** Time the admitted call took, in ms, when the breaker reports it. */
  readonly durationMs?: number;
}

/** `onReject` event of a breaker. */
export interface RejectEvent {
  readonly name: string;
  readonly reason: 'open' | 'too-many-requests';
}

/**
 * Anything that looks like a `CircuitBreaker` from `@tracks/breaker`: a name, a `state` getter that
 * evaluates time-based transitions, and the five observer methods.
 */
export interface ObservableBreaker {
  readonly name: string;
  readonly state: BreakerState;
  onStateChange(listener: (event: StateChangeEvent) => void): Disposer;
  onSuccess(listener: (event: CallEvent) => void): Disposer;
  onFailure(listener: (event: CallErrorEvent) => void): Disposer;
  onExclusion(listener: (event: CallErrorEvent) => void): Disposer;
  onReject(listener: (event: RejectEvent) => void): Disposer;
}

/** `onCreate` event of a breaker registry. */
export interface BreakerCreatedEvent {
  readonly name: string;
  readonly breaker: ObservableBreaker;
}

/** Anything that looks like a `BreakerRegistry`: its breakers now, and each one created later. */
export interface ObservableBreakerRegistry {
  all(): Iterable<ObservableBreaker>;
  onCreate(listener: (event: BreakerCreatedEvent) => void): Disposer;
}

/** `onRetry` event of a policy. */
export interface RetryEvent {
  /** The policy's name. */
  readonly name?: string;
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: unknown;
}

/** `onGiveUp` event of a policy. */
export interface GiveUpEvent {
  /** The policy's name. */
  readonly name?: string;
  readonly attempts?: number;
  /** The error the caller receives. */
  readonly error: unknown;
  /** True when the caller's signal ended the call (a `@tracks/breaker` policy always says). */
  readonly aborted?: boolean;
}

/** Anything that looks like a `resilience()` policy: its retry events and, optionally, its breaker. */
export interface ObservablePolicy {
  onRetry(listener: (event: RetryEvent) => void): Disposer;
  onGiveUp(listener: (event: GiveUpEvent) => void): Disposer;
  onSuccess(listener: (event: unknown) => void): Disposer;
  /** The breaker the policy runs through; its name is the `service` label. */
  readonly breaker?: { readonly name: string } | undefined;
}

/** `onStoreError` event of a shared breaker store. */
export interface StoreErrorEvent {
  /** The breaker whose shared state could not be read or written. */
  readonly name?: string;
  readonly error?: unknown;
}

/** Anything that reports store errors, such as the Redis-backed breaker of `@tracks/redis`. */
export interface ObservableStore {
  readonly name?: string;
  onStoreError(listener: (event: StoreErrorEvent) => void): Disposer;
}

/** The outcome of one outbox delivery attempt. */
export type OutboxOutcome = 'delivered' | 'failed' | 'dead';

/** Job counts by state, such as `{ pending: 3, inflight: 1, dead: 0 }`. */
export type OutboxStats = Readonly<Record<string, unknown>>;

/** Anything that looks like an outbox from `@tracks/outbox`: delivery events and job counts. */
export interface ObservableOutbox {
  readonly name?: string;
  on(event: OutboxOutcome, listener: (event: unknown) => void): Disposer;
  stats(): OutboxStats | PromiseLike<OutboxStats>;
}
