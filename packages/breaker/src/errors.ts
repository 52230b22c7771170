/**
 * What kind of failure a provider reported. DESIGN.md's taxonomy decides, per kind and
 * scope, what counts against a breaker, what is retried and what fails over.
 */
export type ProviderErrorKind = 'transient' | 'throttled' | 'timeout' | 'permanent' | 'auth' | 'invalid';

/**
 * Whom an error is about: `message` (this request: a bad recipient, an opted-out number) or
 * `provider` (the account or the service: bad credentials, sending paused, an outage).
 */
export type ErrorScope = 'message' | 'provider';

/**
 * A sanitized summary of an SDK error: the few fields worth logging, never the SDK object
 * itself (an axios error holds the request config, API key included).
 */
export interface ErrorSummary {
  readonly name?: string;
  readonly code?: string | number;
  readonly status?: number;
  readonly requestId?: string;
  readonly message?: string;
}

/** Options of {@link ProviderError}. */
export interface ProviderErrorOptions {
  /** What kind of failure this is. */
  kind: ProviderErrorKind;
  /** The provider, named as its breaker is (`email:ses`) or as the adapter's `provider` (`ses`). */
  provider: string;
  /** The operation that failed: `send`, `sendOtp`, `put`, … */
  operation: string;
  /**
   * Whom the error is about.
   * @default 'message' for `invalid` and `permanent`, 'provider' for every other kind
   */
  scope?: ErrorScope;
  /**
   * Whether trying again may succeed.
   * @default true for `transient`, `throttled` and `timeout`; false otherwise
   */
  retryable?: boolean;
  /**
   * How long the provider asked us to wait before trying again, in ms. `undefined` is accepted so
   * that `retryAfterMs: parseRetryAfter(header)` reads naturally.
   * @default undefined (no hint: a retry uses its backoff)
   */
  retryAfterMs?: number | undefined;
  /**
   * The HTTP status or SMTP reply code, when there was one.
   * @default undefined
   */
  status?: number;
  /**
   * The underlying error. It is summarized with {@link summarizeError}; the object itself is dropped.
   * @default undefined (no cause)
   */
  cause?: unknown;
  /**
   * A message for people.
   * @default one that names the provider, the operation and the kind
   */
  message?: string;
  /**
   * The field of the request that was at fault (`to`, `subject`, `key`), for `invalid` errors.
   * @default undefined
   */
  field?: string;
  /**
   * Strings that must never appear in the message or the cause: API keys, passwords, tokens.
   * @default []
   */
  secrets?: readonly (string | undefined)[];
}

const providerErrorBrand: unique symbol = Symbol.for('tracks.ProviderError');
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');
const MAX_MESSAGE_LENGTH = 500;

/**
 * The one error type a provider adapter throws. Fields are for programs (`kind`, `scope`,
 * `retryable`, `retryAfterMs`), the message is for people, and `cause` is a sanitized
 * {@link ErrorSummary} — so `JSON.stringify(error)` and `util.inspect(error)` are safe to log.
 */
export class ProviderError extends Error {
  /** What kind of failure this is. */
  readonly kind: ProviderErrorKind;
  /** Whom the error is about. */
  readonly scope: ErrorScope;
  /** Whether trying again may succeed. */
  readonly retryable: boolean;
  /** How long the provider asked us to wait, in ms. */
  readonly retryAfterMs?: number;
  /** The provider that failed. */
  readonly provider: string;
  /** The operation that failed. */
  readonly operation: string;
  /** HTTP status or SMTP reply code. */
  readonly status?: number;
  /** The request field at fault, for `invalid` errors. */
  readonly field?: string;
  /** A sanitized summary of the underlying error. */
  declare readonly cause?: ErrorSummary;

  constructor(options: ProviderErrorOptions) {
    const secrets = options.secrets?.filter((s): s is string => typeof s === 'string' && s.length >= 4) ?? [];
    const summary = options.cause === undefined ? undefined : summarizeError(options.cause, secrets);
    const retryable = options.retryable ?? defaultRetryable(options.kind);
    super(redact(options.message ?? defaultMessage(options, summary, retryable), secrets));
    this.name = 'ProviderError';
    this.kind = options.kind;
    this.scope =
      options.scope ?? (options.kind === 'invalid' || options.kind === 'permanent' ? 'message' : 'provider');
    this.retryable = retryable;
    if (
      options.retryAfterMs !== undefined &&
      Number.isFinite(options.retryAfterMs) &&
      options.retryAfterMs >= 0
    ) {
      this.retryAfterMs = Math.ceil(options.retryAfterMs);
    }
    this.provider = options.provider;
    this.operation = options.operation;
    if (options.status !== undefined) this.status = options.status;
    if (options.field !== undefined) this.field = options.field;
    if (summary !== undefined) {
      Object.defineProperty(this, 'cause', {
        value: summary,
        enumerable: false,
        writable: false,
        configurable: true,
      });
    }
    Object.defineProperty(this, providerErrorBrand, { value: true });
  }

