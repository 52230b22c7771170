import { OtpService, type OtpServiceOptions } from '@tracks/sms';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisOtpStore } from './index.js';
import { describeWithRedis, RedisServer, redisMissing } from './test/redis-server.js';

// OtpService's own scenarios (packages/sms/src/otp.test.ts) with the code kept in Redis, plus
// what only a shared store shows: two instances, two clients, one code.

const SECRET = 'a-test-secret-of-32-bytes-length';
let server: RedisServer;
let redis: Redis;
let other: Redis;
let serial = 0;

beforeAll(async () => {
  if (redisMissing !== undefined) return;
  server = await RedisServer.start();
  redis = server.client();
  other = server.client();
});

afterAll(async () => {
  redis?.disconnect();
  other?.disconnect();
  await server?.kill();
});

// a number of its own per test: the tests share one server
function phone(): string {
  serial++;
  return `+1415555${String(2000 + serial).padStart(4, '0')}`;
}

function service(options: Partial<OtpServiceOptions> = {}, client: Redis = redis) {
  const clockState = { time: 1_000_000 };
  const otp = new OtpService({
    secret: SECRET,
    now: () => clockState.time,
    store: new RedisOtpStore(client),
    ...options,
  });
  return {
    otp,
    clock: clockState,
    advance(ms: number) {
      clockState.time += ms;
    },
  };
}

const wrongFor = (code: string) => (code === '000000' ? '000001' : '000000');

describeWithRedis('RedisOtpStore through OtpService', () => {
  it('verifies a code once, and stores only its HMAC with a TTL', async () => {
    const { otp } = service();
    const number = phone();
    const { code } = await otp.issue(number);
    const stored = await redis.hgetall(`tracks:otp:${number}`);
    expect(JSON.stringify(stored)).not.toContain(`"${code}"`);
    expect(stored.h).toMatch(/^[0-9a-f]{64}$/);
    // max(expiresAt, issuedAt + 1 h) - now: the resend history outlives the 10-minute code
    const ttl = await redis.pttl(`tracks:otp:${number}`);
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    expect(await otp.verify(number, code)).toEqual({ valid: true });
    expect(await otp.verify(number, code)).toEqual({ valid: false, reason: 'expired' });
  });

  it('kills a code after five checks: the sixth fails even when right', async () => {
    const { otp } = service();
    const number = phone();
    const { code } = await otp.issue(number);
    for (let i = 0; i < 5; i++)
      expect(await otp.verify(number, wrongFor(code))).toMatchObject({ reason: 'mismatch' });
    expect(await otp.verify(number, code)).toEqual({ valid: false, reason: 'too-many-attempts' });
  });

  it('counts guesses made through two instances with two connections: five in all', async () => {
    const a = service();
    const b = service({}, other);
    const number = phone();
    const { code } = await a.otp.issue(number);
    const guesses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).otp.verify(number, wrongFor(code))),
    );
    expect(guesses.filter((g) => !g.valid && g.reason === 'mismatch')).toHaveLength(5);
    expect(guesses.filter((g) => !g.valid && g.reason === 'too-many-attempts')).toHaveLength(5);
    expect(await b.otp.verify(number, code)).toEqual({ valid: false, reason: 'too-many-attempts' });
  });

  it('lets only one of ten concurrent right guesses through', async () => {
    const { otp } = service();
    const number = phone();
    const { code } = await otp.issue(number);
    const results = await Promise.all(Array.from({ length: 10 }, () => otp.verify(number, code)));
    expect(results.filter((r) => r.valid)).toHaveLength(1);
    expect(results.filter((r) => !r.valid && r.reason === 'expired')).toHaveLength(4);
    expect(results.filter((r) => !r.valid && r.reason === 'too-many-attempts')).toHaveLength(5);
  });

  it('expires codes after ttlMs by the service clock', async () => {
    const { otp, advance } = service({ ttlMs: 60_000 });
    const number = phone();
    const { code } = await otp.issue(number);
    advance(60_000);
    expect(await otp.verify(number, code)).toEqual({ valid: false, reason: 'expired' });
  });

  it('refuses a resend within the cooldown and past the hourly cap, with retryAfterMs', async () => {
    const { otp, advance } = service();
    const number = phone();
    await otp.issue(number);
    advance(10_000);
    await expect(otp.issue(number)).rejects.toMatchObject({ reason: 'cooldown', retryAfterMs: 20_000 });
    advance(50_000);
    for (let i = 0; i < 4; i++) {
      await otp.issue(number);
      advance(60_000);
    }
    // issued at t0+1 .. t0+4 min and at t0; now t0+5 min: the first leaves the hour at t0+60 min
    await expect(otp.issue(number)).rejects.toMatchObject({
      reason: 'hourly-limit',
      retryAfterMs: 55 * 60_000,
    });
    advance(55 * 60_000);
    await expect(otp.issue(number)).resolves.toBeDefined();
  });

  it('replaces the previous code with fresh attempts', async () => {
    const { otp, advance } = service();
    const number = phone();
    await otp.issue(number);
    for (let i = 0; i < 5; i++) await otp.verify(number, 'nope');
    advance(30_000);
    const second = await otp.issue(number);
    expect(await otp.verify(number, second.code)).toEqual({ valid: true });
  });

  it('withdraws an issuance, lifting the cooldown, and drops the key when nothing is left', async () => {
    const { otp } = service();
    const number = phone();
    const issued = await otp.issue(number);
    await otp.withdraw(issued);
    expect(await redis.exists(`tracks:otp:${number}`)).toBe(0);
    expect(await otp.verify(number, issued.code)).toEqual({ valid: false, reason: 'expired' });
    await expect(otp.issue(number)).resolves.toBeDefined();
  });

  it('keeps other numbers apart, and takes a prefix', async () => {
    const store = new RedisOtpStore(redis, { prefix: 'app:otp:' });
    const number = phone();
    const otp = new OtpService({ secret: SECRET, store, now: () => 5_000_000 });
    const { code } = await otp.issue(number);
    expect(await redis.exists(`app:otp:${number}`)).toBe(1);
    expect(await otp.verify(phone(), code)).toEqual({ valid: false, reason: 'expired' });
    expect(await otp.verify(number, code)).toEqual({ valid: true });
  });

  it('rejects ids that could break its encoding', async () => {
    const store = new RedisOtpStore(redis);
    const limits = { cooldownMs: 0, maxPerWindow: 5, windowMs: 1_000 };
    await expect(
      store.issue('k', { id: 'a,b|c', hash: 'ab', issuedAt: 0, expiresAt: 1 }, limits, 0),
    ).rejects.toBeInstanceOf(TypeError);
    expect(() => new RedisOtpStore({} as never)).toThrow(/ioredis/);
  });
});
