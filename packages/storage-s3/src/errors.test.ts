import { describe, expect, it } from 'vitest';
import { isNotFound, mapS3Error } from './errors.js';

// shaped as the SDK shapes them: the S3 code in `name`, the status in `$metadata`
const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), {
    name,
    ...(status !== undefined ? { $metadata: { httpStatusCode: status, requestId: 'req-1' } } : {}),
    ...extra,
  });

describe('mapS3Error', () => {
  it.each([
    ['SlowDown', 503, 'throttled'],
    ['ServiceUnavailable', 503, 'throttled'],
    ['TooManyRequests', 429, 'throttled'],
    ['InternalError', 500, 'transient'],
    ['BadGateway', 502, 'transient'],
    ['AccessDenied', 403, 'auth'],
    ['InvalidAccessKeyId', 403, 'auth'],
    ['SignatureDoesNotMatch', 403, 'auth'],
    ['ExpiredToken', 400, 'auth'],
    ['TimeoutError', undefined, 'timeout'],
    ['RequestTimeout', 400, 'timeout'],
    ['NoSuchBucket', 404, 'permanent'],
    ['KeyTooLongError', 400, 'invalid'],
    ['EntityTooLarge', 400, 'invalid'],
    ['PreconditionFailed', 412, 'permanent'],
  ] as const)('maps %s (%s) to %s', (name, status, kind) => {
    expect(mapS3Error(sdkError(name, status), 's3', 'get')).toMatchObject({
      kind,
      provider: 's3',
      operation: 'get',
    });
  });

  it('scopes a missing bucket to the provider and a refused request to the message', () => {
    expect(mapS3Error(sdkError('NoSuchBucket', 404), 's3', 'put')).toMatchObject({ scope: 'provider' });
    expect(mapS3Error(sdkError('PreconditionFailed', 412), 's3', 'put')).toMatchObject({ scope: 'message' });
    expect(mapS3Error(sdkError('MetadataTooLarge', 400), 's3', 'put')).toMatchObject({
      scope: 'message',
      field: 'metadata',
    });
  });

  it('maps broken connections to transient, whatever their shape', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(mapS3Error(refused, 's3', 'head')).toMatchObject({ kind: 'transient', retryable: true });
    expect(mapS3Error(sdkError('Unknown', undefined, { $fault: 'server' }), 's3', 'head')).toMatchObject({
      kind: 'transient',
    });
  });

  it('keeps a summary of the cause and scrubs secrets from it', () => {
    const error = mapS3Error(sdkError('AccessDenied', 403), 's3', 'get', ['AccessDenied happened']);
    expect(error.cause).toMatchObject({ name: 'AccessDenied', status: 403, requestId: 'req-1' });
    expect(JSON.stringify(error)).not.toContain('AccessDenied happened');
  });
});

describe('isNotFound', () => {
  it('is true for NoSuchKey and a bare 404, false for a missing bucket', () => {
    expect(isNotFound(sdkError('NoSuchKey', 404))).toBe(true);
    expect(isNotFound(sdkError('NotFound', 404))).toBe(true);
    expect(isNotFound(sdkError('NoSuchBucket', 404))).toBe(false);
    expect(isNotFound(sdkError('AccessDenied', 403))).toBe(false);
  });
});
