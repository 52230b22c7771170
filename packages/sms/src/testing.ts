/**
 * `@tracks/sms/testing`: the contracts every SMS adapter and every OTP store pass. An adapter's
 * `contract.test.ts` starts its provider's local server and hands the suite a harness:
 *
 * ```ts
 * import { describeSmsAdapterContract } from '@tracks/sms/testing';
 * describeSmsAdapterContract('SnsSmsAdapter', snsHarness);
 * ```
 *
 * Needs vitest (an optional peer of `@tracks/sms`).
 * @module
 */
import { inspect } from 'node:util';
import { isProviderError } from '@tracks/breaker';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SmsAdapter } from './adapter.js';
import { InvalidMessageError, InvalidPhoneNumberError, isRateLimitedError } from './errors.js';
import type { OtpIssueLimits, OtpRecord, OtpStore } from './otp-store.js';

/**
 * A failure the harness's local server can play on the next provider request:
 * `throttled` (429 / Throttling, with a Retry-After of 2 s where the protocol carries one),
 * `transient` (a 5xx), `auth` (bad credentials), `invalid-number` (the provider refuses the
 * number), `opted-out` (the recipient unsubscribed), `hang` (no answer at all),
 * `no-message-id` (a success reply without the message's id).
 */
export type SmsContractFault =
  | 'throttled'
  | 'transient'
  | 'auth'
  | 'invalid-number'
  | 'opted-out'
  | 'hang'
  | 'no-message-id';

/** A message as the provider's server received it. */
export interface ReceivedSms {
  /** The number, as sent on the wire. */
  readonly to: string;
  /** The body, as sent on the wire (empty for providers that compose the code message themselves). */
  readonly body: string;
}

/** One test's adapter and its view of the provider's side. */
export interface SmsContractFixture {
  /** The adapter under test, talking to the local server. */
  readonly adapter: SmsAdapter;
  /** Requests the server received so far (all operations). */
  requests(): number;
  /** Messages the server accepted, oldest first. */
  received(): readonly ReceivedSms[] | Promise<readonly ReceivedSms[]>;
  /** The last code the provider delivered to `phone` (as E.164), read on the provider's side. */
  lastCode(phone: string): string | undefined | Promise<string | undefined>;
  /** Moves the clock that code expiry runs on (the OtpService's or the fake provider's). */
  advance(ms: number): void | Promise<void>;
  /** Makes the next provider request fail. */
  fail(fault: SmsContractFault): void;
  /** Releases what {@link SmsContractHarness.create} made for this test (the adapter, not the server). */
  close?(): void | Promise<void>;
}

/** How {@link SmsContractHarness.create} must build the adapter. */
export interface SmsContractCreateOptions {
  /**
   * The adapter's request timeout, in ms: generous for most tests (a slow, loaded machine must
   * not turn a normal request into a timeout), {@link SmsContractHarness.timeoutMs} for the test
   * that meets a hung server.
   */
  readonly requestTimeoutMs: number;
}

/** What an adapter's `contract.test.ts` hands to {@link describeSmsAdapterContract}. */
export interface SmsContractHarness {
  /** Builds a fresh adapter with fresh provider state; called before each test. */
  create(options: SmsContractCreateOptions): SmsContractFixture | Promise<SmsContractFixture>;
  /** Stops the local server; called after all tests. */
  stop?(): void | Promise<void>;
  /**
   * The short request timeout of the hung-server test, in ms: the hang must turn into a
   * `timeout` error within about this long. Other tests build adapters with 10 s.
   */
  timeoutMs: number;
  /** How long codes stay valid, in ms (what `advance` must pass to expire one). */
  otpTtlMs: number;
  /**
   * Credentials that must appear in no error's `JSON.stringify` or `util.inspect`.
   * @default []
   */
  secrets?: readonly string[];
  /**
   * Whether a throttled answer carries a wait the adapter reports as `retryAfterMs` (2 s).
   * @default false
   */
  throttleCarriesRetryAfter?: boolean;
}

