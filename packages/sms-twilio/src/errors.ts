import { type ErrorScope, ProviderError, type ProviderErrorKind, parseRetryAfter } from '@tracks/breaker';

// Twilio error codes, checked before the HTTP status: 60202 and 60203 both come as 429.
const INVALID_NUMBER = new Set([21211, 21214, 21217, 21401, 21407, 21421, 21614, 60200, 60205]);
const UNREACHABLE_RECIPIENT = new Set([21610, 21612, 21635, 30003, 30005, 30006, 30007]);
const ACCOUNT_PROBLEM = new Set([20005, 21408, 21606, 21659, 21660, 21703, 21704, 30002]);
const AUTH = new Set([20003, 20008, 20151]);
// transport errors that prove the request never left
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const AMBIGUOUS = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ESOCKETTIMEDOUT']);

/** The fields of a twilio `RestException` (or `TwilioServiceException`) this mapping reads. */
export interface TwilioErrorFields {
  readonly status?: number;
  readonly code?: number | string;
  readonly message?: string;
}

/** The Twilio error code of an SDK error, as a number, when it has one. */
export function twilioCode(error: unknown): number | undefined {
  const code = (error as TwilioErrorFields | null)?.code;
  const n = typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : code;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Maps an error of the twilio SDK to a {@link ProviderError}: by Twilio error code first, then
 * by HTTP status, then by transport error code. `retryAfter` is the `Retry-After` header the
 * HTTP client saw, if any.
 */
export function mapTwilioError(
  error: unknown,
  operation: string,
  secrets: readonly (string | undefined)[],
  retryAfter?: string,
): ProviderError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as TwilioErrorFields & {
    code?: unknown;
  };
  const code = twilioCode(error);
  const status = typeof e.status === 'number' ? e.status : undefined;
  const transport = typeof e.code === 'string' && !/^\d+$/.test(e.code) ? e.code : undefined;
  const classified = classify(code, status, transport);
  const retryAfterMs = classified.kind === 'throttled' ? parseRetryAfter(retryAfter) : undefined;
  return new ProviderError({
    ...classified,
    provider: 'twilio',
    operation,
    cause: error,
    secrets,
    ...(status === undefined ? {} : { status }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

function classify(
  code: number | undefined,
  status: number | undefined,
  transport: string | undefined,
): { kind: ProviderErrorKind; scope?: ErrorScope; field?: string } {
  if (code !== undefined) {
    if (code === 20429) return { kind: 'throttled' };
    if (INVALID_NUMBER.has(code)) return { kind: 'invalid', field: 'phone' };
    if (UNREACHABLE_RECIPIENT.has(code)) return { kind: 'permanent', scope: 'message', field: 'phone' };
    if (AUTH.has(code)) return { kind: 'auth' };
    if (ACCOUNT_PROBLEM.has(code)) return { kind: 'permanent', scope: 'provider' };
  }
  if (status !== undefined) {
    if (status === 429) return { kind: 'throttled' };
    if (status === 401 || status === 403) return { kind: 'auth' };
    if (status >= 500) return { kind: 'transient' };
    if (status === 400 || status === 404 || status === 422) return { kind: 'invalid' };
    if (status >= 400) return { kind: 'permanent', scope: 'message' };
  }
  if (transport !== undefined && NOT_SENT.has(transport)) return { kind: 'transient' };
  if (transport !== undefined && AMBIGUOUS.has(transport)) return { kind: 'timeout' };
  // nothing we can read: the request may have gone out
  return { kind: 'timeout' };
}
