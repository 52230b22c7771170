import { CircuitBreaker, ProviderError, presets } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import type { SendOtpResult, SendResult, SmsAdapter, VerifyResult } from './adapter.js';
import { InvalidPhoneNumberError, RateLimitedError } from './errors.js';
import { failover } from './failover.js';
import { MemorySmsAdapter } from './memory-adapter.js';
import { OtpService } from './otp.js';
import { withResilience } from './resilience.js';

const PHONE = '+14155552671';

class RemoteVerifyAdapter implements SmsAdapter {
  readonly provider = 'remote';
  readonly codes = new Map<string, string>();
  readonly verifyFaults: Error[] = [];
  sendMessage(): Promise<SendResult> {
    return Promise.resolve({ provider: this.provider, messageId: 'r-1', segments: 1 });
  }
  sendOtp(phone: string): Promise<SendOtpResult> {
    this.codes.set(phone, '424242');
    return Promise.resolve({ provider: this.provider });
  }
  verifyOtp(phone: string, code: string): Promise<VerifyResult> {
    const fault = this.verifyFaults.shift();
    if (fault) return Promise.reject(fault);
    const live = this.codes.get(phone);
    if (live === undefined) return Promise.resolve({ valid: false, reason: 'expired' });
    if (live !== code) return Promise.resolve({ valid: false, reason: 'mismatch' });
    this.codes.delete(phone);
    return Promise.resolve({ valid: true });
  }
}