const PHONE = '+14155552671';
const PATIENT_TIMEOUT_MS = 10_000;
const OTHER = '+14155552672';

/**
 * The behaviour every SMS adapter must have, as one vitest suite. Run it from the adapter's
 * `contract.test.ts` with a harness that starts a local server speaking the provider's wire
 * protocol; the adapter talks to it through its real SDK.
 */
export function describeSmsAdapterContract(name: string, harness: SmsContractHarness): void {
  describe(`${name} (SMS adapter contract)`, () => {
    let fixture: SmsContractFixture;
    let adapter: SmsAdapter;

    beforeEach(async () => {
      fixture = await harness.create({ requestTimeoutMs: PATIENT_TIMEOUT_MS });
      adapter = fixture.adapter;
    });
    afterEach(async () => {
      await fixture.close?.();
    });
    afterAll(async () => {
      await harness.stop?.();
    });

    const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
      const error = await promise.then(
        () => {
          throw new Error('expected a rejection');
        },
        (e: unknown) => e,
      );
      for (const secret of harness.secrets ?? []) {
        expect(JSON.stringify(error)).not.toContain(secret);
        expect(inspect(error, { depth: 10 })).not.toContain(secret);
      }
      return error;
    };

    describe('sendMessage', () => {
      it('sends to the E.164 number and reports the message id and segments', async () => {
        const result = await adapter.sendMessage('+1 (415) 555-2671', 'Hello from tracks');
        expect(result.provider).toBe(adapter.provider);
        expect(typeof result.messageId).toBe('string');
        expect(result.messageId.length).toBeGreaterThan(0);
        expect(result.segments).toBe(1);
        expect(await fixture.received()).toEqual([{ to: PHONE, body: 'Hello from tracks' }]);
        expect(fixture.requests()).toBe(1);
      });

      it('carries non-GSM text exactly and counts UCS-2 segments', async () => {
        const body = `Ça va? Привет 👋 ${'é'.repeat(60)}`;
        const result = await adapter.sendMessage(PHONE, body);
        expect(result.segments).toBe(2);
        expect((await fixture.received())[0]?.body).toBe(body);
      });

      it('refuses invalid and non-E.164 numbers without a request', async () => {
        for (const phone of ['+1415555', '4155552671', '+1 415 555 2671 ext 9', 'tel:+14155552671']) {
          const error = await rejection(adapter.sendMessage(phone, 'hi'));
          expect(error).toBeInstanceOf(InvalidPhoneNumberError);
          expect(error).toMatchObject({ kind: 'invalid', field: 'phone' });
        }
        expect(fixture.requests()).toBe(0);
      });

      it('refuses control characters and over-long bodies without a request', async () => {
        for (const body of ['', 'nul\u0000', 'esc\u001b[31m', 'a'.repeat(1531), 'ç'.repeat(671)]) {
          const error = await rejection(adapter.sendMessage(PHONE, body));
          expect(error).toBeInstanceOf(InvalidMessageError);
          expect(error).toMatchObject({ kind: 'invalid', field: 'body' });
        }
        expect(fixture.requests()).toBe(0);
      });

      it('maps throttling to throttled', async () => {
        fixture.fail('throttled');
        const error = await rejection(adapter.sendMessage(PHONE, 'hi'));
        expect(isProviderError(error)).toBe(true);
        expect(error).toMatchObject({ kind: 'throttled', retryable: true, provider: adapter.provider });
        if (harness.throttleCarriesRetryAfter) expect(error).toMatchObject({ retryAfterMs: 2000 });
        expect(fixture.requests()).toBe(1);
      });

      it('maps a 5xx to transient', async () => {
        fixture.fail('transient');
        const error = await rejection(adapter.sendMessage(PHONE, 'hi'));
        expect(error).toMatchObject({ kind: 'transient', retryable: true, scope: 'provider' });
        expect(fixture.requests()).toBe(1);
      });

      it('maps bad credentials to auth', async () => {
        fixture.fail('auth');
        const error = await rejection(adapter.sendMessage(PHONE, 'hi'));
        expect(error).toMatchObject({ kind: 'auth', retryable: false, scope: 'provider' });
      });

      it('maps a number the provider refuses to invalid, message scope', async () => {
        fixture.fail('invalid-number');
        const error = await rejection(adapter.sendMessage(PHONE, 'hi'));
        expect(error).toMatchObject({ kind: 'invalid', scope: 'message', retryable: false });
      });

      it('maps an opted-out recipient to permanent, message scope', async () => {
        fixture.fail('opted-out');
        const error = await rejection(adapter.sendMessage(PHONE, 'hi'));
        expect(error).toMatchObject({ kind: 'permanent', scope: 'message', retryable: false });
      });

      it('turns a hung server into a timeout within the request timeout', async () => {
        await fixture.close?.();
        fixture = await harness.create({ requestTimeoutMs: harness.timeoutMs });
        adapter = fixture.adapter;
        fixture.fail('hang');
        const started = performance.now();
        const error = await rejection(adapter.sendMessage(PHONE, 'hi'));
        expect(error).toMatchObject({ kind: 'timeout' });
        expect(performance.now() - started).toBeLessThan(harness.timeoutMs + 1000);
      });

      it('treats a success reply without a message id as an error', async () => {
        fixture.fail('no-message-id');
        const error = await rejection(adapter.sendMessage(PHONE, 'hi'));
        expect(isProviderError(error)).toBe(true);
        expect(error).toMatchObject({ retryable: false });
      });

      it('rejects with the reason of an aborted signal', async () => {
        const controller = new AbortController();
        const reason = new Error('caller gave up');
        controller.abort(reason);
        await expect(adapter.sendMessage(PHONE, 'hi', { signal: controller.signal })).rejects.toBe(reason);
      });

      it('rejects sendOtp and verifyOtp with an aborted signal, without a request or a spent limit', async () => {
        const controller = new AbortController();
        const reason = new Error('caller gave up');
        controller.abort(reason);
        await expect(adapter.sendOtp(PHONE, { signal: controller.signal })).rejects.toBe(reason);
        await expect(adapter.verifyOtp(PHONE, '123456', { signal: controller.signal })).rejects.toBe(reason);
        expect(fixture.requests()).toBe(0);
        await expect(adapter.sendOtp(PHONE)).resolves.toMatchObject({ provider: adapter.provider });
      });

      it('stops waiting when the signal aborts mid-request', async () => {
        fixture.fail('hang');
        const controller = new AbortController();
        const pending = adapter.sendMessage(PHONE, 'hi', { signal: controller.signal });
        const settled = pending.catch((e: unknown) => e);
        await until(() => fixture.requests() === 1);
        const reason = new Error('caller gave up');
        controller.abort(reason);
        const started = performance.now();
        const error = await settled;
        // far sooner than the request timeout (10 s) would have ended it
        expect(performance.now() - started).toBeLessThan(1000);
        expect(error).toBeDefined();
      });
    });

    describe('one-time passwords', () => {
      const wrongFor = (code: string): string => (code === '000000' ? '000001' : '000000');

      const send = async (phone = PHONE): Promise<string> => {
        const result = await adapter.sendOtp(phone);
        expect(result.provider).toBe(adapter.provider);
        const code = await fixture.lastCode(phone);
        expect(code).toMatch(/^\d{4,10}$/);
        return code!;
      };

      it('verifies the right code', async () => {
        const code = await send();
        expect(await adapter.verifyOtp(PHONE, code)).toEqual({ valid: true });
      });

      it('says mismatch for a wrong code, and the right one still works', async () => {
        const code = await send();
        expect(await adapter.verifyOtp(PHONE, wrongFor(code))).toEqual({ valid: false, reason: 'mismatch' });
        expect(await adapter.verifyOtp(PHONE, code)).toEqual({ valid: true });
      });

      it('says expired after the code expires', async () => {
        const code = await send();
        await fixture.advance(harness.otpTtlMs + 1);
        expect(await adapter.verifyOtp(PHONE, code)).toEqual({ valid: false, reason: 'expired' });
      });

      it('says too-many-attempts at the sixth check, even when it is right', async () => {
        const code = await send();
        for (let i = 0; i < 5; i++) {
          expect(await adapter.verifyOtp(PHONE, wrongFor(code))).toEqual({
            valid: false,
            reason: 'mismatch',
          });
        }
        expect(await adapter.verifyOtp(PHONE, code)).toEqual({ valid: false, reason: 'too-many-attempts' });
      });

      it('says expired for a number that was never sent a code', async () => {
        expect(await adapter.verifyOtp(OTHER, '123456')).toEqual({ valid: false, reason: 'expired' });
      });

      it('says expired for a code that was already used', async () => {
        const code = await send();
        expect(await adapter.verifyOtp(PHONE, code)).toEqual({ valid: true });
        expect(await adapter.verifyOtp(PHONE, code)).toEqual({ valid: false, reason: 'expired' });
      });

      it('stops a resend storm with RateLimitedError', async () => {
        await send();
        const errors: unknown[] = [];
        for (let i = 0; i < 9; i++) {
          await adapter.sendOtp(PHONE).catch((e: unknown) => errors.push(e));
        }
        expect(errors.length).toBeGreaterThan(0);
        for (const error of errors) {
          expect(isRateLimitedError(error)).toBe(true);
          expect(isProviderError(error)).toBe(false);
          expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
        }
        expect((await fixture.received()).length).toBeLessThanOrEqual(5);
      });

      it('refuses an invalid number without a request', async () => {
        await expect(adapter.sendOtp('+1415')).rejects.toBeInstanceOf(InvalidPhoneNumberError);
        await expect(adapter.verifyOtp('415-555-2671', '123456')).rejects.toBeInstanceOf(
          InvalidPhoneNumberError,
        );
        expect(fixture.requests()).toBe(0);
      });

      it('maps a provider failure while sending a code to a ProviderError', async () => {
        fixture.fail('transient');
        const error = await rejection(adapter.sendOtp(PHONE));
        expect(error).toMatchObject({ kind: 'transient' });
      });
    });
  });
}

