// Outside-in: the names issue 6 fixes, imported from the built package exactly as a user does.
// A rename, a changed field or a dropped export fails here (at runtime, and under tsc).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CircuitBreaker, isProviderError, resilience } from '@tracks/breaker';
import type { OtpServiceOptions, SendOtpResult, SendResult, SmsAdapter, VerifyResult } from '@tracks/sms';
import {
  failover,
  InvalidPhoneNumberError,
  isRateLimitedError,
  LogSmsAdapter,
  MemoryOtpStore,
  MemorySmsAdapter,
  OtpService,
  RateLimitedError,
  withResilience,
} from '@tracks/sms';
import { describeSmsAdapterContract } from '@tracks/sms/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';

const SECRET = 'public-api-test-secret-0123456789abcdef';
const PHONE = '+14155550123';

// the issue's SmsAdapter, method for method: a third-party adapter written to it must fit
function issueShapedAdapter(provider: string, calls: string[]): SmsAdapter {
  const adapter: {
    readonly provider: string;
    sendMessage: SmsAdapter['sendMessage'];
    sendOtp: SmsAdapter['sendOtp'];
    verifyOtp: SmsAdapter['verifyOtp'];
    close?(): Promise<void>;
  } = {
    provider,
    async sendMessage(phone, body) {
      calls.push(`sendMessage ${phone} ${body}`);
      return { provider, messageId: 'SM1', segments: 1 };
    },
    async sendOtp(phone) {
      calls.push(`sendOtp ${phone}`);
      return { provider };
    },
    async verifyOtp(phone, code) {
      calls.push(`verifyOtp ${phone} ${code}`);
      return code === '123456' ? { valid: true } : { valid: false, reason: 'mismatch' };
    },
  };
  return adapter;
}

