import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import type { VerifyResult } from './adapter.js';
import { RateLimitedError } from './errors.js';
import { MemoryOtpStore } from './memory-otp-store.js';
import type { OtpStore } from './otp-store.js';
import { type NormalizePhoneOptions, normalizePhoneNumber } from './phone.js';

/** Options of {@link OtpService}. */
export interface OtpServiceOptions {
  /**
   * Where codes live. Use a shared store (`RedisOtpStore` from `@tracks/redis`) when several
   * instances verify codes.
   * @default new MemoryOtpStore()
   */
  store?: OtpStore;
  /**
   * The server secret codes are hashed with (HMAC-SHA256); at least 16 bytes. Keep it out of
   * the store: a leaked store then reveals no code. Rotating it invalidates live codes.
   */
  secret: string | Uint8Array;
  /**
   * How long a code stays valid, in ms.
   * @default 600_000 (10 minutes)
   */
  ttlMs?: number;
  /**
   * Checks allowed per code; the next check fails with `too-many-attempts` even when right.
   * @default 5
   */
  maxAttempts?: number;
  /**
   * Digits per code (4 to 10).
   * @default 6
   */
  codeLength?: number;
  /**
   * No new code for a number within this many ms of the last one.
   * @default 30_000
   */
  resendCooldownMs?: number;
  /**
   * Codes per number within any sliding hour.
   * @default 5
   */
  maxPerHour?: number;
  /**
   * Country for national-format numbers; see `normalizePhoneNumber`.
   * @default undefined (international numbers only)
   */
  defaultCountry?: NormalizePhoneOptions['defaultCountry'];
  /**
   * The clock, epoch ms (inject one in tests).
   * @default Date.now
   */
  now?: () => number;
}

/** A code that {@link OtpService.issue} created: send `code`, keep `id` to withdraw it. */
export interface IssuedOtp {
  /** The code to send, digits only. It exists only here and in the SMS: the store has its hash. */
  readonly code: string;
  /** When the code stops being valid. */
  readonly expiresAt: Date;
  /** The issuance's id, for {@link OtpService.withdraw}. */
  readonly id: string;
  /** The number in E.164. */
  readonly phone: string;
}

const HOUR_MS = 3_600_000;

/**
 * One-time codes for providers that do not verify codes themselves (SNS, the log and memory
 * adapters): random digits from `crypto.randomInt`, stored only as an HMAC-SHA256 with a server
 * secret, valid for `ttlMs`, at most `maxAttempts` checks (compared in constant time), single
 * use, with a resend cooldown and an hourly cap per number that raise {@link RateLimitedError}.
 */
export class OtpService {
  readonly #store: OtpStore;
  readonly #secret: Uint8Array;
  readonly #ttlMs: number;
  readonly #maxAttempts: number;
  readonly #codeLength: number;
  readonly #cooldownMs: number;
  readonly #maxPerHour: number;
  readonly #phoneOptions: NormalizePhoneOptions;
  readonly #now: () => number;

  constructor(options: OtpServiceOptions) {
    const secret =
      typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    if (!(secret instanceof Uint8Array) || secret.byteLength < 16) {
      throw new RangeError('OtpService needs a secret of at least 16 bytes');
    }
    this.#secret = Uint8Array.from(secret);
    this.#store = options.store ?? new MemoryOtpStore();
    this.#ttlMs = positive('ttlMs', options.ttlMs ?? 600_000);
    this.#maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? 5);
    this.#codeLength = positiveInteger('codeLength', options.codeLength ?? 6);
    if (this.#codeLength < 4 || this.#codeLength > 10)
      throw new RangeError('codeLength must be between 4 and 10');
    this.#cooldownMs = nonNegative('resendCooldownMs', options.resendCooldownMs ?? 30_000);
    this.#maxPerHour = positiveInteger('maxPerHour', options.maxPerHour ?? 5);
    this.#phoneOptions =
      options.defaultCountry === undefined ? {} : { defaultCountry: options.defaultCountry };
    this.#now = options.now ?? Date.now;
  }

  /** How long a code stays valid, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /**
   * Creates a code for `phone` and stores its hash, unless a limit forbids it.
   * @throws InvalidPhoneNumberError for a number that is not valid E.164
   * @throws RateLimitedError within the resend cooldown or past the hourly cap
   */
  async issue(phone: string): Promise<IssuedOtp> {
    const key = normalizePhoneNumber(phone, { ...this.#phoneOptions, operation: 'sendOtp' });
    const now = this.#now();
    const code = randomInt(0, 10 ** this.#codeLength)
      .toString()
      .padStart(this.#codeLength, '0');
    const id = randomUUID();
    const expiresAt = now + this.#ttlMs;
    const outcome = await this.#store.issue(
      key,
      { id, hash: this.#hash(key, code), issuedAt: now, expiresAt },
      { cooldownMs: this.#cooldownMs, maxPerWindow: this.#maxPerHour, windowMs: HOUR_MS },
      now,
    );
    if (!outcome.ok) throw new RateLimitedError(outcome.retryAfterMs, outcome.reason);
    return { code, expiresAt: new Date(expiresAt), id, phone: key };
  }

  /**
   * Checks `code` for `phone`. Every check counts, right or wrong; the check after
   * `maxAttempts` fails even when right; a right code is consumed.
   * @throws InvalidPhoneNumberError for a number that is not valid E.164
   */
  async verify(phone: string, code: string): Promise<VerifyResult> {
    const key = normalizePhoneNumber(phone, { ...this.#phoneOptions, operation: 'verifyOtp' });
    const outcome = await this.#store.attempt(key, this.#maxAttempts, this.#now());
    if (outcome.status === 'expired') return { valid: false, reason: 'expired' };
    if (outcome.status === 'too-many-attempts') return { valid: false, reason: 'too-many-attempts' };
    // people type codes with spaces or dashes; anything else simply will not match
    const typed = typeof code === 'string' ? code.replace(/[\s-]/g, '') : '';
    const expected = Buffer.from(outcome.hash, 'hex');
    const actual = Buffer.from(this.#hash(key, typed), 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      return { valid: false, reason: 'mismatch' };
    }
    // of two concurrent right guesses only one consumes the code; the other finds it gone
    return (await this.#store.consume(key, outcome.id))
      ? { valid: true }
      : { valid: false, reason: 'expired' };
  }

  /**
   * Undoes an issuance whose SMS provably never left (the provider refused the request), so
   * the cooldown does not lock out someone who never got a code. Never call it after an
   * ambiguous failure (a timeout): the code may have been delivered.
   */
  async withdraw(issued: IssuedOtp): Promise<void> {
    await this.#store.withdraw(issued.phone, issued.id);
  }

  #hash(key: string, code: string): string {
    // the number is part of the MAC: a hash copied to another number's record never matches
    return createHmac('sha256', this.#secret).update(`${key}\n${code}`).digest('hex');
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be zero or more`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
