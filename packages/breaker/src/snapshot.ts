import { type Counts, isState, type State } from './state.js';

/**
 * The whole state of a breaker as plain JSON: what {@link CircuitBreaker.snapshot} returns and
 * {@link CircuitBreaker.restore} takes back. Times are readings of the breaker's clock (`now`),
 * so share snapshots between processes only with a shared clock (the default, `Date.now`).
 */
export interface BreakerSnapshot {
  /** Format version. */
  readonly version: 1;
  /** Name of the breaker it was taken from. */
  readonly name: string;
  /** The state, with time-based transitions applied at the moment of the snapshot. */
  readonly state: State;
  /** Generation: it grows on every state change and every new fixed window. */
  readonly generation: number;
  /** The counts of the current window or half-open period. */
  readonly counts: Counts;
  /** Rolling window buckets, from the oldest to the current one; empty for a fixed window. */
  readonly buckets: readonly Counts[];
  /** Age of the current bucket: whole bucket periods since `start`. */
  readonly age: number;
  /** When the current generation (window, open or half-open period) started. */
  readonly start: number;
  /** When the fixed window ends (closed) or the open period ends (open); `null` when never. */
  readonly expiry: number | null;
  /** True when held open by `isolate()` until `reset()`. */
  readonly isolated: boolean;
}

const COUNT_KEYS = [
  'requests',
  'totalSuccesses',
  'totalFailures',
  'totalExclusions',
  'consecutiveSuccesses',
  'consecutiveFailures',
] as const;

/** @internal Checks that `value` is a well-formed snapshot for a breaker with `buckets` buckets; throws a `TypeError`. */
export function validateSnapshot(value: unknown, buckets: number): BreakerSnapshot {
  const fail = (why: string): never => {
    throw new TypeError(`invalid circuit breaker snapshot: ${why}`);
  };
  if (typeof value !== 'object' || value === null) fail('not an object');
  const s = value as Record<string, unknown>;
  if (s.version !== 1) fail(`unknown version ${String(s.version)}`);
  if (typeof s.name !== 'string') fail('name must be a string');
  if (!isState(s.state)) fail(`unknown state ${JSON.stringify(s.state)}`);
  if (!isCount(s.generation)) fail('generation must be a non-negative integer');
  if (!isCount(s.age)) fail('age must be a non-negative integer');
  if (typeof s.start !== 'number' || !Number.isFinite(s.start)) fail('start must be a finite number');
  if (s.expiry !== null && (typeof s.expiry !== 'number' || !Number.isFinite(s.expiry))) {
    fail('expiry must be a finite number or null');
  }
  if (typeof s.isolated !== 'boolean') fail('isolated must be a boolean');
  if (s.isolated === true && s.state !== 'open') fail('an isolated breaker must be open');
  if (s.state === 'open' && s.expiry === null && s.isolated !== true) fail('an open breaker needs an expiry');
  checkCounts(s.counts, 'counts', fail);
  if (!Array.isArray(s.buckets)) fail('buckets must be an array');
  const list = s.buckets as unknown[];
  const expected = buckets > 1 ? buckets : 0;
  if (list.length !== expected) {
    fail(`${list.length} buckets for a breaker with ${expected} (were the settings the same?)`);
  }
  for (const [i, bucket] of list.entries()) checkCounts(bucket, `buckets[${i}]`, fail);
  if (expected > 0) {
    const counts = s.counts as Counts;
    for (const key of ['requests', 'totalSuccesses', 'totalFailures', 'totalExclusions'] as const) {
      const sum = (list as Counts[]).reduce((total, bucket) => total + bucket[key], 0);
      if (sum !== counts[key]) fail(`counts.${key} is ${counts[key]} but the buckets add up to ${sum}`);
    }
  }
  return s as unknown as BreakerSnapshot;
}

function checkCounts(value: unknown, where: string, fail: (why: string) => never): void {
  if (typeof value !== 'object' || value === null) fail(`${where} must be an object`);
  const counts = value as Record<string, unknown>;
  for (const key of COUNT_KEYS) {
    if (!isCount(counts[key])) fail(`${where}.${key} must be a non-negative integer`);
  }
  const c = counts as unknown as Counts;
  if (c.totalSuccesses + c.totalFailures + c.totalExclusions > c.requests) {
    fail(`${where}: more outcomes than requests`);
  }
  // no check of consecutive counts against totals: gobreaker's rolling bookkeeping, which this
  // port keeps, can leave a consecutive count above its total once buckets roll out
  if (c.consecutiveSuccesses > 0 && c.consecutiveFailures > 0) {
    fail(`${where}: consecutive successes and failures at once`);
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
