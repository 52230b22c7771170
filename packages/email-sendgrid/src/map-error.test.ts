import { describe, expect, it } from 'vitest';
import { mapSendGridError } from './map-error.js';

// Shapes the wire tests do not produce on 127.0.0.1, built as @sendgrid/client and axios build them.
const KEY = 'SG.map-error-test.secret';
const context = { operation: 'send', now: () => Date.UTC(2026, 11, 3, 23, 0, 0), secrets: [KEY] };
const axiosError = (code: string, message = code): Error =>
  Object.assign(new Error(message), {
    name: 'AxiosError',
    code,
    config: { headers: { Authorization: `Bearer ${KEY}` } },
  });
const responseError = (status: number, headers: Record<string, string>, body: unknown): Error =>
  Object.assign(new Error('Too Many Requests'), { code: status, response: { headers, body } });

describe('mapSendGridError', () => {
  it("maps axios's clarified timeout (ETIMEDOUT) to an ambiguous timeout", () => {
    expect(mapSendGridError(axiosError('ETIMEDOUT', 'timeout of 200ms exceeded'), context)).toMatchObject({
      kind: 'timeout',
      retryable: true,
    });
  });

  it('maps DNS failures to transient', () => {
    expect(mapSendGridError(axiosError('ENOTFOUND'), context).kind).toBe('transient');
  });

  it('reads an HTTP-date Retry-After against the injected clock', () => {
    const error = responseError(429, { 'Retry-After': 'Thu, 03 Dec 2026 23:00:45 GMT' }, { errors: [] });
    expect(mapSendGridError(error, context)).toMatchObject({ kind: 'throttled', retryAfterMs: 45_000 });
  });

  it('keeps the axios config, and with it the key, out of the error', () => {
    const mapped = mapSendGridError(axiosError('ECONNREFUSED'), context);
    expect(JSON.stringify(mapped)).not.toContain(KEY);
    expect(mapped.cause).toEqual({ name: 'AxiosError', code: 'ECONNREFUSED', message: 'ECONNREFUSED' });
  });

  it('maps something that is not an HTTP answer nor a network failure to permanent, provider scope', () => {
    expect(mapSendGridError('boom', context)).toMatchObject({
      kind: 'permanent',
      scope: 'provider',
      retryable: false,
    });
  });

  it('names the message field behind a SendGrid field path', () => {
    const error = responseError(400, {}, { errors: [{ message: 'bad', field: 'attachments.0.content' }] });
    expect(mapSendGridError(error, context)).toMatchObject({ kind: 'invalid', field: 'attachments' });
  });
});
