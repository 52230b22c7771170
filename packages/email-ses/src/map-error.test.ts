import { ProviderError } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { mapSesError, nextUtcMidnight } from './map-error.js';

// Shapes the wire tests cannot produce on 127.0.0.1 (a connect timeout needs an address that
// drops packets, missing credentials would send the SDK looking for instance metadata), built
// as the SDK builds them.
const context = { operation: 'send', now: () => Date.UTC(2026, 0, 1, 23, 59, 0) };
const sdkError = (name: string, fields: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(String(fields.message ?? name)), { name, ...fields });

describe('mapSesError', () => {
  it('maps a connect timeout to transient: the request never left', () => {
    const error = sdkError('TimeoutError', {
      message:
        '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.',
    });
    expect(mapSesError(error, context)).toMatchObject({ kind: 'transient', retryable: true });
  });

  it('maps a request timeout (ETIMEDOUT) to an ambiguous timeout', () => {
    const error = sdkError('TimeoutError', {
      code: 'ETIMEDOUT',
      message: 'a request has exceeded the configured 10000 ms requestTimeout.',
    });
    const mapped = mapSesError(error, context);
    expect(mapped).toMatchObject({ kind: 'timeout', scope: 'provider', retryable: true });
    expect(mapped.message).toMatch(/may have been delivered/);
  });

  it('maps DNS failures to transient', () => {
    expect(mapSesError(sdkError('Error', { code: 'ENOTFOUND' }), context).kind).toBe('transient');
  });

  it('maps the SDK finding no credentials to auth', () => {
    expect(mapSesError(sdkError('CredentialsProviderError'), context)).toMatchObject({
      kind: 'auth',
      scope: 'provider',
    });
  });

  it('classifies by $fault and status when the name is unknown', () => {
    const server = sdkError('SomethingNew', { $fault: 'server', $metadata: { httpStatusCode: 500 } });
    const client = sdkError('SomethingElse', { $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(mapSesError(server, context)).toMatchObject({ kind: 'transient', status: 500 });
    expect(mapSesError(client, context)).toMatchObject({
      kind: 'permanent',
      scope: 'provider',
      retryable: false,
    });
  });

  it('knows the JSON-protocol spelling of throttling too', () => {
    expect(mapSesError(sdkError('ThrottlingException'), context).kind).toBe('throttled');
  });

  it('dates the daily quota to the next UTC midnight with the injected clock', () => {
    const error = sdkError('Throttling', { message: 'Daily message quota exceeded.' });
    expect(mapSesError(error, context).retryAfterMs).toBe(60_000);
  });

  it('returns a ProviderError as it is', () => {
    const error = new ProviderError({ kind: 'invalid', provider: 'ses', operation: 'send' });
    expect(mapSesError(error, context)).toBe(error);
  });

  it('scrubs secrets from the message and the cause', () => {
    const mapped = mapSesError(
      sdkError('AccessDenied', { message: 'key wJalrXUtnFEMI/K7MDENG was refused' }),
      {
        ...context,
        secrets: ['wJalrXUtnFEMI/K7MDENG'],
      },
    );
    expect(JSON.stringify(mapped)).not.toContain('wJalrXUtnFEMI/K7MDENG');
    expect(mapped.kind).toBe('auth');
  });
});

describe('nextUtcMidnight', () => {
  it('is the start of the next UTC day, even at midnight itself', () => {
    expect(nextUtcMidnight(Date.UTC(2026, 1, 28, 13))).toBe(Date.UTC(2026, 2, 1));
    expect(nextUtcMidnight(Date.UTC(2026, 5, 1))).toBe(Date.UTC(2026, 5, 2));
  });
});
