import type { StateChangeEvent } from './breaker-events.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { Listener } from './event.js';
import type { BreakerRegistry } from './registry.js';
import type { Settings } from './settings.js';
import type { Counts } from './state.js';
import { isExcludedFromBreaker } from './taxonomy.js';

/** Options of {@link failureRatio}. */
export interface FailureRatioOptions {
  /** Trip when at least this share of the completed calls failed, in (0, 1]. */
  ratio: number;
  /** … and at least this many calls completed (successes plus failures; exclusions and calls in flight do not count). */
  minRequests: number;
}

/**
 * A `readyToTrip` that opens the breaker when `totalFailures / (totalSuccesses + totalFailures)`
 * reaches `ratio` over at least `minRequests` completed calls. Excluded outcomes and calls still
 * in flight count for neither side, unlike the seed's ratio over `requests`, which counted
 * in-flight calls as successes.
 *
 * @example
 * new CircuitBreaker({ readyToTrip: failureRatio({ ratio: 0.5, minRequests: 10 }) })
 */
export function failureRatio(options: FailureRatioOptions): (counts: Counts) => boolean {
  const { ratio, minRequests } = options ?? ({} as FailureRatioOptions);
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    throw new TypeError(`failureRatio: ratio must be a number in (0, 1], got ${String(ratio)}`);
  }
  if (typeof minRequests !== 'number' || !Number.isInteger(minRequests) || minRequests < 1) {
    throw new TypeError(`failureRatio: minRequests must be an integer >= 1, got ${String(minRequests)}`);
  }
  return (counts) => {
    const completed = counts.totalSuccesses + counts.totalFailures;
    // a division, as the seed: 3 / 10 >= 0.3 holds, while 3 >= 0.3 * 10 does not in floating point
    return completed >= minRequests && counts.totalFailures / completed >= ratio;
  };
}

/**
 * A `readyToTrip` that opens the breaker after `n` failures in a row (the `n`th trips it).
 *
 * @example
 * new CircuitBreaker({ readyToTrip: consecutiveFailures(3) })
 */
export function consecutiveFailures(n: number): (counts: Counts) => boolean {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new TypeError(`consecutiveFailures: n must be an integer >= 1, got ${String(n)}`);
  }
  return (counts) => counts.consecutiveFailures >= n;
}

/** The per-family breaker settings of {@link presets}. */
export interface Presets {
  /** Email: 5 half-open probes, 30 s window, 2 min open, trips at >= 30 % failures of >= 5 calls. */
  readonly email: Readonly<Settings>;
  /** SMS: 3 half-open probes, 30 s window, 1 min open, trips at 3 consecutive failures. */
  readonly sms: Readonly<Settings>;
  /** Storage: 10 half-open probes, 30 s window, 3 min open, trips at >= 50 % failures of >= 10 calls. */
  readonly storage: Readonly<Settings>;
}

/**
 * Breaker settings per service family, with the seed's thresholds. Each excludes what
 * {@link isExcludedFromBreaker} excludes — message-scoped `invalid` and `permanent` errors (a bad
 * address says nothing about the provider's health), rejections and aborts — while
 * provider-scoped errors count. Families name each breaker after its provider:
 *
 * @example
 * const breaker = new CircuitBreaker({ ...presets.email, name: 'email:ses' });
 */
export const presets: Presets = Object.freeze({
  email: Object.freeze({
    name: 'email',
    maxRequests: 5,
    interval: 30_000,
    timeout: 120_000,
    readyToTrip: failureRatio({ ratio: 0.3, minRequests: 5 }),
    isExcluded: isExcludedFromBreaker,
  }),
  sms: Object.freeze({
    name: 'sms',
    maxRequests: 3,
    interval: 30_000,
    timeout: 60_000,
    readyToTrip: consecutiveFailures(3),
    isExcluded: isExcludedFromBreaker,
  }),
  storage: Object.freeze({
    name: 'storage',
    maxRequests: 10,
    interval: 30_000,
    timeout: 180_000,
    readyToTrip: failureRatio({ ratio: 0.5, minRequests: 10 }),
    isExcluded: isExcludedFromBreaker,
  }),
});

/** Options of {@link serviceBreakers}. */
export interface ServiceBreakersOptions {
  /**
   * Settings over `presets.email`.
   * @default {}
   */
  email?: Settings;
  /**
   * Settings over `presets.sms`.
   * @default {}
   */
  sms?: Settings;
  /**
   * Settings over `presets.storage`.
   * @default {}
   */
  storage?: Settings;
  /**
   * Subscribed to each breaker's `onStateChange` (`{ name, from, to }`), as the seed logged openings
   * and recoveries.
   * @default undefined
   */
  onStateChange?: Listener<StateChangeEvent>;
  /**
   * Create (or find) the breakers in this registry, so its observers see them.
   * @default undefined (standalone breakers)
   */
  registry?: BreakerRegistry;
}

/** The breakers of {@link serviceBreakers}. */
export interface ServiceBreakers {
  /** The email breaker (`email`, from `presets.email`). */
  readonly email: CircuitBreaker;
  /** The SMS breaker (`sms`, from `presets.sms`). */
  readonly sms: CircuitBreaker;
  /** The storage breaker (`storage`, from `presets.storage`). */
  readonly storage: CircuitBreaker;
}

/**
 * One breaker per service family from the {@link presets}, as the seed's `NewServiceBreakers()`:
 * for apps with one provider per family. (With several providers per family, each provider gets
 * its own breaker named `<family>:<provider>` — see the families' `withResilience`.)
 *
 * @example
 * const breakers = serviceBreakers({ onStateChange: ({ name, from, to }) => log.warn({ name, from, to }, 'breaker') });
 * await breakers.email.execute(() => ses.send(message));
 */
export function serviceBreakers(overrides: ServiceBreakersOptions = {}): ServiceBreakers {
  const { onStateChange, registry } = overrides;
  if (onStateChange !== undefined && typeof onStateChange !== 'function') {
    throw new TypeError('serviceBreakers: onStateChange must be a function');
  }
  const make = (family: keyof Presets): CircuitBreaker => {
    const settings: Settings = { ...presets[family], ...overrides[family] };
    const breaker =
      registry === undefined ? new CircuitBreaker(settings) : registry.get(settings.name || family, settings);
    if (onStateChange !== undefined) breaker.onStateChange(onStateChange);
    return breaker;
  };
  return { email: make('email'), sms: make('sms'), storage: make('storage') };
}
