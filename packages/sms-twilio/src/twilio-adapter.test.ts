import { inspect } from 'node:util';
import { isProviderError } from '@tracks/breaker';
import { RateLimitedError } from '@tracks/sms';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mapTwilioError } from './errors.js';
import { FakeTwilio } from './fake-twilio.js';
import { TwilioHttpClient } from './http-client.js';
import { TwilioSmsAdapter, type TwilioSmsAdapterOptions } from './twilio-adapter.js';

const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const AUTH_TOKEN = 'twilio-auth-token-never-logged-0123';
const VERIFY_SID = `VA${'a'.repeat(32)}`;
const PHONE = '+14155552671';
let server: FakeTwilio;
const adapters: TwilioSmsAdapter[] = [];

beforeAll(async () => {
  server = await FakeTwilio.start(ACCOUNT_SID, AUTH_TOKEN);
});
afterAll(async () => {
  for (const a of adapters) await a.close();
  await server.stop();
});
beforeEach(() => {
  server.reset();
});

function adapter(options: Partial<TwilioSmsAdapterOptions> = {}): TwilioSmsAdapter {
  const a = new TwilioSmsAdapter({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    from: '+15005550006',
    verifyServiceSid: VERIFY_SID,
    baseUrl: server.baseUrl,
    timeoutMs: 5_000,
    ...options,
  });
  adapters.push(a);
  return a;
}

function assertNoSecret(error: unknown): void {
  expect(JSON.stringify(error)).not.toContain(AUTH_TOKEN);
  expect(inspect(error, { depth: 10 })).not.toContain(AUTH_TOKEN);
  expect(String((error as Error).stack)).not.toContain(AUTH_TOKEN);
}

describe('TwilioSmsAdapter', () => {
  it('sends from the messaging service when one is set, else from the number', async () => {
    await adapter({ messagingServiceSid: `MG${'b'.repeat(32)}` }).sendMessage(PHONE, 'one');
    await adapter().sendMessage(PHONE, 'two');
    expect(server.messages).toEqual([
      { to: PHONE, body: 'one', messagingServiceSid: `MG${'b'.repeat(32)}` },
      { to: PHONE, body: 'two', from: '+15005550006' },
    ]);
  });

  it('turns 60203 into RateLimitedError with the Retry-After wait', async () => {
    const a = adapter();
    for (let i = 0; i < 5; i++) await a.sendOtp(PHONE);
    const error = await a.sendOtp(PHONE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ reason: 'provider-limit', retryAfterMs: 600_000 });
    expect(isProviderError(error)).toBe(false);
  });

  it('passes the locale to Verify and checks codes that people typed with spaces', async () => {
    const a = adapter();
    await a.sendOtp(PHONE, { locale: 'fr' });
    const code = server.lastCode(PHONE)!;
    expect(await a.verifyOtp(PHONE, `${code.slice(0, 3)} ${code.slice(3)}`)).toEqual({ valid: true });
  });

  it('answers mismatch for a guess that cannot be a code without asking Twilio', async () => {
    const a = adapter();
    await a.sendOtp(PHONE);
    const before = server.requests;
    expect(await a.verifyOtp(PHONE, 'abc')).toEqual({ valid: false, reason: 'mismatch' });
    expect(server.requests).toBe(before);
  });

  it('treats a success without a sid as an error that is not retried', async () => {
    server.faults.push('no-sid');
    await expect(adapter().sendMessage(PHONE, 'hi')).rejects.toMatchObject({
      kind: 'transient',
      retryable: false,
    });
  });

  it('maps connection refused to transient and keeps the token out of it', async () => {
    const closed = await FakeTwilio.start(ACCOUNT_SID, AUTH_TOKEN);
    const baseUrl = closed.baseUrl;
    await closed.stop();
    const error = await adapter({ baseUrl })
      .sendMessage(PHONE, 'hi')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'transient', provider: 'twilio' });
    assertNoSecret(error);
  });

  it('keeps the auth token out of timeouts, auth failures and verify errors', async () => {
    const a = adapter();
    const errors: unknown[] = [];
    server.faults.push('hang');
    errors.push(
      await adapter({ timeoutMs: 200 })
        .sendMessage(PHONE, 'hi')
        .catch((e: unknown) => e),
    );
    errors.push(
      await adapter({ authToken: 'wrong-token-0000' })
        .sendOtp(PHONE)
        .catch((e: unknown) => e),
    );
    server.faults.push({ status: 500, code: 20500, message: `internal ${AUTH_TOKEN}` });
    errors.push(await a.verifyOtp(PHONE, '123456').catch((e: unknown) => e));
    expect(errors.map((e) => (e as { kind?: string }).kind)).toEqual(['timeout', 'auth', 'transient']);
    for (const error of errors) assertNoSecret(error);
  });

  it('works with a client the caller built with TwilioHttpClient', async () => {
    const client = twilio(ACCOUNT_SID, AUTH_TOKEN, {
      httpClient: new TwilioHttpClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 }),
    });
    const a = adapter({ client });
    expect(a.client).toBe(client);
    server.faults.push({ status: 429, code: 20429, message: 'Too Many Requests', retryAfter: '3' });
    await expect(a.sendMessage(PHONE, 'hi')).rejects.toMatchObject({ kind: 'throttled', retryAfterMs: 3000 });
  });

  it('validates its options', () => {
    expect(() => new TwilioSmsAdapter({ from: '+15005550006' })).toThrow(/accountSid and authToken/);
    expect(() => new TwilioSmsAdapter({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN })).toThrow(/from/);
  });

  it('refuses to send messages or codes it has no sender or service for', async () => {
    const base = { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: server.baseUrl };
    const codesOnly = new TwilioSmsAdapter({ ...base, verifyServiceSid: VERIFY_SID });
    const messagesOnly = new TwilioSmsAdapter({ ...base, from: '+15005550006' });
    await expect(codesOnly.sendMessage(PHONE, 'hi')).rejects.toThrow(/messagingServiceSid/);
    await expect(messagesOnly.sendOtp(PHONE)).rejects.toThrow(/verifyServiceSid/);
    await expect(messagesOnly.verifyOtp(PHONE, '123456')).rejects.toThrow(/verifyServiceSid/);
    expect(server.requests).toBe(0);
  });
});

