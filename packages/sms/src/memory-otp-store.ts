import type { OtpAttemptOutcome, OtpIssueLimits, OtpIssueOutcome, OtpRecord, OtpStore } from './otp-store.js';

/** Options of {@link MemoryOtpStore}. */
export interface MemoryOtpStoreOptions {
  /**
   * The most numbers kept at once. When full, entries with nothing left to remember (code gone
   * or expired, resend history older than its window) go first, then the least recently used.
   * @default 10_000
   */
  maxEntries?: number;
}

interface Entry {
  code: { id: string; hash: string; expiresAt: number; attempts: number } | undefined;
  issues: { id: string; at: number }[];
  windowMs: number;
}

// how many of the least recently used entries a full store looks through for dead ones before
// it evicts the oldest: bounds the work of one insert under a flood of new numbers
const SWEEP = 64;

/**
 * The default {@link OtpStore}: one process, bounded, no timers. Expired codes and old resend
 * history are dropped lazily, when their number is touched or when the store is full; time is
 * the `now` the service passes in (inject `now` into `OtpService` to control it).
 *
 * Every method runs synchronously inside the returned promise's executor, so each is atomic
 * within the process. For several instances, use a shared store (`RedisOtpStore`).
 */
export class MemoryOtpStore implements OtpStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(options: MemoryOtpStoreOptions = {}) {
    const max = options.maxEntries ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#maxEntries = max;
  }

  /** Numbers currently held (for tests and leak checks). */
  get size(): number {
    return this.#entries.size;
  }

  /** {@inheritDoc OtpStore.issue} */
  issue(key: string, record: OtpRecord, limits: OtpIssueLimits, now: number): Promise<OtpIssueOutcome> {
    let entry = this.#touch(key, now);
    if (entry !== undefined) {
      entry.windowMs = limits.windowMs;
      entry.issues = entry.issues.filter((i) => i.at > now - limits.windowMs);
      const newest = entry.issues.at(-1);
      if (newest !== undefined && newest.at + limits.cooldownMs > now) {
        return Promise.resolve({
          ok: false,
          reason: 'cooldown',
          retryAfterMs: newest.at + limits.cooldownMs - now,
        });
      }
      const oldest = entry.issues[0];
      if (oldest !== undefined && entry.issues.length >= limits.maxPerWindow) {
        return Promise.resolve({
          ok: false,
          reason: 'hourly-limit',
          retryAfterMs: oldest.at + limits.windowMs - now,
        });
      }
    } else {
      entry = { code: undefined, issues: [], windowMs: limits.windowMs };
      this.#insert(key, entry, now);
    }
    entry.code = { id: record.id, hash: record.hash, expiresAt: record.expiresAt, attempts: 0 };
    entry.issues.push({ id: record.id, at: record.issuedAt });
    return Promise.resolve({ ok: true });
  }

  /** {@inheritDoc OtpStore.attempt} */
  attempt(key: string, maxAttempts: number, now: number): Promise<OtpAttemptOutcome> {
    const code = this.#touch(key, now)?.code;
    if (code === undefined) return Promise.resolve({ status: 'expired' });
    if (code.attempts >= maxAttempts) return Promise.resolve({ status: 'too-many-attempts' });
    code.attempts += 1;
    return Promise.resolve({ status: 'counted', id: code.id, hash: code.hash, attempts: code.attempts });
  }

  /** {@inheritDoc OtpStore.consume} */
  consume(key: string, id: string): Promise<boolean> {
    const entry = this.#entries.get(key);
    if (entry?.code?.id !== id) return Promise.resolve(false);
    entry.code = undefined;
    return Promise.resolve(true);
  }

  /** {@inheritDoc OtpStore.withdraw} */
  withdraw(key: string, id: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return Promise.resolve();
    if (entry.code?.id === id) entry.code = undefined;
    entry.issues = entry.issues.filter((i) => i.id !== id);
    if (entry.code === undefined && entry.issues.length === 0) this.#entries.delete(key);
    return Promise.resolve();
  }

  // Returns the live entry of `key`, dropping its expired code; moves it to the back of the
  // Map so that iteration order is least recently used first.
  #touch(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.code !== undefined && entry.code.expiresAt <= now) entry.code = undefined;
    this.#entries.delete(key);
    if (isDead(entry, now)) return undefined;
    this.#entries.set(key, entry);
    return entry;
  }

  #insert(key: string, entry: Entry, now: number): void {
    if (this.#entries.size >= this.#maxEntries) {
      let looked = 0;
      for (const [k, e] of this.#entries) {
        if (looked++ >= SWEEP) break;
        if (isDead(e, now)) this.#entries.delete(k);
      }
      // still full of live entries: the least recently used one goes (its resend history is
      // forgotten; bounded memory is worth more than a limit on a number nobody touched lately)
      if (this.#entries.size >= this.#maxEntries) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
    }
    this.#entries.set(key, entry);
  }
}

function isDead(entry: Entry, now: number): boolean {
  const codeGone = entry.code === undefined || entry.code.expiresAt <= now;
  const newest = entry.issues.at(-1);
  return codeGone && (newest === undefined || newest.at <= now - entry.windowMs);
}
