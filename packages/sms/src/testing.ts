import { inspect } from 'node:util';
import { isProviderError } from '@tracks/breaker';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SmsAdapter } from './adapter.js';
import { InvalidMessageError, InvalidPhoneNumberError, isRateLimitedError } from './errors.js';

/**
 * A failure the harness's local server can play on the next provider request:
 * `throttled` (429 / Throttling, with a Retry-After of 2 s where the protocol carries one),
 * `transient` (a 5xx), `auth` (bad credentials), `invalid-number` (the provider refuses the
 * number), `opted-out` (the recipient unsubscribed), `hang` (no answer at all).
 */
export type SmsContractFault = 'throttled' | 'transient' | 'auth' | 'invalid-number' | 'opted-out' | 'hang';

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

/** What an adapter's `contract.test.ts` hands to {@link describeSmsAdapterContract}. */
export interface SmsContractHarness {
  /** Builds a fresh adapter with fresh provider state; called before each test. */
  create(): SmsContractFixture | Promise<SmsContractFixture>;
  /** Stops the local server; called after all tests. */
  stop?(): void | Promise<void>;
  /**
   * The request timeout the adapter is built with, in ms: a hung server must turn into a
   * `timeout` error within about this long.
   */
  timeoutMs: number;
  /** How long codes stay valid, in ms (what `advance` must pass to expire one). */
  otpTtlMs: number;
  /** Credentials that must appear in no error's `JSON.stringify` or `util.inspect`. */
  secrets?: readonly string[];
  /**
   * Whether a throttled answer carries a wait the adapter reports as `retryAfterMs` (2 s).
   * @default false
   */
  throttleCarriesRetryAfter?: boolean;
}

const PHONE = '+14155552671';
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
      fixture = await harness.create();
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
        fixture.fail('hang');
        const started = performance.now();
        const error = await rejection(adapter.sendMessage(PHONE, 'hi'));
        expect(error).toMatchObject({ kind: 'timeout' });
        expect(performance.now() - started).toBeLessThan(harness.timeoutMs + 1000);
      });

      it('rejects with the reason of an aborted signal', async () => {
        const controller = new AbortController();
        const reason = new Error('caller gave up');
        controller.abort(reason);
        await expect(adapter.sendMessage(PHONE, 'hi', { signal: controller.signal })).rejects.toBe(reason);
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
        expect(performance.now() - started).toBeLessThan(harness.timeoutMs);
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

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