  /** A plain, redacted object for logs: every field, the summary as `cause`, no stack. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      name: this.name,
      message: this.message,
      kind: this.kind,
      scope: this.scope,
      retryable: this.retryable,
      provider: this.provider,
      operation: this.operation,
    };
    if (this.retryAfterMs !== undefined) json.retryAfterMs = this.retryAfterMs;
    if (this.status !== undefined) json.status = this.status;
    if (this.field !== undefined) json.field = this.field;
    if (this.cause !== undefined) json.cause = { ...this.cause };
    return json;
  }
}

// `util.inspect` output: the stack and the redacted fields, never an SDK object. Installed by
// symbol so that the core imports nothing from `node:util`.
Object.defineProperty(ProviderError.prototype, inspectCustom, {
  value(this: ProviderError): string {
    const { name: _name, message: _message, ...fields } = this.toJSON();
    return `${this.stack ?? `${this.name}: ${this.message}`} ${JSON.stringify(fields)}`;
  },
});

/** True for a {@link ProviderError} from any copy of this package. */
export function isProviderError(error: unknown): error is ProviderError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[providerErrorBrand] === true
  );
}

/**
 * True when an error is about the request, not the provider's health: a message-scoped
 * `invalid` or `permanent` {@link ProviderError}. Such errors never count against a breaker,
 * are never retried and never fail over.
 */
export function isMessageScoped(error: unknown): boolean {
  return (
    isProviderError(error) &&
    error.scope === 'message' &&
    (error.kind === 'invalid' || error.kind === 'permanent')
  );
}

/**
 * Reduces any thrown value to an {@link ErrorSummary}: name, code, status, request id and a
 * truncated message, with `secrets` scrubbed. Nothing else of the original survives.
 */
export function summarizeError(error: unknown, secrets: readonly string[] = []): ErrorSummary {
  if (typeof error !== 'object' || error === null) {
    return { message: redact(truncate(String(error)), secrets) };
  }
  const e = error as Record<string, unknown>;
  const metadata = (typeof e.$metadata === 'object' && e.$metadata !== null ? e.$metadata : {}) as Record<
    string,
    unknown
  >;
  const response = (typeof e.response === 'object' && e.response !== null ? e.response : {}) as Record<
    string,
    unknown
  >;
  const summary: {
    name?: string;
    code?: string | number;
    status?: number;
    requestId?: string;
    message?: string;
  } = {};
  if (typeof e.name === 'string') summary.name = e.name;
  const code = e.code ?? e.Code;
  if (typeof code === 'string' || typeof code === 'number') summary.code = code;
  const status = firstNumber(
    metadata.httpStatusCode,
    e.status,
    e.statusCode,
    e.responseCode,
    response.status,
  );
  if (status !== undefined) summary.status = status;
  const requestId = metadata.requestId ?? e.requestId ?? e.RequestId;
  if (typeof requestId === 'string') summary.requestId = requestId;
  if (typeof e.message === 'string' && e.message.length > 0)
    summary.message = redact(truncate(e.message), secrets);
  return summary;
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const value of values) {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

function defaultRetryable(kind: ProviderErrorKind): boolean {
  return kind === 'transient' || kind === 'throttled' || kind === 'timeout';
}

function defaultMessage(
  options: ProviderErrorOptions,
  summary: ErrorSummary | undefined,
  retryable: boolean,
): string {
  const detail = summary?.message ?? summary?.name;
  const what = `${options.provider} ${options.operation} failed (${options.kind}${options.field ? `, field ${options.field}` : ''})`;
  const next =
    options.retryAfterMs !== undefined
      ? `retry after ${Math.ceil(options.retryAfterMs)} ms`
      : retryable
        ? 'may be retried'
        : 'not retried';
  return `${what}${detail ? `: ${detail}` : ''}; ${next}`;
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text;
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}