describe('@tracks/sms public API', () => {
  it('exports the names issue 6 fixes', () => {
    for (const value of [
      OtpService,
      MemoryOtpStore,
      MemorySmsAdapter,
      LogSmsAdapter,
      InvalidPhoneNumberError,
      RateLimitedError,
      withResilience,
      failover,
      describeSmsAdapterContract,
    ]) {
      expect(typeof value).toBe('function');
    }
  });

  it('keeps the shapes of SmsAdapter, SendResult and VerifyResult', () => {
    expectTypeOf<SendResult>().toEqualTypeOf<{ provider: string; messageId: string; segments: number }>();
    expectTypeOf<VerifyResult>().toEqualTypeOf<
      { valid: true } | { valid: false; reason: 'mismatch' | 'expired' | 'too-many-attempts' }
    >();
    expectTypeOf<SendOtpResult>().toEqualTypeOf<{ provider: string; expiresAt?: Date }>();
    expectTypeOf<SmsAdapter['sendMessage']>().toEqualTypeOf<
      (phone: string, body: string, options?: { signal?: AbortSignal }) => Promise<SendResult>
    >();
    expectTypeOf<SmsAdapter['sendOtp']>().toEqualTypeOf<
      (phone: string, options?: { signal?: AbortSignal; locale?: string }) => Promise<SendOtpResult>
    >();
    expectTypeOf<SmsAdapter['verifyOtp']>().toEqualTypeOf<
      (phone: string, code: string, options?: { signal?: AbortSignal }) => Promise<VerifyResult>
    >();
    expectTypeOf<OtpServiceOptions>().toMatchTypeOf<{
      store?: unknown;
      secret: unknown;
      ttlMs?: number;
      maxAttempts?: number;
      codeLength?: number;
      resendCooldownMs?: number;
      maxPerHour?: number;
    }>();
    expectTypeOf<OtpService['issue']>().returns.resolves.toMatchTypeOf<{ code: string; expiresAt: Date }>();
    expectTypeOf<OtpService['verify']>().returns.resolves.toEqualTypeOf<VerifyResult>();
  });

  it('OtpService takes the option names of the issue and keeps its rules', async () => {
    let now = 0;
    const otp = new OtpService({
      store: new MemoryOtpStore(),
      secret: SECRET,
      ttlMs: 60_000,
      maxAttempts: 5,
      codeLength: 6,
      resendCooldownMs: 30_000,
      maxPerHour: 5,
      now: () => now,
    });
    const { code, expiresAt } = await otp.issue(PHONE);
    expect(code).toMatch(/^\d{6}$/);
    expect(expiresAt).toEqual(new Date(60_000));
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++)
      await expect(otp.verify(PHONE, wrong)).resolves.toEqual({ valid: false, reason: 'mismatch' });
    // the sixth check fails even when right
    await expect(otp.verify(PHONE, code)).resolves.toEqual({ valid: false, reason: 'too-many-attempts' });
    const cooldown = await otp.issue(PHONE).catch((e: unknown) => e);
    expect(isRateLimitedError(cooldown)).toBe(true);
    expect(cooldown).toBeInstanceOf(RateLimitedError);
    expect(isProviderError(cooldown)).toBe(false);
    expect((cooldown as RateLimitedError).retryAfterMs).toBe(30_000);
    now = 30_000;
    const second = await otp.issue(PHONE);
    await expect(otp.verify(PHONE, second.code)).resolves.toEqual({ valid: true });
    await expect(otp.verify(PHONE, second.code)).resolves.toEqual({ valid: false, reason: 'expired' });
    await expect(otp.verify('+14155550199', '123456')).resolves.toEqual({ valid: false, reason: 'expired' });
  });

  it('refuses a bad number with an InvalidPhoneNumberError before any provider call', async () => {
    const memory = new MemorySmsAdapter();
    const wrapped = withResilience(memory, { retry: false });
    for (const phone of ['12345', 'not a number', '+1 415 555 01']) {
      const error = await wrapped.sendMessage(phone, 'hello').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidPhoneNumberError);
      expect(error).toMatchObject({ kind: 'invalid', field: 'phone' });
      await expect(wrapped.sendOtp(phone)).rejects.toBeInstanceOf(InvalidPhoneNumberError);
    }
    await expect(wrapped.sendMessage(PHONE, 'bell\u0007')).rejects.toMatchObject({
      kind: 'invalid',
      field: 'body',
    });
    expect(memory.calls).toBe(0);
    expect((wrapped.policy.breaker as CircuitBreaker).counts.requests).toBe(0);
  });

  it('withResilience takes a resilience() policy or its options, and names the breaker sms:<provider>', async () => {
    const policy = resilience({ retry: false });
    expect(withResilience(new MemorySmsAdapter({ provider: 'sns' }), policy).policy).toBe(policy);
    const byOptions = withResilience(new MemorySmsAdapter({ provider: 'sns' }), { retry: false });
    expect(byOptions.policy.breaker?.name).toBe('sms:sns');
    await expect(byOptions.sendMessage('+1 (415) 555-0123', 'hi')).resolves.toMatchObject({
      provider: 'sns',
      segments: 1,
    });
  });

  it('lays breaker settings given in the options over the sms preset and the sms:<provider> name', async () => {
    const memory = new MemorySmsAdapter({ provider: 'sns' });
    const wrapped = withResilience(memory, { retry: false, breaker: { timeout: 30_000 } });
    const breaker = wrapped.policy.breaker as CircuitBreaker;
    expect(breaker.name).toBe('sms:sns');
    // the preset excludes message-scoped errors: an opted-out number never counts as a failure
    memory.fail('opted-out');
    await expect(wrapped.sendMessage(PHONE, 'hi')).rejects.toMatchObject({
      kind: 'permanent',
      scope: 'message',
    });
    expect(breaker.counts).toMatchObject({ totalFailures: 0, totalExclusions: 1 });
    expect(withResilience(memory, { breaker: { name: 'mine' } }).policy.breaker?.name).toBe('mine');
  });

  it('withResilience and failover take an adapter written to the issue interface', async () => {
    const calls: string[] = [];
    const plain = withResilience(issueShapedAdapter('plain', calls), { retry: false });
    const down = new MemorySmsAdapter({ provider: 'down' }).fail('transient', 10);
    for (const strategy of ['fallback', 'round-robin'] as const) {
      const both = failover([down, plain], { strategy });
      await expect(both.sendMessage(PHONE, 'hi')).resolves.toMatchObject({ provider: 'plain' });
      await expect(both.sendMessage(PHONE, 'hi')).resolves.toMatchObject({ provider: 'plain' });
    }
    await expect(plain.sendOtp(PHONE)).resolves.toEqual({ provider: 'plain' });
    await expect(plain.verifyOtp(PHONE, '123456')).resolves.toEqual({ valid: true });
    await expect(plain.verifyOtp(PHONE, '000000')).resolves.toEqual({ valid: false, reason: 'mismatch' });
    expect(calls).toContain(`sendOtp ${PHONE}`);
  });

  it('LogSmsAdapter refuses production and masks the number', async () => {
    expect(() => new LogSmsAdapter({ nodeEnv: 'production' })).toThrow(/production/);
    const lines: string[] = [];
    const log = new LogSmsAdapter({
      nodeEnv: 'development',
      logger: { info: (message, fields) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`) },
    });
    await log.sendMessage(PHONE, 'hello');
    expect(lines.join('\n')).not.toContain('4155550123');
    expect(lines.join('\n')).toContain('hello');
  });

  it('keeps the published shape: ESM, no side effects, Node >=20.19, dist only, types before default, peers also dev', () => {
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
    );
    expect(manifest).toMatchObject({ type: 'module', sideEffects: false, engines: { node: '>=20.19' } });
    expect(manifest.files).toEqual(['dist']);
    for (const [path, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
      if (typeof target === 'object' && target !== null)
        expect(Object.keys(target), path).toEqual(['types', 'default']);
    }
    const optional = (manifest.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      expect(manifest.devDependencies?.[peer], peer).toBeDefined();
      // only a ./testing suite's vitest may be optional: a vendor SDK is a required peer
      if (optional[peer]?.optional) expect(peer).toBe('vitest');
    }
  });

  it('starts no timer and holds nothing open when imported', () => {
    // every timer started while importing is recorded, unref'd ones too (those do not show
    // among the active resources); timers and sockets still open afterwards are listed
    const script = `
      import { createRequire, syncBuiltinESMExports } from 'node:module';
      const timers = createRequire(process.cwd() + '/')('node:timers');
      const started = [];
      for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
        const original = timers[name];
        const recorded = function (...args) {
          started.push(name);
          return original.apply(this, args);
        };
        timers[name] = recorded;
        globalThis[name] = recorded;
      }
      syncBuiltinESMExports();
      await import('@tracks/sms');
      // TTY and pipe wraps are the process's own stdio, *Req entries module loading's fs calls
      const held = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && !r.endsWith('Req'));
      console.log(JSON.stringify({ started, held }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.error).toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ started: [], held: [] });
  });
});
