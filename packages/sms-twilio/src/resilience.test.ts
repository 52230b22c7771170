import { CircuitBreaker, isOpenStateError, presets } from '@tracks/breaker';
import { RateLimitedError, withResilience } from '@tracks/sms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeTwilio } from './fake-twilio.js';
import { TwilioSmsAdapter } from './twilio-adapter.js';

const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const AUTH_TOKEN = 'twilio-auth-token-never-logged-0123';
const PHONE = '+14155552671';
let server: FakeTwilio;

beforeAll(async () => {
  server = await FakeTwilio.start(ACCOUNT_SID, AUTH_TOKEN);
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.reset();
});

function setup() {
  const clock = { now: 1_000_000 };
  const adapter = new TwilioSmsAdapter({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    from: '+15005550006',
    verifyServiceSid: `VA${'a'.repeat(32)}`,
    baseUrl: server.baseUrl,
    timeoutMs: 5_000,
  });
  const breaker = new CircuitBreaker({ ...presets.sms, name: 'sms:twilio', now: () => clock.now });
  const sms = withResilience(adapter, { breaker, retry: { maxRetries: 2, backoff: () => 0 } });
  // the same breaker behind a short deadline, for the call that meets a hung server: the
  // other calls get no deadline of their own, so a slow machine cannot turn them into timeouts
  const impatient = withResilience(adapter, {
    breaker,
    retry: { maxRetries: 2, backoff: () => 0 },
    timeout: 100,
  });
  return { clock, adapter, breaker, sms, impatient };
}

describe('TwilioSmsAdapter with withResilience', () => {
  it('rides out a Twilio outage: bounded latency, open at 3 failures, fast rejection, recovery', async () => {
    const { clock, breaker, sms, impatient, adapter } = setup();
    // warm the SDK (it loads its resources lazily) outside the policy's deadline
    await adapter.sendMessage(PHONE, 'warm-up');
    // a hang is ambiguous: a timeout within the policy's deadline, not retried
    server.faults.push('hang');
    let started = performance.now();
    await expect(impatient.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - started).toBeLessThan(1_000);
    // 503s are retried within the call, until the third consecutive failure opens the breaker
    server.faults.push({ status: 503, code: 20503, message: 'unavailable' });
    server.faults.push({ status: 503, code: 20503, message: 'unavailable' });
    await expect(sms.sendMessage(PHONE, 'hi')).rejects.toBeDefined();
    expect(breaker.state).toBe('open');
    const requests = server.requests;
    // rejected without I/O: the fastest of 20 rejections (a loaded machine may pause any one)
    const durations: number[] = [];
    let rejected: unknown;
    for (let i = 0; i < 20; i++) {
      started = performance.now();
      rejected = await sms.verifyOtp(PHONE, '123456').catch((e: unknown) => e);
      durations.push(performance.now() - started);
      expect(isOpenStateError(rejected)).toBe(true);
    }
    expect(Math.min(...durations)).toBeLessThan(1);
    expect(isOpenStateError(rejected)).toBe(true);
    expect(server.requests).toBe(requests);

    clock.now += 60_000;
    for (let i = 0; i < 3; i++) await sms.sendMessage(PHONE, 'back');
    expect(breaker.state).toBe('closed');
    await adapter.close();
  });

  it('never counts wrong codes or Verify send limits against the breaker', async () => {
    const { breaker, sms, adapter } = setup();
    await sms.sendOtp(PHONE);
    for (let i = 0; i < 5; i++) expect(await sms.verifyOtp(PHONE, '000000')).toMatchObject({ valid: false });
    expect(await sms.verifyOtp(PHONE, server.lastCode(PHONE)!)).toEqual({
      valid: false,
      reason: 'too-many-attempts',
    });
    for (let i = 0; i < 4; i++) await sms.sendOtp(PHONE);
    const requests = server.requests;
    await expect(sms.sendOtp(PHONE)).rejects.toBeInstanceOf(RateLimitedError);
    // one request: the limit was not retried
    expect(server.requests).toBe(requests + 1);
    expect(breaker.counts.totalFailures).toBe(0);
    expect(breaker.state).toBe('closed');
    await adapter.close();
  });
});
