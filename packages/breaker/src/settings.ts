import type { Counts, State } from './state.js';

/**
 * Configures a {@link CircuitBreaker} or a {@link TwoStepCircuitBreaker}, as gobreaker's
 * `Settings`. Durations are in milliseconds. Zero or negative durations and `maxRequests` take
 * gobreaker's defaults; NaN, infinite numbers, a non-integer `maxRequests` and callbacks that
 * are not functions are rejected with a `TypeError`.
 */
export interface Settings {
  /**
   * Name of the breaker, carried by its events and rejections (`email:ses`).
   * @default ''
   */
  name?: string | undefined;
  /**
   * Calls admitted while half-open; that many consecutive successes close the breaker.
   * Values `<= 0` mean 1.
   * @default 1
   */
  maxRequests?: number | undefined;
  /**
   * Closed-state counting window, in ms: the counts are cleared every `interval` (fixed window) or
   * roll bucket by bucket (with `bucketPeriod`). Values `<= 0`: the counts are cleared only by a
   * state change.
   * @default 0
   */
  interval?: number | undefined;
  /**
   * Bucket length of a rolling window, in ms. When `> 0` (and `interval > 0`), the window is
   * `ceil(interval / bucketPeriod)` buckets; `interval` is rounded up to a multiple of it. A call's
   * outcome lands in the bucket its call started in and leaves the counts when that bucket rolls out.
   * Values `<= 0`: a fixed window.
   * @default 0
   */
  bucketPeriod?: number | undefined;
  /**
   * How long the breaker stays open before it admits probes (half-open), in ms. Values `<= 0` mean 60 000.
   * @default 60000
   */
  timeout?: number | undefined;
  /**
   * Asked with a copy of the counts after each failure in the closed state; `true` opens the breaker.
   * See `failureRatio()` and `consecutiveFailures()` for the usual rules.
   * @default (counts) => counts.consecutiveFailures > 5
   */
  readyToTrip?: ((counts: Counts) => boolean) | undefined;
  /**
   * Called on every state change, after the change; prefer {@link CircuitBreaker.onStateChange}.
   * A throwing callback is ignored.
   * @default undefined
   */
  onStateChange?: ((name: string, from: State, to: State) => void) | undefined;
  /**
   * Asked when a call throws or rejects (after `isExcluded`): `true` counts that error as a success.
   * @default () => false
   */
  isSuccessful?: ((error: unknown) => boolean) | undefined;
  /**
   * Asked first when a call throws or rejects: `true` makes the outcome neutral — neither a success
   * nor a failure — and frees the half-open slot it held. Use it for errors that say nothing about
   * the provider's health (a bad recipient, a cancelled request).
   * @default () => false
   */
  isExcluded?: ((error: unknown) => boolean) | undefined;
  /**
   * How long a half-open probe may run before it stops holding its slot, in ms: a later call is
   * admitted in its place and the late probe's outcome is ignored. Without it, one hung probe
   * keeps a half-open breaker rejecting every call ("too many requests") for as long as it hangs.
   * Values `<= 0`: probes hold their slots until they complete (gobreaker's behaviour).
   * @default the open `timeout`
   */
  probeTimeout?: number | undefined;
  /**
   * The clock, in ms. Inject one in tests; snapshots taken for another process need a shared
   * clock such as the default.
   * @default Date.now
   */
  now?: (() => number) | undefined;
}

/** Hard limit on the number of buckets of a rolling window (each costs 48 bytes). */
export const MAX_BUCKETS = 100_000;
const DEFAULT_TIMEOUT = 60_000;

/** @internal Settings after validation and defaults. */
export interface ResolvedSettings {
  readonly name: string;
  readonly maxRequests: number;
  /** Fixed window length, ms; 0: never cleared. For a rolling window, the rounded interval. */
  readonly interval: number;
  /** Bucket length, ms; 0 for a fixed window. */
  readonly bucketPeriod: number;
  readonly buckets: number;
  readonly timeout: number;
  /** 0: probes never time out. */
  readonly probeTimeout: number;
  readonly readyToTrip: (counts: Counts) => boolean;
  readonly onStateChange: ((name: string, from: State, to: State) => void) | undefined;
  readonly isSuccessful: ((error: unknown) => boolean) | undefined;
  readonly isExcluded: ((error: unknown) => boolean) | undefined;
  readonly now: () => number;
}

/** gobreaker's default: trip after more than five consecutive failures. */
export function defaultReadyToTrip(counts: Counts): boolean {
  return counts.consecutiveFailures > 5;
}

/** @internal Validates `settings` and applies gobreaker's defaults; throws a `TypeError`. */
export function resolveSettings(settings: Settings = {}): ResolvedSettings {
  if (typeof settings !== 'object' || settings === null) {
    throw new TypeError('circuit breaker settings must be an object');
  }
  const name = settings.name ?? '';
  if (typeof name !== 'string')
    throw new TypeError(`circuit breaker setting "name" must be a string, got ${describe(name)}`);
  const label = name === '' ? 'circuit breaker' : `circuit breaker "${name}"`;
  const number = (key: keyof Settings): number => {
    const value = settings[key];
    if (value === undefined) return 0;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TypeError(`${label}: setting "${key}" must be a finite number of ms, got ${describe(value)}`);
    }
    return value;
  };
  const callback = <F>(key: keyof Settings): F | undefined => {
    const value = settings[key];
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`${label}: setting "${key}" must be a function, got ${describe(value)}`);
    }
    return value as F | undefined;
  };

  const maxRequestsSetting = number('maxRequests');
  if (!Number.isInteger(maxRequestsSetting)) {
    throw new TypeError(`${label}: setting "maxRequests" must be an integer, got ${maxRequestsSetting}`);
  }
  const maxRequests = maxRequestsSetting <= 0 ? 1 : maxRequestsSetting;

  const intervalSetting = number('interval');
  const bucketSetting = number('bucketPeriod');
  let interval = 0;
  let bucketPeriod = 0;
  let buckets = 1;
  if (intervalSetting > 0 && bucketSetting > 0) {
    buckets = Math.ceil(intervalSetting / bucketSetting);
    if (buckets > MAX_BUCKETS) {
      throw new TypeError(
        `${label}: interval / bucketPeriod gives ${buckets} buckets, more than ${MAX_BUCKETS}; use a longer bucketPeriod`,
      );
    }
    interval = buckets * bucketSetting;
    // one bucket is a fixed window of one bucket period, as in gobreaker
    bucketPeriod = buckets > 1 ? bucketSetting : 0;
  } else if (intervalSetting > 0) {
    interval = intervalSetting;
  }

  const timeoutSetting = number('timeout');
  const timeout = timeoutSetting <= 0 ? DEFAULT_TIMEOUT : timeoutSetting;
  const probeSetting = settings.probeTimeout === undefined ? timeout : number('probeTimeout');
  const probeTimeout = Math.max(probeSetting, 0);

  const now = callback<() => number>('now') ?? Date.now;
  return {
    name,
    maxRequests,
    interval,
    bucketPeriod,
    buckets,
    timeout,
    probeTimeout,
    readyToTrip: callback<(counts: Counts) => boolean>('readyToTrip') ?? defaultReadyToTrip,
    onStateChange: callback('onStateChange'),
    isSuccessful: callback('isSuccessful'),
    isExcluded: callback('isExcluded'),
    now,
  };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}
