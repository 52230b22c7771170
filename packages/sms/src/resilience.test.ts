import {
  type Breaker,
  CircuitBreaker,
  isOpenStateError,
  ProviderError,
  presets,
  resilience,
} from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import type { SendOtpResult, SendResult, SmsAdapter, VerifyResult } from './adapter.js';
import { InvalidMessageError, InvalidPhoneNumberError, RateLimitedError } from './errors.js';
import { MemorySmsAdapter } from './memory-adapter.js';
import { OtpService } from './otp.js';
import { withResilience } from './resilience.js';

const PHONE = '+14155552671';
const SECRET = 'a-test-secret-of-32-bytes-length';

function clocked() {
  const clock = { now: 1_000_000 };
  const otp = new OtpService({ secret: SECRET, now: () => clock.now });
  const adapter = new MemorySmsAdapter({ otp });
  const breaker = new CircuitBreaker({ ...presets.sms, name: 'sms:memory', now: () => clock.now });
  return { clock, otp, adapter, breaker };
}

const counts = (breaker: Breaker | undefined) => (breaker as CircuitBreaker).counts;

// A provider that verifies codes itself (like Twilio Verify), scripted by the test.
class RemoteVerifyAdapter implements SmsAdapter {
  readonly provider = 'remote';
  calls = 0;
  readonly verifyAnswers: (VerifyResult | Error)[] = [];
  readonly sendFaults: Error[] = [];
  sendMessage(): Promise<SendResult> {
    this.calls += 1;
    return Promise.resolve({ provider: this.provider, messageId: 'm', segments: 1 });
  }
  sendOtp(): Promise<SendOtpResult> {
    this.calls += 1;
    const fault = this.sendFaults.shift();
    return fault ? Promise.reject(fault) : Promise.resolve({ provider: this.provider });
  }
  verifyOtp(): Promise<VerifyResult> {
    this.calls += 1;
    const answer = this.verifyAnswers.shift() ?? { valid: true };
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }
}

