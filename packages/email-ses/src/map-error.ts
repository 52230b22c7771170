import { isProviderError, ProviderError } from '@tracks/breaker';

/** What {@link mapSesError} needs besides the error. */
export interface MapSesErrorContext {
  /** The operation that failed, as the error will name it. */
  operation: string;
  /** The clock used to compute how long a daily-quota throttle lasts, in ms since the epoch. */
  now: () => number;
  /** Strings to scrub from the error (the secret access key, a session token). */
  secrets?: readonly (string | undefined)[];
}

const PROVIDER = 'ses';
const DAY_MS = 86_400_000;

// SES (Query protocol) and STS-style codes, as the SDK names its exceptions: a modelled one
// gets its class name (`MessageRejected`, `AccountSendingPausedException`), any other the bare
// `<Code>` of the XML error (`Throttling`, `InvalidClientTokenId`).
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'SlowDown',
]);
const TRANSIENT = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'RequestTimeoutException',
]);
const AUTH = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'AccessDenied',
  'AccessDeniedException',
  'IncompleteSignature',
  'InvalidAccessKeyId',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'NotAuthorized',
  'OptInRequired',
  'CredentialsProviderError',
]);
const INVALID = new Set([
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidParameter',
  'MissingParameter',
  'ValidationError',
  'MalformedQueryString',
]);
// about the account or its configuration: every message would fail the same way until someone
// fixes it, so these count against the breaker and fail over
const PROVIDER_PERMANENT = new Set([
  'MailFromDomainNotVerifiedException',
  'MailFromDomainNotVerified',
  'AccountSendingPausedException',
  'AccountSendingPaused',
  'ConfigurationSetSendingPausedException',
  'ConfigurationSetDoesNotExistException',
  'ProductionAccessNotGrantedException',
]);
// errors where nothing reached SES: safe to retry and to fail over
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);
// the connection broke after the request was written: SES may have accepted the message
const AMBIGUOUS_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/**
 * Maps anything `SESClient.send` throws onto a {@link ProviderError}. SES errors carry no
 * `$retryable`, so the name (the Query error code), the HTTP status and `$fault` decide:
 *
 * - `Throttling` → `throttled`; "Daily message quota exceeded" → `throttled`, provider scope,
 *   `retryAfterMs` until the next UTC midnight
 * - `ServiceUnavailable`, any 5xx or server fault, connection refused → `transient`
 * - `MessageRejected` → `permanent`, message scope
 * - `InvalidParameterValue` and other malformed-request codes → `invalid`
 * - `MailFromDomainNotVerifiedException`, `AccountSendingPausedException` → `permanent`, provider scope
 * - signature and credential errors, 401, 403 → `auth`
 * - a request timeout or a connection reset after the request left → `timeout` (ambiguous:
 *   the message may have been delivered); a connect timeout → `transient`
 */
export function mapSesError(error: unknown, context: MapSesErrorContext): ProviderError {
  if (isProviderError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : (errorCode(e.Code) ?? '');
  const message = typeof e.message === 'string' ? e.message : '';
  const metadata = (typeof e.$metadata === 'object' && e.$metadata !== null ? e.$metadata : {}) as Record<
    string,
    unknown
  >;
  const status = typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
  const fault = e.$fault;
  const base = {
    provider: PROVIDER,
    operation: context.operation,
    cause: error,
    ...(status === undefined ? {} : { status }),
    ...(context.secrets === undefined ? {} : { secrets: context.secrets }),
  };

  if (THROTTLED.has(name) || THROTTLED.has(code)) {
    if (/daily message quota exceeded/i.test(message)) {
      const now = context.now();
      return new ProviderError({
        ...base,
        kind: 'throttled',
        scope: 'provider',
        retryAfterMs: nextUtcMidnight(now) - now,
        message:
          'ses send failed (throttled): daily message quota exceeded; retry after the quota resets at UTC midnight',
      });
    }
    return new ProviderError({ ...base, kind: 'throttled' });
  }
  if (AUTH.has(name) || AUTH.has(code) || status === 401 || status === 403) {
    return new ProviderError({ ...base, kind: 'auth' });
  }
  if (name === 'MessageRejected') {
    return new ProviderError({ ...base, kind: 'permanent', scope: 'message' });
  }
  if (PROVIDER_PERMANENT.has(name)) {
    return new ProviderError({ ...base, kind: 'permanent', scope: 'provider' });
  }
  if (INVALID.has(name) || INVALID.has(code)) {
    return new ProviderError({ ...base, kind: 'invalid', scope: 'message' });
  }
  if (TRANSIENT.has(name) || (status !== undefined && status >= 500) || fault === 'server') {
    return new ProviderError({ ...base, kind: 'transient' });
  }
  if (NOT_SENT_CODES.has(code)) {
    return new ProviderError({ ...base, kind: 'transient' });
  }
  if (name === 'TimeoutError' || AMBIGUOUS_CODES.has(code)) {
    // the SDK names every timeout TimeoutError; only the connect timeout proves nothing was sent
    if (/did not establish a connection/i.test(message)) {
      return new ProviderError({ ...base, kind: 'transient' });
    }
    return new ProviderError({
      ...base,
      kind: 'timeout',
      message: `ses ${context.operation} failed (timeout): no complete answer after the request was sent (${
        code || name
      }); the message may have been delivered`,
    });
  }
  if (status === 429) return new ProviderError({ ...base, kind: 'throttled' });
  // an unmodelled client fault: about the account or the request, but not provably the message's
  // fault, so it stays visible to the breaker
  return new ProviderError({ ...base, kind: 'permanent', scope: 'provider' });
}

/** The first instant of the next UTC day after `now`, in ms since the epoch. */
export function nextUtcMidnight(now: number): number {
  return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
}

function errorCode(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