describe('mapTwilioError', () => {
  it.each([
    [{ status: 429, code: 20429 }, 'throttled', 'provider'],
    [{ status: 429 }, 'throttled', 'provider'],
    [{ status: 400, code: 20429 }, 'throttled', 'provider'],
    [{ status: 400, code: 21211 }, 'invalid', 'message'],
    [{ status: 400, code: 21614 }, 'invalid', 'message'],
    [{ status: 400, code: 21610 }, 'permanent', 'message'],
    [{ status: 500, code: 21610 }, 'permanent', 'message'],
    [{ status: 401, code: 20003 }, 'auth', 'provider'],
    [{ status: 403 }, 'auth', 'provider'],
    [{ status: 400, code: 21408 }, 'permanent', 'provider'],
    [{ status: 500, code: 20500 }, 'transient', 'provider'],
    [{ status: 503 }, 'transient', 'provider'],
    [{ code: 'ECONNREFUSED' }, 'transient', 'provider'],
    [{ code: 'ECONNABORTED' }, 'timeout', 'provider'],
    [{ code: 'ECONNRESET' }, 'timeout', 'provider'],
    [{}, 'timeout', 'provider'],
  ])('maps %o to %s', (input, kind, scope) => {
    expect(mapTwilioError(Object.assign(new Error('x'), input), 'sendMessage', [])).toMatchObject({
      kind,
      scope,
    });
  });

  it('reads Retry-After for throttling only', () => {
    expect(mapTwilioError({ status: 429, code: 20429 }, 'sendMessage', [], '5')).toMatchObject({
      retryAfterMs: 5000,
    });
    expect(mapTwilioError({ status: 503 }, 'sendMessage', [], '5').retryAfterMs).toBeUndefined();
  });
});
