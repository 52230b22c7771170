import { isProviderError } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { InvalidPhoneNumberError, isRateLimitedError, RateLimitedError } from './errors.js';
import { MemoryOtpStore } from './memory-otp-store.js';
import { OtpService, type OtpServiceOptions } from './otp.js';
import type { OtpRecord, OtpStore } from './otp-store.js';

const PHONE = '+14155552671';
const SECRET = 'a-test-secret-of-32-bytes-length';

function service(options: Partial<OtpServiceOptions> = {}) {
  let time = 1_000_000;
  const store = (options.store as MemoryOtpStore | undefined) ?? new MemoryOtpStore();
  const otp = new OtpService({ secret: SECRET, now: () => time, ...options, store });
  return {
    otp,
    store,
    advance(ms: number) {
      time += ms;
    },
  };
}

// a store that records what it was asked to keep
class SpyStore extends MemoryOtpStore {
  readonly records: OtpRecord[] = [];
  override issue(...args: Parameters<OtpStore['issue']>) {
    this.records.push(args[1]);
    return super.issue(...args);
  }
}

describe('OtpService', () => {
  it('issues six random digits that verify once', async () => {
    const { otp } = service();
    const { code, expiresAt } = await otp.issue(PHONE);
    expect(code).toMatch(/^\d{6}$/);
    expect(expiresAt.getTime()).toBe(1_000_000 + 600_000);
    expect(await otp.verify(PHONE, code)).toEqual({ valid: true });
    // single use
    expect(await otp.verify(PHONE, code)).toEqual({ valid: false, reason: 'expired' });
  });

  it('accepts the number in any written form and the code with spaces', async () => {
    const { otp } = service();
    const { code } = await otp.issue('+1 (415) 555-2671');
    expect(await otp.verify(PHONE, `${code.slice(0, 3)} ${code.slice(3)}`)).toEqual({ valid: true });
  });

  it('draws codes uniformly enough: all lengths padded, many distinct values', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { otp } = service({ codeLength: 4 });
      codes.add((await otp.issue(PHONE)).code);
    }
    for (const code of codes) expect(code).toMatch(/^\d{4}$/);
    expect(codes.size).toBeGreaterThan(150);
  });

  it('stores only an HMAC of the code, never the code', async () => {
    const store = new SpyStore();
    const { otp } = service({ store });
    const { code } = await otp.issue(PHONE);
    const record = store.records[0]!;
    expect(JSON.stringify(record)).not.toContain(code);
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
    // another secret gives another hash: the store alone cannot check a guess
    const other = new SpyStore();
    await new OtpService({ secret: 'another-secret-of-enough-bytes!!', store: other }).issue(PHONE);
    expect(other.records[0]!.hash).not.toBe(record.hash);
  });

  it('says mismatch for a wrong code and still accepts the right one', async () => {
    const { otp } = service();
    const { code } = await otp.issue(PHONE);
    const wrong = code === '000000' ? '000001' : '000000';
    expect(await otp.verify(PHONE, wrong)).toEqual({ valid: false, reason: 'mismatch' });
    expect(await otp.verify(PHONE, 'not digits')).toEqual({ valid: false, reason: 'mismatch' });
    expect(await otp.verify(PHONE, code)).toEqual({ valid: true });
  });

  it('kills a code after five checks: the sixth fails even when right', async () => {
    const { otp } = service();
    const { code } = await otp.issue(PHONE);
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++) expect(await otp.verify(PHONE, wrong)).toMatchObject({ reason: 'mismatch' });
    expect(await otp.verify(PHONE, code)).toEqual({ valid: false, reason: 'too-many-attempts' });
    expect(await otp.verify(PHONE, code)).toEqual({ valid: false, reason: 'too-many-attempts' });
  });

  it('counts concurrent guesses: of ten at once only five are compared', async () => {
    const { otp } = service();
    const { code } = await otp.issue(PHONE);
    const results = await Promise.all(Array.from({ length: 10 }, () => otp.verify(PHONE, code)));
    expect(results.filter((r) => r.valid)).toHaveLength(1);
    expect(results.filter((r) => !r.valid && r.reason === 'expired')).toHaveLength(4);
    expect(results.filter((r) => !r.valid && r.reason === 'too-many-attempts')).toHaveLength(5);
  });

  it('expires codes after ttlMs', async () => {
    const { otp, advance } = service({ ttlMs: 60_000 });
    const { code } = await otp.issue(PHONE);
    advance(59_999);
    const early = await otp.issue('+14155552672');
    advance(1);
    expect(await otp.verify(PHONE, code)).toEqual({ valid: false, reason: 'expired' });
    expect(await otp.verify('+14155552672', early.code)).toEqual({ valid: true });
  });

  it('says expired for a number that was never sent a code', async () => {
    const { otp } = service();
    expect(await otp.verify(PHONE, '123456')).toEqual({ valid: false, reason: 'expired' });
  });

  it('replaces the previous code when a new one is issued, with fresh attempts', async () => {
    const { otp, advance } = service();
    const first = await otp.issue(PHONE);
    for (let i = 0; i < 5; i++) await otp.verify(PHONE, 'nope');
    advance(30_000);
    const second = await otp.issue(PHONE);
    if (first.code !== second.code) {
      expect(await otp.verify(PHONE, first.code)).toMatchObject({ reason: 'mismatch' });
    }
    expect(await otp.verify(PHONE, second.code)).toEqual({ valid: true });
  });

  it('refuses a resend within the cooldown with RateLimitedError and retryAfterMs', async () => {
    const { otp, advance } = service();
    await otp.issue(PHONE);
    advance(10_000);
    const error = await otp.issue(PHONE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(isRateLimitedError(error)).toBe(true);
    expect(isProviderError(error)).toBe(false);
    expect(error).toMatchObject({ reason: 'cooldown', retryAfterMs: 20_000, retryable: false });
    advance(20_000);
    await expect(otp.issue(PHONE)).resolves.toMatchObject({ code: expect.any(String) });
  });

  it('caps codes per number at five in any sliding hour', async () => {
    const { otp, advance } = service();
    for (let i = 0; i < 5; i++) {
      await otp.issue(PHONE);
      advance(60_000);
    }
    // issued at t0 .. t0+4 min; now t0+5 min: the first leaves the window at t0+60 min
    const error = await otp.issue(PHONE).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'RateLimitedError',
      reason: 'hourly-limit',
      retryAfterMs: 55 * 60_000,
    });
    // other numbers are not affected
    await expect(otp.issue('+14155552672')).resolves.toBeDefined();
    advance(55 * 60_000);
    await expect(otp.issue(PHONE)).resolves.toBeDefined();
  });

  it('withdraws an issuance that was never delivered, lifting the cooldown', async () => {
    const { otp } = service();
    const issued = await otp.issue(PHONE);
    await otp.withdraw(issued);
    expect(await otp.verify(PHONE, issued.code)).toEqual({ valid: false, reason: 'expired' });
    await expect(otp.issue(PHONE)).resolves.toBeDefined();
  });

  it('throws InvalidPhoneNumberError for bad numbers before touching the store', async () => {
    const store = new SpyStore();
    const { otp } = service({ store });
    await expect(otp.issue('12345')).rejects.toBeInstanceOf(InvalidPhoneNumberError);
    await expect(otp.verify('+1415', '123456')).rejects.toMatchObject({
      operation: 'verifyOtp',
      field: 'phone',
    });
    expect(store.records).toHaveLength(0);
  });

  it('validates its options', () => {
    expect(() => new OtpService({ secret: 'short' })).toThrow(/16 bytes/);
    expect(() => new OtpService({ secret: SECRET, codeLength: 3 })).toThrow(RangeError);
    expect(() => new OtpService({ secret: SECRET, maxAttempts: 0 })).toThrow(RangeError);
    expect(() => new OtpService({ secret: SECRET, ttlMs: -1 })).toThrow(RangeError);
    expect(() => new OtpService({ secret: SECRET, maxPerHour: 1.5 })).toThrow(RangeError);
    expect(new OtpService({ secret: new Uint8Array(16) }).ttlMs).toBe(600_000);
  });
});

