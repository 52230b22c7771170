import { ProviderError, type ProviderErrorKind } from '@tracks/breaker';

const THROTTLED = new Set([
  'ThrottledException',
  'Throttled',
  'Throttling',
  'ThrottlingException',
  'KMSThrottlingException',
]);
const TRANSIENT = new Set([
  'InternalErrorException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
]);
const INVALID = new Set([
  'InvalidParameterException',
  'InvalidParameter',
  'InvalidParameterValueException',
  'ParameterValueInvalid',
  'ValidationException',
  'ValidationError',
]);
const AUTH = new Set([
  'AuthorizationErrorException',
  'AuthorizationError',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
  'AccessDenied',
  'AccessDeniedException',
  'InvalidSecurityException',
  'CredentialsProviderError',
]);
// errors that prove the request never reached SNS
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Maps an error of the SNS client to a {@link ProviderError}. SNS errors carry no
 * `$retryable`, so the error's name, HTTP status and `$fault` decide.
 */
export function mapSnsError(
  error: unknown,
  operation: string,
  secrets: readonly (string | undefined)[],
): ProviderError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  const metadata = (e.$metadata ?? {}) as { httpStatusCode?: number };
  const status = metadata.httpStatusCode;
  const base = {
    provider: 'sns',
    operation,
    cause: error,
    secrets,
    ...(status === undefined ? {} : { status }),
  };

  const kind = ((): { kind: ProviderErrorKind; scope?: 'message' | 'provider'; field?: string } => {
    if (THROTTLED.has(name) || status === 429) return { kind: 'throttled' };
    if (name === 'OptedOutException' || name === 'OptedOut')
      return { kind: 'permanent', scope: 'message', field: 'phone' };
    if (INVALID.has(name)) {
      return /PhoneNumber/i.test(message) ? { kind: 'invalid', field: 'phone' } : { kind: 'invalid' };
    }
    if (AUTH.has(name) || status === 401 || status === 403) return { kind: 'auth' };
    if (TRANSIENT.has(name) || (status !== undefined && status >= 500) || e.$fault === 'server') {
      return { kind: 'transient' };
    }
    if (name === 'TimeoutError') {
      // a connect timeout is before anything was sent; any other timeout (the request
      // timeout, a reset socket) is after: the SMS may be on its way
      return /did not establish a connection/.test(message) ? { kind: 'transient' } : { kind: 'timeout' };
    }
    if (NOT_SENT_CODES.has(code)) return { kind: 'transient' };
    if (e.$fault === 'client' || (status !== undefined && status >= 400))
      return { kind: 'permanent', scope: 'provider' };
    // no answer we can read: treat as ambiguous, the request may have gone out
    return { kind: 'timeout' };
  })();
  return new ProviderError({ ...base, ...kind });
}
