/**
 * A stored code: what {@link OtpStore.issue} writes. The code itself is never stored, only
 * `hash` (an HMAC-SHA256 with the service's secret, hex).
 */
export interface OtpRecord {
  /** Identifies this issuance (random, unique): `consume` and `withdraw` act only on it. */
  readonly id: string;
  /** HMAC-SHA256 of the number and the code, hex. */
  readonly hash: string;
  /** When the code was issued, epoch ms. */
  readonly issuedAt: number;
  /** When the code stops being valid, epoch ms. */
  readonly expiresAt: number;
}

/** The resend limits {@link OtpStore.issue} enforces, all in one step with the write. */
export interface OtpIssueLimits {
  /** No new code within this many ms of the last one issued for the key. */
  readonly cooldownMs: number;
  /** At most this many codes issued for the key within `windowMs`. */
  readonly maxPerWindow: number;
  /** The sliding window of `maxPerWindow`, in ms (an hour for `maxPerHour`). */
  readonly windowMs: number;
}

/** The outcome of {@link OtpStore.issue}. */
export type OtpIssueOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'cooldown' | 'hourly-limit'; readonly retryAfterMs: number };

/** The outcome of {@link OtpStore.attempt}. */
export type OtpAttemptOutcome =
  | { readonly status: 'expired' }
  | { readonly status: 'too-many-attempts' }
  | {
      readonly status: 'counted';
      /** The record's id, for {@link OtpStore.consume}. */
      readonly id: string;
      /** The stored hash, compared by the service in constant time. */
      readonly hash: string;
      /** Checks of this code so far, this one included (1 on the first check). */
      readonly attempts: number;
    };

/**
 * Where {@link OtpService} keeps codes and resend history, keyed by E.164 number. Every
 * method is ONE atomic step: a shared implementation (Redis, with one Lua script per method)
 * must not split any of them into a read and a later write, or two instances could both pass a
 * limit, both count the same attempt, or both accept the same code.
 *
 * Per key a store holds at most one live code (an {@link OtpRecord} plus its attempt count)
 * and the issue times of the last `maxPerWindow` codes (with their ids). Times are epoch ms
 * passed in by the service (`now`), never read from the store's own clock, so tests and
 * instances agree. An implementation may drop a key once its code is gone or expired and its
 * newest issue is older than the window (Redis: a key TTL of `max(expiresAt, issuedAt + windowMs)`).
 *
 * The comparison of codes is not the store's: it returns the hash and the service compares it
 * with `crypto.timingSafeEqual`, which a Lua script cannot do in constant time.
 */
export interface OtpStore {
  /**
   * Atomically, for `key` at time `now`:
   * 1. forget issue times at or before `now - limits.windowMs`;
   * 2. if the newest remaining issue time `t` has `t + limits.cooldownMs > now`, change nothing
   *    and return `{ ok: false, reason: 'cooldown', retryAfterMs: t + cooldownMs - now }`;
   * 3. if `limits.maxPerWindow` issue times remain, change nothing and return
   *    `{ ok: false, reason: 'hourly-limit', retryAfterMs: oldest + windowMs - now }`;
   * 4. otherwise replace any code of `key` with `record` and 0 attempts, add
   *    `(record.id, record.issuedAt)` to the issue times, and return `{ ok: true }`.
   */
  issue(key: string, record: OtpRecord, limits: OtpIssueLimits, now: number): Promise<OtpIssueOutcome>;

  /**
   * Atomically, for `key` at time `now`: if there is no code, or its `expiresAt <= now`,
   * return `{ status: 'expired' }` (a stale code may be deleted); if its attempts are already
   * `maxAttempts` or more, return `{ status: 'too-many-attempts' }` without counting; otherwise
   * add one to its attempts and return `{ status: 'counted', id, hash, attempts }`.
   * Every check is counted before the comparison, so concurrent guesses on several instances
   * all count and the check after `maxAttempts` fails even when right.
   */
  attempt(key: string, maxAttempts: number, now: number): Promise<OtpAttemptOutcome>;

  /**
   * Atomically deletes the code of `key` if its record's id is `id`; resolves true only for
   * the call that deleted it. Makes a code single use: of two concurrent right guesses, one wins.
   * The issue times stay (they are the resend history).
   */
  consume(key: string, id: string): Promise<boolean>;

  /**
   * Atomically undoes the issuance `id` of `key` whose SMS provably never left (the provider
   * refused it): deletes the code if its id is `id`, and removes `id` from the issue times, so
   * the person is not locked out by the cooldown for a code they never received.
   */
  withdraw(key: string, id: string): Promise<void>;
}
