import { ProviderError, type ProviderErrorKind, parseRetryAfter } from '@tracks/breaker';
import type { StorageOperation } from '@tracks/storage';

// S3 error codes (the SDK puts them in `name`) by what they say about the store.
const THROTTLED = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequests',
]);
const AUTH = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AllAccessDisabled',
  'AccountProblem',
]);
// the bucket is gone or misnamed: every call will fail until someone fixes the configuration
const PROVIDER_PERMANENT = new Set([
  'NoSuchBucket',
  'InvalidBucketName',
  'PermanentRedirect',
  'InvalidBucketState',
]);
// this request is wrong, the store is fine
const MESSAGE_INVALID = new Set([
  'EntityTooLarge',
  'EntityTooSmall',
  'InvalidArgument',
  'InvalidRequest',
  'KeyTooLongError',
  'MetadataTooLarge',
  'InvalidDigest',
  'BadDigest',
  'MalformedXML',
  'InvalidPart',
  'InvalidPartOrder',
]);
// the request never left, or the connection broke: safe to try again
const NETWORK_TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const TIMEOUT = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);

/** What is known about an SDK error, read defensively: S3 errors carry no `$retryable`. */
interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown; headers?: Record<string, unknown> };
}

/** The HTTP status of an SDK error, when the request got an answer. */
export function statusOf(error: unknown): number | undefined {
  const e = error as SdkErrorShape | null;
  const status = e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The S3 error code (`NoSuchKey`, `SlowDown`, …) or the Node.js error code (`ECONNRESET`). */
export function codeOf(error: unknown): string | undefined {
  const e = error as SdkErrorShape | null;
  for (const value of [e?.Code, e?.name, e?.code]) {
    if (typeof value === 'string' && value !== 'Error' && value !== 'S3ServiceException') return value;
  }
  return undefined;
}

/** True when the SDK says the object (or the key's path) is not there: S3 answers 404 `NoSuchKey`, HEAD just 404. */
export function isNotFound(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'NoSuchKey' || code === 'NotFound' || (statusOf(error) === 404 && code !== 'NoSuchBucket');
}

/**
 * Maps an S3 SDK error onto the storage taxonomy: `SlowDown`/503 → `throttled` (with
 * `retryAfterMs` from a `Retry-After` header, when one came); other 5xx and
 * broken connections → `transient`; credential and signature failures (or a bare 401/403) →
 * `auth`; the SDK's timeouts → `timeout`; a missing or misnamed bucket → provider-scoped
 * `permanent`; a request S3 refuses as malformed → message-scoped `invalid`; other 4xx →
 * message-scoped `permanent`. `secrets` are scrubbed from the message and the cause.
 */
export function mapS3Error(
  error: unknown,
  provider: string,
  operation: StorageOperation,
  secrets: readonly (string | undefined)[] = [],
): ProviderError {
  const status = statusOf(error);
  const code = codeOf(error) ?? '';
  const fault = (error as SdkErrorShape | null)?.$fault;
  let kind: ProviderErrorKind;
  let scope: 'provider' | 'message' | undefined;
  if (THROTTLED.has(code) || status === 503 || status === 429) kind = 'throttled';
  else if (AUTH.has(code) || status === 401 || status === 403) kind = 'auth';
  else if (TIMEOUT.has(code)) kind = 'timeout';
  else if (PROVIDER_PERMANENT.has(code)) {
    kind = 'permanent';
    scope = 'provider';
  } else if (MESSAGE_INVALID.has(code)) kind = 'invalid';
  else if ((status !== undefined && status >= 500) || fault === 'server' || NETWORK_TRANSIENT.has(code)) {
    kind = 'transient';
  } else if (status !== undefined && status >= 400) kind = 'permanent';
  else kind = 'transient'; // no answer and no known code: the request may not have been sent
  // S3 itself sends no Retry-After, but S3-compatible stores and proxies in front of S3 may
  const retryAfterMs = kind === 'throttled' ? retryAfterOf(error) : undefined;
  return new ProviderError({
    kind,
    ...(scope ? { scope } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    provider,
    operation,
    ...(status !== undefined ? { status } : {}),
    ...(kind === 'invalid' ? { field: fieldOf(code) } : {}),
    cause: error,
    secrets,
  });
}

function retryAfterOf(error: unknown): number | undefined {
  const headers = (error as SdkErrorShape | null)?.$response?.headers;
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  return typeof value === 'string' || typeof value === 'number' ? parseRetryAfter(value) : undefined;
}

function fieldOf(code: string): string {
  if (code === 'KeyTooLongError') return 'key';
  if (code === 'MetadataTooLarge') return 'metadata';
  return 'body';
}
