import { inspect } from 'node:util';
import { SNSClient } from '@aws-sdk/client-sns';
import { isProviderError } from '@tracks/breaker';
import { OtpService, RateLimitedError } from '@tracks/sms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mapSnsError } from './errors.js';
import { FakeSns } from './fake-sns.js';
import { SnsSmsAdapter, type SnsSmsAdapterOptions } from './sns-adapter.js';

const PHONE = '+14155552671';
const SECRET_KEY = 'sns-secret-access-key-never-logged';
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

function adapter(options: Partial<SnsSmsAdapterOptions> = {}): SnsSmsAdapter {
  return new SnsSmsAdapter({
    otp: new OtpService({ secret: 'a-test-secret-of-32-bytes-length' }),
    endpoint: sns.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: SECRET_KEY },
    requestTimeoutMs: 5_000,
    ...options,
  });
}

describe('SnsSmsAdapter', () => {
  it('publishes codes as Transactional, with the sender id, signed with the credentials', async () => {
    const a = adapter({ senderId: 'Tracks' });
    await a.sendOtp(PHONE);
    expect(sns.published[0]).toMatchObject({
      to: PHONE,
      attributes: { 'AWS.SNS.SMS.SMSType': 'Transactional', 'AWS.SNS.SMS.SenderID': 'Tracks' },
    });
    expect(sns.published[0]!.authorization).toContain('Credential=AKIDTEST/');
    expect(sns.published[0]!.authorization).not.toContain(SECRET_KEY);
  });

  it("leaves a message's type to the account unless messageType is set", async () => {
    await adapter().sendMessage(PHONE, 'hello');
    await adapter({ messageType: 'Promotional' }).sendMessage(PHONE, 'hello');
    expect(sns.published[0]!.attributes).toEqual({});
    expect(sns.published[1]!.attributes).toEqual({ 'AWS.SNS.SMS.SMSType': 'Promotional' });
  });

  it('makes exactly one request per send: the built client does not retry', async () => {
    sns.faults.push({ code: 'InternalError', status: 500 }, { code: 'InternalError', status: 500 });
    await expect(adapter().sendMessage(PHONE, 'hi')).rejects.toMatchObject({ kind: 'transient' });
    expect(sns.requests).toBe(1);
  });

  it('withdraws a code SNS refused, so trying again is not rate limited', async () => {
    const a = adapter();
    sns.faults.push({ code: 'Throttled', status: 429 });
    await expect(a.sendOtp(PHONE)).rejects.toMatchObject({ kind: 'throttled' });
    await expect(a.sendOtp(PHONE)).resolves.toMatchObject({ provider: 'sns' });
    await expect(a.sendOtp(PHONE)).rejects.toBeInstanceOf(RateLimitedError);
    expect(sns.requests).toBe(2);
  });

  it('treats a success without a message id as an error that is not retried', async () => {
    sns.faults.push('no-message-id');
    await expect(adapter().sendMessage(PHONE, 'hi')).rejects.toMatchObject({
      kind: 'transient',
      retryable: false,
    });
  });

  it('maps connection refused to transient', async () => {
    const closed = await FakeSns.start();
    const endpoint = closed.endpoint;
    await closed.stop();
    const error = await adapter({ endpoint })
      .sendMessage(PHONE, 'hi')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'transient', provider: 'sns', operation: 'sendMessage' });
  });

  it('keeps the secret key out of every error it produces', async () => {
    const a = adapter();
    const errors: unknown[] = [];
    for (const fault of [
      { code: 'SignatureDoesNotMatch', status: 403, message: `bad signature for ${SECRET_KEY}` },
      { code: 'InternalError', status: 500 },
      'garbage' as const,
    ]) {
      sns.faults.push(fault);
      errors.push(await a.sendMessage(PHONE, 'hi').catch((e: unknown) => e));
    }
    for (const error of errors) {
      expect(isProviderError(error)).toBe(true);
      expect(JSON.stringify(error)).not.toContain(SECRET_KEY);
      expect(inspect(error, { depth: 10 })).not.toContain(SECRET_KEY);
    }
    expect(errors[0]).toMatchObject({ kind: 'auth' });
  });

  it('uses a client it is given and leaves it open on close', async () => {
    const client = new SNSClient({
      endpoint: sns.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: SECRET_KEY },
      maxAttempts: 1,
    });
    const a = adapter({ client });
    expect(a.client).toBe(client);
    await a.close();
    await expect(a.sendMessage(PHONE, 'still open')).resolves.toMatchObject({ provider: 'sns' });
    client.destroy();
  });

  it('validates its options', () => {
    expect(() => adapter({ senderId: 'far-too-long-id' })).toThrow(RangeError);
    expect(() => adapter({ senderId: '12345' })).toThrow(RangeError);
    expect(() => new SnsSmsAdapter({} as SnsSmsAdapterOptions)).toThrow(/OtpService/);
  });
});

describe('mapSnsError', () => {
  const error = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(name), {
      name,
      $metadata: status === undefined ? {} : { httpStatusCode: status },
      ...extra,
    });

  it.each([
    [error('ThrottledException', 429), 'throttled', 'provider'],
    [error('InternalErrorException', 500), 'transient', 'provider'],
    [error('ServiceUnavailable', 503), 'transient', 'provider'],
    [error('Weird', 502, { $fault: 'server' }), 'transient', 'provider'],
    [error('InvalidParameterException', 400), 'invalid', 'message'],
    [error('InvalidParameterValueException', 400), 'invalid', 'message'],
    [error('OptedOutException', 400), 'permanent', 'message'],
    [error('AuthorizationErrorException', 403), 'auth', 'provider'],
    [error('InvalidClientTokenId', 403), 'auth', 'provider'],
    [error('ExpiredToken', 400), 'auth', 'provider'],
    [error('CredentialsProviderError'), 'auth', 'provider'],
    [error('KMSDisabledException', 400, { $fault: 'client' }), 'permanent', 'provider'],
    [error('TimeoutError', undefined, { code: 'ETIMEDOUT' }), 'timeout', 'provider'],
    [
      Object.assign(new Error('the request socket did not establish a connection with the server'), {
        name: 'TimeoutError',
      }),
      'transient',
      'provider',
    ],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'transient', 'provider'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'timeout', 'provider'],
  ])('maps %s to %s', (input, kind, scope) => {
    expect(mapSnsError(input, 'sendMessage', [])).toMatchObject({ kind, scope, provider: 'sns' });
  });

  it('names the phone field for an invalid PhoneNumber', () => {
    const e = Object.assign(new Error('Invalid parameter: PhoneNumber Reason: x'), {
      name: 'InvalidParameterException',
    });
    expect(mapSnsError(e, 'sendMessage', [])).toMatchObject({ field: 'phone' });
  });
});
