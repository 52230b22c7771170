import { isProviderError, ProviderError, parseRetryAfter } from '@tracks/breaker';

/** What {@link mapSendGridError} needs besides the error. */
export interface MapSendGridErrorContext {
  /** The operation that failed, as the error will name it. */
  operation: string;
  /** The clock for `Retry-After` dates and `X-RateLimit-Reset`, in ms since the epoch. */
  now: () => number;
  /** Strings to scrub from the error: the API key. */
  secrets: readonly (string | undefined)[];
}

/** One entry of a SendGrid error body's `errors[]`. */
interface SendGridErrorEntry {
  message?: unknown;
  field?: unknown;
}

const PROVIDER = 'sendgrid';
// nothing reached SendGrid: safe to retry and to fail over
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);
// axios's own timeout (ECONNABORTED, or ETIMEDOUT with clarifyTimeoutError), or the connection
// broke after the request was written: SendGrid may have accepted the message
const AMBIGUOUS_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ESOCKETTIMEDOUT']);
const RECIPIENT_FIELD = /^personalizations\.\d+\.(to|cc|bcc)\b/;

/**
 * Maps anything `MailService.send` rejects with onto a {@link ProviderError}:
 *
 * - 429 → `throttled`, with `retryAfterMs` from `Retry-After` or `X-RateLimit-Reset`
 * - 401, 403 → `auth`
 * - 400 (and other 4xx) naming a recipient in `errors[].field` → `permanent`, message scope;
 *   any other field → `invalid`, naming the field
 * - 5xx, connection refused, DNS failures → `transient`
 * - axios's timeout (`ECONNABORTED`) or a reset after the request left → `timeout` (ambiguous)
 *
 * The cause is the sanitized summary `ProviderError` always keeps; the API key is scrubbed from
 * every message. The axios error itself (whose config holds the key) is dropped.
 */
export function mapSendGridError(error: unknown, context: MapSendGridErrorContext): ProviderError {
  if (isProviderError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const response = (typeof e.response === 'object' && e.response !== null ? e.response : undefined) as
    | Record<string, unknown>
    | undefined;
  // @sendgrid/client's ResponseError keeps the status in `code` and { headers, body } in `response`
  const status =
    typeof e.code === 'number' ? e.code : typeof response?.status === 'number' ? response.status : undefined;
  const base = {
    provider: PROVIDER,
    operation: context.operation,
    cause: error,
    secrets: context.secrets,
    ...(status === undefined ? {} : { status }),
  };

  if (status !== undefined && response !== undefined) {
    const headers = lowerCaseKeys(response.headers);
    const entries = errorEntries(response.body ?? response.data);
    const detail = entries
      .map((entry) => (typeof entry.message === 'string' ? entry.message : undefined))
      .filter((m) => m !== undefined)
      .join('; ');
    const withDetail = (what: string, next: string): string =>
      `sendgrid ${context.operation} failed (${what}, HTTP ${status})${detail ? `: ${detail}` : ''}; ${next}`;

    if (status === 429) {
      const retryAfterMs = retryAfter(headers, context.now());
      return new ProviderError({
        ...base,
        kind: 'throttled',
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        message: withDetail(
          'throttled',
          retryAfterMs === undefined ? 'may be retried' : `retry after ${Math.ceil(retryAfterMs)} ms`,
        ),
      });
    }
    if (status === 401 || status === 403) {
      return new ProviderError({ ...base, kind: 'auth', message: withDetail('auth', 'not retried') });
    }
    if (status >= 500) {
      return new ProviderError({
        ...base,
        kind: 'transient',
        message: withDetail('transient', 'may be retried'),
      });
    }
    const fields = entries
      .map((entry) => (typeof entry.field === 'string' ? entry.field : ''))
      .filter(Boolean);
    const recipient = fields.find((f) => RECIPIENT_FIELD.test(f));
    if (recipient !== undefined) {
      const field = RECIPIENT_FIELD.exec(recipient)?.[1] ?? 'to';
      return new ProviderError({
        ...base,
        kind: 'permanent',
        scope: 'message',
        field,
        message: withDetail(`permanent, field ${field}`, 'not retried'),
      });
    }
    const field = fields[0] === undefined ? undefined : messageField(fields[0]);
    return new ProviderError({
      ...base,
      kind: 'invalid',
      scope: 'message',
      ...(field === undefined ? {} : { field }),
      message: withDetail(field === undefined ? 'invalid' : `invalid, field ${field}`, 'not retried'),
    });
  }

  const code = typeof e.code === 'string' ? e.code : '';
  if (NOT_SENT_CODES.has(code)) return new ProviderError({ ...base, kind: 'transient' });
  if (AMBIGUOUS_CODES.has(code)) {
    return new ProviderError({
      ...base,
      kind: 'timeout',
      message: `sendgrid ${context.operation} failed (timeout): no complete answer after the request was sent (${code}); the message may have been delivered`,
    });
  }
  // not an HTTP answer and not a known network failure (a bug, a mangled reply): not provably
  // the message's fault, so it stays visible to the breaker
  return new ProviderError({ ...base, kind: 'permanent', scope: 'provider' });
}

function retryAfter(headers: Record<string, string>, now: number): number | undefined {
  // Retry-After is a delay or a date; X-RateLimit-Reset the epoch second the window resets at
  return parseRetryAfter(headers['retry-after'], now) ?? parseRetryAfter(headers['x-ratelimit-reset'], now);
}

// SendGrid's request fields, in snake case, onto the EmailMessage fields a caller knows
function messageField(field: string): string {
  if (field.startsWith('from')) return 'from';
  if (field.startsWith('reply_to')) return 'replyTo';
  if (field.startsWith('subject') || /^personalizations\.\d+\.subject/.test(field)) return 'subject';
  if (field.startsWith('content')) return 'body';
  if (field.startsWith('attachments')) return 'attachments';
  if (field.startsWith('headers') || /^personalizations\.\d+\.headers/.test(field)) return 'headers';
  if (field.startsWith('custom_args') || /^personalizations\.\d+\.custom_args/.test(field)) return 'tags';
  return field;
}

function errorEntries(body: unknown): SendGridErrorEntry[] {
  if (typeof body !== 'object' || body === null) return [];
  const errors = (body as { errors?: unknown }).errors;
  return Array.isArray(errors)
    ? errors.filter((e): e is SendGridErrorEntry => typeof e === 'object' && e !== null)
    : [];
}

function lowerCaseKeys(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof headers !== 'object' || headers === null) return out;
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value === 'string' || typeof value === 'number') out[key.toLowerCase()] = String(value);
  }
  return out;
}