describe('failover', () => {
  it('moves to the next provider after a transient error and names who sent', async () => {
    const primary = new MemorySmsAdapter({ provider: 'primary' }).fail('transient');
    const secondary = new MemorySmsAdapter({ provider: 'secondary' });
    const sms = failover([primary, secondary]);
    const moves: unknown[] = [];
    sms.onFailover((event) => moves.push(event));
    await expect(sms.sendMessage(PHONE, 'hi')).resolves.toMatchObject({ provider: 'secondary' });
    expect(moves).toEqual([{ from: 'primary', to: 'secondary', error: expect.any(ProviderError) }]);
    expect(sms.provider).toBe('failover(primary,secondary)');
  });

  it.each([
    ['an opted-out number', 'opted-out'],
    ['an invalid number at the provider', 'invalid'],
    ['an ambiguous timeout', 'timeout'],
  ] as const)('does not move on after %s', async (_label, fault) => {
    const primary = new MemorySmsAdapter({ provider: 'primary' }).fail(fault);
    const secondary = new MemorySmsAdapter({ provider: 'secondary' });
    await expect(failover([primary, secondary]).sendMessage(PHONE, 'hi')).rejects.toBeInstanceOf(
      ProviderError,
    );
    expect(secondary.calls).toBe(0);
  });

  it('moves on after an ambiguous timeout with retryAmbiguous', async () => {
    const primary = new MemorySmsAdapter({ provider: 'primary' }).fail('timeout');
    const secondary = new MemorySmsAdapter({ provider: 'secondary' });
    const sms = failover([primary, secondary], { retryAmbiguous: true });
    await expect(sms.sendMessage(PHONE, 'hi')).resolves.toMatchObject({ provider: 'secondary' });
  });

  it('never moves on after a rate limit: it is about the number, not the provider', async () => {
    const otp = new OtpService({ secret: 'a-test-secret-of-32-bytes-length' });
    const primary = new MemorySmsAdapter({ provider: 'primary', otp });
    const secondary = new MemorySmsAdapter({ provider: 'secondary' });
    const sms = failover([withResilience(primary), withResilience(secondary)]);
    await sms.sendOtp(PHONE);
    await expect(sms.sendOtp(PHONE)).rejects.toBeInstanceOf(RateLimitedError);
    expect(secondary.calls).toBe(0);
  });

  it('refuses bad input before any provider', async () => {
    const primary = new MemorySmsAdapter({ provider: 'primary' });
    const sms = failover([primary]);
    await expect(sms.sendMessage('12', 'hi')).rejects.toBeInstanceOf(InvalidPhoneNumberError);
    await expect(sms.sendOtp('12')).rejects.toBeInstanceOf(InvalidPhoneNumberError);
    expect(primary.calls).toBe(0);
  });

  it('skips a provider whose breaker is open without calling it', async () => {
    const primary = new MemorySmsAdapter({ provider: 'primary' }).fail('transient', 3);
    const secondary = new MemorySmsAdapter({ provider: 'secondary' });
    const breaker = new CircuitBreaker({ ...presets.sms, name: 'sms:primary' });
    const sms = failover([
      withResilience(primary, { breaker, retry: false }),
      withResilience(secondary, { retry: false }),
    ]);
    for (let i = 0; i < 3; i++) await sms.sendMessage(PHONE, 'hi');
    expect(breaker.state).toBe('open');
    await expect(sms.sendMessage(PHONE, 'hi')).resolves.toMatchObject({ provider: 'secondary' });
    expect(primary.calls).toBe(3);
    expect(secondary.calls).toBe(4);
  });

  it('takes turns with round-robin', async () => {
    const a = new MemorySmsAdapter({ provider: 'a' });
    const b = new MemorySmsAdapter({ provider: 'b' });
    const sms = failover([a, b], { strategy: 'round-robin' });
    const providers = [];
    for (let i = 0; i < 4; i++) providers.push((await sms.sendMessage(PHONE, 'hi')).provider);
    expect(providers).toEqual(['a', 'b', 'a', 'b']);
  });

  it('verifies a code where it was made: locally first, then at the provider', async () => {
    const local = new MemorySmsAdapter({ provider: 'local' }).fail('transient');
    const remote = new RemoteVerifyAdapter();
    const sms = failover([local, remote]);
    // the local provider is down: the code comes from the remote one
    await expect(sms.sendOtp(PHONE)).resolves.toMatchObject({ provider: 'remote' });
    expect(await sms.verifyOtp(PHONE, '000000')).toEqual({ valid: false, reason: 'mismatch' });
    expect(await sms.verifyOtp(PHONE, '424242')).toEqual({ valid: true });
    // a locally sent code never reaches the remote provider's verify
    await sms.sendOtp('+14155552672');
    const code = local.lastCode('+14155552672')!;
    expect(await sms.verifyOtp('+14155552672', code)).toEqual({ valid: true });
  });

  it('says expired when no provider holds a code, and throws when the one that might is down', async () => {
    const remote = new RemoteVerifyAdapter();
    const sms = failover([new MemorySmsAdapter(), remote]);
    expect(await sms.verifyOtp(PHONE, '123456')).toEqual({ valid: false, reason: 'expired' });
    remote.verifyFaults.push(
      new ProviderError({ kind: 'transient', provider: 'remote', operation: 'verifyOtp' }),
    );
    await expect(sms.verifyOtp(PHONE, '123456')).rejects.toMatchObject({ kind: 'transient' });
  });

  it('does not guess expired when one of two verifying providers failed', async () => {
    const down = new RemoteVerifyAdapter();
    const up = new RemoteVerifyAdapter();
    const sms = failover([down, up]);
    down.verifyFaults.push(
      new ProviderError({ kind: 'transient', provider: 'remote', operation: 'verifyOtp' }),
    );
    await expect(sms.verifyOtp(PHONE, '123456')).rejects.toMatchObject({ kind: 'transient' });
    // a wrong code is an answer: it never moves on to the next provider
    await down.sendOtp(PHONE);
    await up.sendOtp(PHONE);
    expect(await sms.verifyOtp(PHONE, '000000')).toEqual({ valid: false, reason: 'mismatch' });
    expect(up.codes.has(PHONE)).toBe(true);
  });

  it('validates its arguments', () => {
    expect(() => failover([])).toThrow(TypeError);
    expect(() => failover([new MemorySmsAdapter()], { strategy: 'random' as 'fallback' })).toThrow(
      /strategy/,
    );
  });
});
