import type { Counts } from './state.js';

// Layout of one bucket in the flat `buckets` array: six numbers, in the order of `Counts`.
const REQUESTS = 0;
const SUCCESSES = 1;
const FAILURES = 2;
const EXCLUSIONS = 3;
const CONSECUTIVE_SUCCESSES = 4;
const CONSECUTIVE_FAILURES = 5;
const FIELDS = 6;

/**
 * The counts of a breaker's current window, gobreaker's `rollingCounts`: the totals, plus (for a
 * rolling window) one bucket per `bucketPeriod`, kept in a ring of `size` buckets indexed by age.
 *
 * The age of a bucket is the number of bucket periods since the window started. A call's result
 * lands in the bucket of the age its call started in, and is dropped when that bucket has rolled
 * out of the window. Every operation is O(1) except `grow`, which is O(buckets rolled) and runs at
 * most once per bucket period — so a call costs the same whatever the size of the window.
 *
 * A fixed window (`size` 1) keeps no bucket array at all: the totals are the one bucket.
 */
export class RollingCounts implements Counts {
  requests = 0;
  totalSuccesses = 0;
  totalFailures = 0;
  totalExclusions = 0;
  consecutiveSuccesses = 0;
  consecutiveFailures = 0;
  /** Age of the current bucket. */
  age = 0;
  /** Number of buckets in the window; 1 for a fixed window. */
  readonly size: number;
  // a plain array of small integers: on the heap, 8 bytes a number, and no typed-array overhead
  readonly #buckets: number[] | undefined;

  constructor(size: number) {
    this.size = Math.max(size, 1);
    this.#buckets = this.size > 1 ? new Array<number>(this.size * FIELDS).fill(0) : undefined;
  }

  /** Counts one admitted call, in the current bucket. */
  onRequest(): void {
    this.requests++;
    const buckets = this.#buckets;
    if (buckets !== undefined) buckets[(this.age % this.size) * FIELDS + REQUESTS]!++;
  }

