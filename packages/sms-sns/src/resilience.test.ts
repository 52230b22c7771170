import { CircuitBreaker, isOpenStateError, presets } from '@tracks/breaker';
import { OtpService, RateLimitedError, withResilience } from '@tracks/sms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeSns } from './fake-sns.js';
import { SnsSmsAdapter } from './sns-adapter.js';

const PHONE = '+14155552671';
let sns: FakeSns;

beforeAll(async () => {
  sns = await FakeSns.start();
});
afterAll(async () => {
  await sns.stop();
});
beforeEach(() => {
  sns.reset();
});

function setup() {
  const clock = { now: 1_000_000 };
  const otp = new OtpService({ secret: 'a-test-secret-of-32-bytes-length', now: () => clock.now });
  const adapter = new SnsSmsAdapter({
    otp,
    endpoint: sns.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'sns-secret-access-key' },
    requestTimeoutMs: 5_000,
  });
  const breaker = new CircuitBreaker({ ...presets.sms, name: 'sms:sns', now: () => clock.now });
  const sms = withResilience(adapter, { breaker, retry: false });
  // the same breaker behind a short deadline, for the call that meets a hung server: the
  // other calls get no deadline of their own, so a slow machine cannot turn them into timeouts
  const impatient = withResilience(adapter, { breaker, retry: false, timeout: 100 });
  return { clock, otp, adapter, breaker, sms, impatient };
}

describe('SnsSmsAdapter with withResilience', () => {
  it('rides out an SNS outage: bounded latency, open at 3 failures, fast rejection, recovery', async () => {
    const { clock, breaker, sms, impatient, adapter } = setup();
    // sent (and the SDK warmed up) before the outage, outside the policy's deadline
    await adapter.sendOtp('+14155552672');
    const code = /\b(\d{6})\b/.exec(sns.published[0]!.body)![1]!;

    sns.faults.push('hang', { code: 'InternalError', status: 500 }, { code: 'Throttled', status: 429 });
    const hung = performance.now();
    await expect(impatient.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - hung).toBeLessThan(1_000);
    await expect(sms.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ kind: 'transient' });
    await expect(sms.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ kind: 'throttled' });
    expect(breaker.state).toBe('open');
    const requests = sns.requests;

    // rejected without I/O: the fastest of 20 rejections (a loaded machine may pause any one)
    const durations: number[] = [];
    let rejected: unknown;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      rejected = await sms.sendOtp(PHONE).catch((e: unknown) => e);
      durations.push(performance.now() - started);
      expect(isOpenStateError(rejected)).toBe(true);
    }
    expect(Math.min(...durations)).toBeLessThan(1);
    expect(isOpenStateError(rejected)).toBe(true);
    expect(sns.requests).toBe(requests);

    // logins with a code sent before the outage still work: the check is local
    expect(await sms.verifyOtp('+14155552672', code)).toEqual({ valid: true });

    clock.now += 60_000;
    for (let i = 0; i < 3; i++) await sms.sendMessage(PHONE, 'back');
    expect(breaker.state).toBe('closed');
    // the open breaker's refusal did not cost the person a cooldown
    await expect(sms.sendOtp(PHONE)).resolves.toMatchObject({ provider: 'sns' });
    await adapter.close();
  });

  it('keeps a resend storm away from SNS and the breaker', async () => {
    const { breaker, sms, adapter } = setup();
    await sms.sendOtp(PHONE);
    for (let i = 0; i < 10; i++) await expect(sms.sendOtp(PHONE)).rejects.toBeInstanceOf(RateLimitedError);
    expect(sns.requests).toBe(1);
    expect(breaker.counts).toMatchObject({ requests: 1, totalFailures: 0 });
    await adapter.close();
  });
});