describe('MemoryOtpStore', () => {
  const limits = { cooldownMs: 0, maxPerWindow: 100, windowMs: 3_600_000 };
  const record = (id: string, now: number): OtpRecord => ({
    id,
    hash: 'ab',
    issuedAt: now,
    expiresAt: now + 1000,
  });

  it('stays within maxEntries, dropping dead entries first, then the least recently used', async () => {
    const store = new MemoryOtpStore({ maxEntries: 3 });
    await store.issue('a', record('1', 0), { ...limits, windowMs: 10 }, 0);
    await store.issue('b', record('2', 0), limits, 0);
    await store.issue('c', record('3', 0), limits, 0);
    // at t=2000 a's code and history are gone, so a goes first
    await store.issue('d', record('4', 2000), limits, 2000);
    expect(store.size).toBe(3);
    expect(await store.attempt('a', 5, 2000)).toEqual({ status: 'expired' });
    // b was touched last of b/c: c is the least recently used
    await store.attempt('b', 5, 2000);
    await store.issue('e', record('5', 2000), limits, 2000);
    expect(store.size).toBe(3);
    await expect(
      store.issue('c', record('6', 2000), { ...limits, cooldownMs: 60_000 }, 2000),
    ).resolves.toEqual({
      ok: true,
    });
  });

  it('consumes a code only for the id it was issued with', async () => {
    const store = new MemoryOtpStore();
    await store.issue('a', record('1', 0), limits, 0);
    expect(await store.consume('a', 'other')).toBe(false);
    expect(await store.consume('a', '1')).toBe(true);
    expect(await store.consume('a', '1')).toBe(false);
  });

  it('forgets a key whose code expired and whose history left the window', async () => {
    const store = new MemoryOtpStore();
    await store.issue('a', record('1', 0), { ...limits, windowMs: 5000 }, 0);
    expect(await store.attempt('a', 5, 5000)).toEqual({ status: 'expired' });
    expect(store.size).toBe(0);
  });

  it('validates maxEntries', () => {
    expect(() => new MemoryOtpStore({ maxEntries: 0 })).toThrow(RangeError);
  });
});