  /** Counts a success of a call admitted at `age`; ignored if its bucket has rolled out. */
  onSuccess(age: number): void {
    if (!this.#holds(age)) return;
    this.totalSuccesses++;
    this.consecutiveSuccesses++;
    this.consecutiveFailures = 0;
    const buckets = this.#buckets;
    if (buckets !== undefined) {
      const at = (age % this.size) * FIELDS;
      buckets[at + SUCCESSES]!++;
      buckets[at + CONSECUTIVE_SUCCESSES]!++;
      buckets[at + CONSECUTIVE_FAILURES] = 0;
    }
  }

  /** Counts a failure of a call admitted at `age`; ignored if its bucket has rolled out. */
  onFailure(age: number): void {
    if (!this.#holds(age)) return;
    this.totalFailures++;
    this.consecutiveFailures++;
    this.consecutiveSuccesses = 0;
    const buckets = this.#buckets;
    if (buckets !== undefined) {
      const at = (age % this.size) * FIELDS;
      buckets[at + FAILURES]!++;
      buckets[at + CONSECUTIVE_FAILURES]!++;
      buckets[at + CONSECUTIVE_SUCCESSES] = 0;
    }
  }

  /** Counts an exclusion of a call admitted at `age`; ignored if its bucket has rolled out. */
  onExclusion(age: number): void {
    if (!this.#holds(age)) return;
    this.totalExclusions++;
    const buckets = this.#buckets;
    if (buckets !== undefined) buckets[(age % this.size) * FIELDS + EXCLUSIONS]!++;
  }

  /** Empties the window and restarts it at age 0. */
  clear(): void {
    this.requests = 0;
    this.totalSuccesses = 0;
    this.totalFailures = 0;
    this.totalExclusions = 0;
    this.consecutiveSuccesses = 0;
    this.consecutiveFailures = 0;
    this.age = 0;
    this.#buckets?.fill(0);
  }

  /** Moves the window forward to `age`, dropping the buckets that roll out. */
  grow(age: number): void {
    if (age <= this.age) return;
    if (age - this.age >= this.size) {
      // the whole window rolled out: nothing of it survives
      this.clear();
      this.age = age;
      return;
    }
    while (this.age < age) this.#roll();
  }

  /** The bucket `offset` periods before the current one (0: current, -1: previous, …). */
  bucketAt(offset: number): Counts {
    const buckets = this.#buckets;
    if (buckets === undefined) return this.toJSON();
    const index = (((this.age + offset) % this.size) + this.size) % this.size;
    return readBucket(buckets, index * FIELDS);
  }

  /** The buckets from the oldest to the current one; empty for a fixed window. */
  buckets(): Counts[] {
    const out: Counts[] = [];
    if (this.#buckets === undefined) return out;
    for (let offset = 1 - this.size; offset <= 0; offset++) out.push(this.bucketAt(offset));
    return out;
  }

  /** Replaces the whole state; `buckets` from the oldest to the current one, as `buckets()` gives them. */
  load(counts: Counts, age: number, buckets: readonly Counts[]): void {
    this.clear();
    this.requests = counts.requests;
    this.totalSuccesses = counts.totalSuccesses;
    this.totalFailures = counts.totalFailures;
    this.totalExclusions = counts.totalExclusions;
    this.consecutiveSuccesses = counts.consecutiveSuccesses;
    this.consecutiveFailures = counts.consecutiveFailures;
    this.age = age;
    const ring = this.#buckets;
    if (ring === undefined) return;
    buckets.forEach((bucket, i) => {
      const offset = i - (buckets.length - 1);
      const at = ((((age + offset) % this.size) + this.size) % this.size) * FIELDS;
      ring[at + REQUESTS] = bucket.requests;
      ring[at + SUCCESSES] = bucket.totalSuccesses;
      ring[at + FAILURES] = bucket.totalFailures;
      ring[at + EXCLUSIONS] = bucket.totalExclusions;
      ring[at + CONSECUTIVE_SUCCESSES] = bucket.consecutiveSuccesses;
      ring[at + CONSECUTIVE_FAILURES] = bucket.consecutiveFailures;
    });
  }

  /** A plain copy of the totals. */
  toJSON(): Counts {
    return {
      requests: this.requests,
      totalSuccesses: this.totalSuccesses,
      totalFailures: this.totalFailures,
      totalExclusions: this.totalExclusions,
      consecutiveSuccesses: this.consecutiveSuccesses,
      consecutiveFailures: this.consecutiveFailures,
    };
  }

  // A result counts only if the bucket its call started in is still in the window.
  #holds(age: number): boolean {
    return age <= this.age && this.age - age < this.size;
  }

  #roll(): void {
    this.age++;
    const buckets = this.#buckets;
    if (buckets === undefined) return;
    const at = (this.age % this.size) * FIELDS; // the oldest bucket, about to be reused
    const requests = buckets[at + REQUESTS]!;
    const successes = buckets[at + SUCCESSES]!;
    const failures = buckets[at + FAILURES]!;
    const exclusions = buckets[at + EXCLUSIONS]!;
    const trailingSuccesses = buckets[at + CONSECUTIVE_SUCCESSES]!;
    const trailingFailures = buckets[at + CONSECUTIVE_FAILURES]!;
    // A consecutive run reaches into the oldest bucket only if it spans every newer bucket
    // whole; then the part in the oldest bucket leaves with it. The totals of the newer buckets
    // are the window's totals minus the oldest bucket's, so this check costs O(1).
    if (this.consecutiveSuccesses === trailingSuccesses + this.totalSuccesses - successes) {
      this.consecutiveSuccesses = Math.max(0, this.consecutiveSuccesses - trailingSuccesses);
    }
    if (this.consecutiveFailures === trailingFailures + this.totalFailures - failures) {
      this.consecutiveFailures = Math.max(0, this.consecutiveFailures - trailingFailures);
    }
    this.requests = Math.max(0, this.requests - requests);
    this.totalSuccesses = Math.max(0, this.totalSuccesses - successes);
    this.totalFailures = Math.max(0, this.totalFailures - failures);
    this.totalExclusions = Math.max(0, this.totalExclusions - exclusions);
    buckets.fill(0, at, at + FIELDS);
  }
}

function readBucket(buckets: readonly number[], at: number): Counts {
  return {
    requests: buckets[at + REQUESTS]!,
    totalSuccesses: buckets[at + SUCCESSES]!,
    totalFailures: buckets[at + FAILURES]!,
    totalExclusions: buckets[at + EXCLUSIONS]!,
    consecutiveSuccesses: buckets[at + CONSECUTIVE_SUCCESSES]!,
    consecutiveFailures: buckets[at + CONSECUTIVE_FAILURES]!,
  };
}