/** What {@link describeOtpStoreContract} needs: a fresh, empty store per test. */
export interface OtpStoreContractHarness {
  /** Makes an empty store (or empties a shared one) before each test. */
  create(): OtpStore | Promise<OtpStore>;
  /** Releases what the tests used (connections); called after all tests. */
  stop?(): void | Promise<void>;
}

/**
 * The semantics every {@link OtpStore} must have (each method one atomic step), as one vitest
 * suite: a shared store (Redis) runs it to prove it behaves like `MemoryOtpStore`, concurrent
 * callers included.
 */
export function describeOtpStoreContract(name: string, harness: OtpStoreContractHarness): void {
  describe(`${name} (OtpStore contract)`, () => {
    let store: OtpStore;
    const limits: OtpIssueLimits = { cooldownMs: 30_000, maxPerWindow: 5, windowMs: 3_600_000 };
    const T = 1_000_000;
    const record = (id: string, at: number, ttl = 600_000): OtpRecord => ({
      id,
      hash: `hash-${id}`,
      issuedAt: at,
      expiresAt: at + ttl,
    });

    beforeEach(async () => {
      store = await harness.create();
    });
    afterAll(async () => {
      await harness.stop?.();
    });

    it('issues a code and counts checks of it', async () => {
      expect(await store.issue('+1', record('a', T), limits, T)).toEqual({ ok: true });
      expect(await store.attempt('+1', 5, T + 1)).toEqual({
        status: 'counted',
        id: 'a',
        hash: 'hash-a',
        attempts: 1,
      });
      expect(await store.attempt('+1', 5, T + 2)).toMatchObject({ status: 'counted', attempts: 2 });
    });

    it('says expired for an unknown key and for a code at or past expiresAt', async () => {
      expect(await store.attempt('+1', 5, T)).toEqual({ status: 'expired' });
      await store.issue('+1', record('a', T, 1000), limits, T);
      expect(await store.attempt('+1', 5, T + 1000)).toEqual({ status: 'expired' });
    });

    it('stops counting at maxAttempts', async () => {
      await store.issue('+1', record('a', T), limits, T);
      for (let i = 1; i <= 5; i++) expect(await store.attempt('+1', 5, T)).toMatchObject({ attempts: i });
      expect(await store.attempt('+1', 5, T)).toEqual({ status: 'too-many-attempts' });
    });

    it('counts every one of many concurrent checks exactly once', async () => {
      await store.issue('+1', record('a', T), limits, T);
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => store.attempt('+1', 5, T)));
      const counted = outcomes
        .filter((o) => o.status === 'counted')
        .map((o) => (o as { attempts: number }).attempts);
      expect(counted.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
      expect(outcomes.filter((o) => o.status === 'too-many-attempts')).toHaveLength(7);
    });

    it('consumes a code once, and only for its id', async () => {
      await store.issue('+1', record('a', T), limits, T);
      expect(await store.consume('+1', 'b')).toBe(false);
      const results = await Promise.all([store.consume('+1', 'a'), store.consume('+1', 'a')]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.attempt('+1', 5, T)).toEqual({ status: 'expired' });
    });

    it('refuses a new code within the cooldown of the last one, with the time left', async () => {
      await store.issue('+1', record('a', T), limits, T);
      expect(await store.issue('+1', record('b', T + 10_000), limits, T + 10_000)).toEqual({
        ok: false,
        reason: 'cooldown',
        retryAfterMs: 20_000,
      });
      // nothing changed: the first code is still live
      expect(await store.attempt('+1', 5, T + 10_000)).toMatchObject({ id: 'a' });
      expect(await store.issue('+1', record('c', T + 30_000), limits, T + 30_000)).toEqual({ ok: true });
      expect(await store.attempt('+1', 5, T + 30_000)).toMatchObject({ id: 'c', attempts: 1 });
    });

    it('caps codes per sliding window, and lets one concurrent issuer through the cooldown', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.issue('+1', record(`x${i}`, T), limits, T)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      for (let i = 1; i < 5; i++) {
        const at = T + i * 60_000;
        expect(await store.issue('+1', record(`y${i}`, at), limits, at)).toEqual({ ok: true });
      }
      const at = T + 5 * 60_000;
      expect(await store.issue('+1', record('z', at), limits, at)).toEqual({
        ok: false,
        reason: 'hourly-limit',
        retryAfterMs: 3_600_000 - 5 * 60_000,
      });
      expect(await store.issue('+1', record('z', T + 3_600_000), limits, T + 3_600_000)).toEqual({
        ok: true,
      });
    });

    it('withdraws an issuance: its code and its place in the resend history', async () => {
      await store.issue('+1', record('a', T), limits, T);
      await store.withdraw('+1', 'a');
      expect(await store.attempt('+1', 5, T)).toEqual({ status: 'expired' });
      expect(await store.issue('+1', record('b', T + 1), limits, T + 1)).toEqual({ ok: true });
      // withdrawing an older id leaves the newer code alone
      await store.withdraw('+1', 'a');
      expect(await store.attempt('+1', 5, T + 1)).toMatchObject({ id: 'b' });
    });

    it('keeps keys apart', async () => {
      await store.issue('+1', record('a', T), limits, T);
      expect(await store.issue('+2', record('b', T), limits, T)).toEqual({ ok: true });
      expect(await store.attempt('+2', 5, T)).toMatchObject({ id: 'b' });
    });
  });
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
