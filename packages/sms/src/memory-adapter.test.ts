import { ProviderError } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from './errors.js';
import { MemorySmsAdapter } from './memory-adapter.js';

const PHONE = '+14155552671';

describe('MemorySmsAdapter', () => {
  it('records what it sent and counts provider calls', async () => {
    const adapter = new MemorySmsAdapter();
    const result = await adapter.sendMessage('+1 415 555 2671', 'ç'.repeat(71));
    expect(result).toEqual({ provider: 'memory', messageId: 'memory-1', segments: 2 });
    expect(adapter.sent).toEqual([
      { messageId: 'memory-1', to: PHONE, body: 'ç'.repeat(71), segments: 2, kind: 'sms' },
    ]);
    expect(adapter.calls).toBe(1);
  });

  it('plays programmed faults in order, then recovers', async () => {
    const adapter = new MemorySmsAdapter({ provider: 'primary' });
    adapter.fail('transient', 2).fail('opted-out').fail(new Error('boom'));
    await expect(adapter.sendMessage(PHONE, 'a')).rejects.toMatchObject({
      kind: 'transient',
      provider: 'primary',
    });
    await expect(adapter.sendMessage(PHONE, 'a')).rejects.toMatchObject({ kind: 'transient' });
    await expect(adapter.sendMessage(PHONE, 'a')).rejects.toMatchObject({
      kind: 'permanent',
      scope: 'message',
    });
    await expect(adapter.sendMessage(PHONE, 'a')).rejects.toThrow('boom');
    await expect(adapter.sendMessage(PHONE, 'a')).resolves.toMatchObject({ provider: 'primary' });
    adapter.fail('auth', 5).recover();
    await expect(adapter.sendMessage(PHONE, 'a')).resolves.toBeDefined();
    expect(adapter.calls).toBe(6);
  });

  it.each(['throttled', 'timeout', 'auth', 'invalid'] as const)(
    'maps the %s fault to its kind',
    async (fault) => {
      const adapter = new MemorySmsAdapter().fail(fault);
      const error = await adapter.sendMessage(PHONE, 'a').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ kind: fault });
    },
  );

  it('hangs until the signal aborts', async () => {
    const adapter = new MemorySmsAdapter().fail('hang');
    const controller = new AbortController();
    const pending = adapter.sendMessage(PHONE, 'a', { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(pending).rejects.toThrow('gave up');
    expect(adapter.sent).toHaveLength(0);
  });

  it('sends codes it can verify, and keeps the code for tests', async () => {
    const adapter = new MemorySmsAdapter();
    await adapter.sendOtp(PHONE);
    const code = adapter.lastCode(PHONE)!;
    expect(adapter.sent[0]).toMatchObject({ kind: 'otp', code });
    expect(adapter.sent[0]!.body).toContain(code);
    expect(await adapter.verifyOtp(PHONE, code)).toEqual({ valid: true });
    expect(adapter.calls).toBe(1);
  });

  it('withdraws a code whose delivery provably failed, so a retry is not rate limited', async () => {
    const adapter = new MemorySmsAdapter().fail('transient');
    await expect(adapter.sendOtp(PHONE)).rejects.toMatchObject({ kind: 'transient' });
    await expect(adapter.sendOtp(PHONE)).resolves.toMatchObject({ provider: 'memory' });
  });

  it('keeps a code whose delivery timed out: it may have arrived', async () => {
    const adapter = new MemorySmsAdapter().fail('timeout');
    await expect(adapter.sendOtp(PHONE)).rejects.toMatchObject({ kind: 'timeout' });
    await expect(adapter.sendOtp(PHONE)).rejects.toBeInstanceOf(RateLimitedError);
    expect(adapter.calls).toBe(1);
  });
});