describe('withResilience', () => {
  it('gives each provider its own breaker named sms:<provider> with the sms preset', () => {
    const wrapped = withResilience(new MemorySmsAdapter({ provider: 'sns' }));
    expect(wrapped.policy.breaker?.name).toBe('sms:sns');
    expect(wrapped.provider).toBe('sns');
    const given = resilience({ retry: false });
    expect(withResilience(new MemorySmsAdapter(), given).policy).toBe(given);
  });

  it('sends through the policy and returns the result', async () => {
    const { adapter, breaker } = clocked();
    const sms = withResilience(adapter, { breaker, retry: false });
    await expect(sms.sendMessage('+1 415 555 2671', 'hi')).resolves.toMatchObject({
      provider: 'memory',
      segments: 1,
    });
    expect(adapter.sent[0]!.to).toBe(PHONE);
    expect(counts(breaker).totalSuccesses).toBe(1);
  });

  describe('bad input', () => {
    it.each([
      ['an invalid number', '+1415555', 'hi', InvalidPhoneNumberError],
      ['a national number', '415 555 2671', 'hi', InvalidPhoneNumberError],
      ['a number with letters', '+1 415 CALL NOW', 'hi', InvalidPhoneNumberError],
      ['control characters', PHONE, 'click \u001b]8;;http://evil\u0007', InvalidMessageError],
      ['an over-long body', PHONE, 'a'.repeat(1531), InvalidMessageError],
      ['an empty body', PHONE, '', InvalidMessageError],
    ])('refuses %s with a typed error and no provider call', async (_label, phone, body, type) => {
      const { adapter, breaker } = clocked();
      const sms = withResilience(adapter, { breaker });
      await expect(sms.sendMessage(phone, body)).rejects.toBeInstanceOf(type);
      expect(adapter.calls).toBe(0);
      expect(counts(breaker)).toMatchObject({ requests: 0, totalFailures: 0 });
    });

    it('validates with the adapter segment cap', async () => {
      const sms = withResilience(new MemorySmsAdapter({ maxSegments: 1 }), { retry: false });
      await expect(sms.sendMessage(PHONE, 'a'.repeat(161))).rejects.toBeInstanceOf(InvalidMessageError);
    });

    it('stops a brute force at the sixth guess, even when it is right, with no provider call', async () => {
      const { adapter, breaker } = clocked();
      const sms = withResilience(adapter, { breaker });
      await sms.sendOtp(PHONE);
      const code = adapter.lastCode(PHONE)!;
      const wrong = code === '000000' ? '000001' : '000000';
      for (let i = 0; i < 5; i++)
        expect(await sms.verifyOtp(PHONE, wrong)).toMatchObject({ reason: 'mismatch' });
      expect(await sms.verifyOtp(PHONE, code)).toEqual({ valid: false, reason: 'too-many-attempts' });
      expect(adapter.calls).toBe(1);
      expect(counts(breaker)).toMatchObject({ requests: 1, totalFailures: 0 });
    });

    it('refuses a replayed code', async () => {
      const { adapter, breaker } = clocked();
      const sms = withResilience(adapter, { breaker });
      await sms.sendOtp(PHONE);
      const code = adapter.lastCode(PHONE)!;
      expect(await sms.verifyOtp(PHONE, code)).toEqual({ valid: true });
      expect(await sms.verifyOtp(PHONE, code)).toEqual({ valid: false, reason: 'expired' });
    });

    it('stops a resend storm with RateLimitedError before the breaker and the provider', async () => {
      const { adapter, breaker, clock } = clocked();
      const sms = withResilience(adapter, { breaker });
      await sms.sendOtp(PHONE);
      const errors = await Promise.all(
        Array.from({ length: 20 }, () => sms.sendOtp(PHONE).catch((e: unknown) => e)),
      );
      for (const error of errors) {
        expect(error).toBeInstanceOf(RateLimitedError);
        expect((error as RateLimitedError).retryAfterMs).toBe(30_000);
      }
      expect(adapter.calls).toBe(1);
      expect(counts(breaker)).toMatchObject({ requests: 1, totalFailures: 0 });
      expect(breaker.state).toBe('closed');
      clock.now += 30_000;
      await expect(sms.sendOtp(PHONE)).resolves.toMatchObject({ provider: 'memory' });
    });
  });

  describe('sends', () => {
    it('retries errors that prove nothing was sent, re-delivering the same code', async () => {
      const { adapter, breaker } = clocked();
      adapter.fail('transient');
      const sms = withResilience(adapter, { breaker, retry: { maxRetries: 2, backoff: () => 0 } });
      await sms.sendOtp(PHONE);
      expect(adapter.calls).toBe(2);
      expect(adapter.sent).toHaveLength(1);
      expect(await sms.verifyOtp(PHONE, adapter.lastCode(PHONE)!)).toEqual({ valid: true });
    });

    it('never retries an ambiguous timeout of a send unless told to', async () => {
      const { adapter, breaker } = clocked();
      const sms = withResilience(adapter, { breaker, retry: { maxRetries: 3, backoff: () => 0 } });
      adapter.fail('timeout');
      await expect(sms.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ kind: 'timeout' });
      expect(adapter.calls).toBe(1);
      adapter.fail('timeout');
      await expect(sms.sendOtp(PHONE)).rejects.toMatchObject({ kind: 'timeout' });
      expect(adapter.calls).toBe(2);
      // the code may have arrived: it stays live, and the cooldown stands
      await expect(sms.sendOtp(PHONE)).rejects.toBeInstanceOf(RateLimitedError);

      const bold = withResilience(new MemorySmsAdapter().fail('timeout'), {
        retry: { maxRetries: 3, backoff: () => 0 },
        retryAmbiguous: true,
      });
      await expect(bold.sendMessage(PHONE, 'hi')).resolves.toBeDefined();
      expect((bold.adapter as MemorySmsAdapter).calls).toBe(2);
    });

    it('withdraws the code when every attempt was refused, so the person can ask again', async () => {
      const { adapter, breaker } = clocked();
      adapter.fail('transient', 2);
      const sms = withResilience(adapter, { breaker, retry: { maxRetries: 1, backoff: () => 0 } });
      await expect(sms.sendOtp(PHONE)).rejects.toMatchObject({ kind: 'transient' });
      await expect(sms.sendOtp(PHONE)).resolves.toBeDefined();
    });

    it('passes the caller signal down and rejects with its reason', async () => {
      const sms = withResilience(new MemorySmsAdapter().fail('hang'), { retry: false });
      const controller = new AbortController();
      const pending = sms.sendMessage(PHONE, 'hi', { signal: controller.signal });
      const reason = new Error('caller left');
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
    });
  });

  describe('an outage', () => {
    it('bounds latency, opens after 3 consecutive failures, rejects fast, and recovers', async () => {
      const { adapter, breaker, clock } = clocked();
      const sms = withResilience(adapter, { breaker, retry: false, timeout: 30 });
      adapter.fail('hang', 3);
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        await expect(sms.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ name: 'TimeoutError' });
        expect(performance.now() - started).toBeLessThan(500);
      }
      expect(breaker.state).toBe('open');
      expect(adapter.calls).toBe(3);

      // rejected without I/O: the fastest of 20 rejections (a loaded machine may pause any one)
      const durations: number[] = [];
      let rejected: unknown;
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        rejected = await sms.sendMessage(PHONE, 'hi').catch((e: unknown) => e);
        durations.push(performance.now() - started);
        expect(isOpenStateError(rejected)).toBe(true);
      }
      expect(Math.min(...durations)).toBeLessThan(1);
      expect(isOpenStateError(rejected)).toBe(true);
      expect(rejected).toMatchObject({ breaker: 'sms:memory', retryAfterMs: 60_000 });
      expect(adapter.calls).toBe(3);

      // a code sent before the outage still logs its person in: verification is local
      clock.now += 1;
      const code = await (async () => {
        const { code } = await adapter.otp.issue('+14155552672');
        return code;
      })();
      expect(await sms.verifyOtp('+14155552672', code)).toEqual({ valid: true });
      // a new code cannot be sent, and the open breaker's refusal does not cost the cooldown
      await expect(sms.sendOtp(PHONE)).rejects.toSatisfy(isOpenStateError);

      clock.now += 60_000;
      expect(breaker.state).toBe('half-open');
      for (let i = 0; i < 3; i++) await sms.sendMessage(PHONE, 'hi');
      expect(breaker.state).toBe('closed');
      await expect(sms.sendOtp(PHONE)).resolves.toBeDefined();
    });

    it('counts provider-scoped errors and ignores message-scoped ones', async () => {
      const { adapter, breaker } = clocked();
      const sms = withResilience(adapter, { breaker, retry: false });
      adapter.fail('opted-out', 5);
      for (let i = 0; i < 5; i++)
        await expect(sms.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ kind: 'permanent' });
      expect(breaker.state).toBe('closed');
      adapter.fail('auth', 3);
      for (let i = 0; i < 3; i++)
        await expect(sms.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ kind: 'auth' });
      expect(breaker.state).toBe('open');
    });
  });

  describe('providers that verify codes themselves', () => {
    it('runs verifyOtp through the policy, a mismatch being an answer, not a failure', async () => {
      const remote = new RemoteVerifyAdapter();
      const sms = withResilience(remote, { retry: { maxRetries: 3, backoff: () => 0 } });
      for (let i = 0; i < 5; i++) remote.verifyAnswers.push({ valid: false, reason: 'mismatch' });
      for (let i = 0; i < 5; i++)
        expect(await sms.verifyOtp(PHONE, '123456')).toMatchObject({ reason: 'mismatch' });
      expect(remote.calls).toBe(5);
      expect(counts(sms.policy.breaker)).toMatchObject({ totalFailures: 0, totalSuccesses: 5 });
      expect(sms.policy.breaker?.state).toBe('closed');
    });

    it('lets the provider send limit through as RateLimitedError, never retried, never a failure', async () => {
      const remote = new RemoteVerifyAdapter();
      const sms = withResilience(remote, { retry: { maxRetries: 3, backoff: () => 0 } });
      for (let i = 0; i < 5; i++) remote.sendFaults.push(new RateLimitedError(600_000, 'provider-limit'));
      for (let i = 0; i < 5; i++) await expect(sms.sendOtp(PHONE)).rejects.toBeInstanceOf(RateLimitedError);
      expect(remote.calls).toBe(5);
      expect(sms.policy.breaker?.state).toBe('closed');
      expect(counts(sms.policy.breaker).totalFailures).toBe(0);
    });

    it('retries a verify that failed before reaching the provider', async () => {
      const remote = new RemoteVerifyAdapter();
      const sms = withResilience(remote, { retry: { maxRetries: 3, backoff: () => 0 } });
      remote.verifyAnswers.push(
        new ProviderError({ kind: 'transient', provider: 'remote', operation: 'verifyOtp' }),
      );
      expect(await sms.verifyOtp(PHONE, '123456')).toEqual({ valid: true });
      expect(remote.calls).toBe(2);
    });
  });
});
