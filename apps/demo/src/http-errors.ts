import { isBreakerRejection, isMessageScoped, isProviderError, isTimeoutError } from '@tracks/breaker';
import { isRateLimitedError } from '@tracks/sms';

/** A request the demo refuses before calling anything: its body or a parameter is invalid. */
export class RequestError extends Error {
  readonly status: number;
  readonly field: string | undefined;

  constructor(status: number, message: string, field?: string) {
    super(message);
    this.name = 'RequestError';
    this.status = status;
    this.field = field;
  }
}

/** The HTTP answer for an error: status, JSON body and, for 429/503, Retry-After in seconds. */
export interface HttpError {
  readonly status: number;
  readonly body: { error: string; field?: string; retryAfterMs?: number };
  readonly retryAfterSeconds?: number;
}

// what a caller is told to wait when a provider fails and nothing better is known
const DEFAULT_RETRY_AFTER_MS = 1000;

/**
 * Maps what a service call threw onto the API's statuses: 400 for invalid input (ours or the
 * provider's), 422 for a request the provider refused for good (a rejected recipient), 429 for
 * OTP rate limits, 503 with Retry-After for an open breaker or a failing provider, 500 else.
 * `breakerRetryAfterMs(provider)` gives the time until the provider's breaker admits a probe,
 * when it is open (a failure may just have tripped it).
 */
export function toHttpError(
  error: unknown,
  breakerRetryAfterMs?: (provider: string) => number | undefined,
): HttpError {
  if (error instanceof RequestError) {
    return { status: error.status, body: withField({ error: error.message }, error.field) };
  }
  if (isRateLimitedError(error)) {
    return retryLater(429, error.message, error.retryAfterMs);
  }
  if (isBreakerRejection(error)) {
    const e = error as Error & { breaker?: string; retryAfterMs?: number };
    const what = e.message === 'too many requests' ? 'is probing for recovery' : 'is open';
    return retryLater(
      503,
      `${e.breaker ?? 'the'} circuit breaker ${what}: the provider is failing, so the call was not tried; try again later`,
      e.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS,
    );
  }
  if (isProviderError(error)) {
    if (isMessageScoped(error)) {
      const status = error.kind === 'invalid' ? 400 : 422;
      return { status, body: withField({ error: error.message }, error.field) };
    }
    const fromBreaker = breakerRetryAfterMs?.(error.provider);
    return retryLater(503, error.message, error.retryAfterMs ?? fromBreaker ?? DEFAULT_RETRY_AFTER_MS);
  }
  if (isTimeoutError(error)) {
    return retryLater(
      503,
      `the provider did not answer in time: ${(error as Error).message}`,
      DEFAULT_RETRY_AFTER_MS,
    );
  }
  const e = error as { statusCode?: unknown; message?: unknown; code?: unknown };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own refusals: body too large, bad JSON, unsupported media type
    return {
      status: e.statusCode,
      body: { error: typeof e.message === 'string' ? e.message : 'bad request' },
    };
  }
  if (isBulkheadRejection(error)) {
    return retryLater(
      503,
      'too many calls to this provider are in progress; try again shortly',
      DEFAULT_RETRY_AFTER_MS,
    );
  }
  return { status: 500, body: { error: 'internal error; see the server log' } };
}

/**
 * Fastify's refusals of a request body, worded so a person knows what to send: a body that is
 * not JSON (415) names the header to set, one over the limit (413) states the limit and the
 * variable that sets it. Undefined for any other error.
 */
export function bodyRefusal(
  error: unknown,
  limit: { readonly bytes: number; readonly variable: string },
): HttpError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return {
      status: 415,
      body: { error: 'send the request body as JSON, with the header Content-Type: application/json' },
    };
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      body: {
        error: `the request body is too large: the limit is ${limit.bytes} bytes (${humanBytes(limit.bytes)}, set by ${limit.variable})`,
      },
    };
  }
  return undefined;
}

function humanBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} B`;
}

function isBulkheadRejection(error: unknown): boolean {
  return error instanceof Error && /bulkhead/i.test(`${error.name} ${error.message}`);
}

function retryLater(status: number, message: string, retryAfterMs: number): HttpError {
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  return {
    status,
    body: { error: message, retryAfterMs: ms },
    retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)),
  };
}

function withField(body: { error: string }, field: string | undefined): { error: string; field?: string } {
  return field === undefined ? body : { ...body, field };
}
