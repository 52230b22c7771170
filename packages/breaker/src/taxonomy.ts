// DESIGN.md's error taxonomy as code. Every layer asks these three questions — is it retried,
// does it count against the breaker, does it fail over — and gets its answer here, so the table
// is implemented once.

import { isBulkheadRejection } from './bulkhead.js';
import { isMessageScoped, isProviderError } from './errors.js';
import { isBreakerRejection } from './rejections.js';
import { isTimeoutError } from './timeout.js';

/** Options of {@link isRetryable}. */
export interface RetryableOptions {
  /**
   * Whether errors that are neither a {@link ProviderError}, a rejection of ours nor a
   * {@link TimeoutError} (a bug, an adapter that did not map an SDK error) are retried.
   * @default true
   */
  unknownRetryable?: boolean;
  /**
   * Whether the operation may safely run twice (a read, a put of a replayable body). When false
   * (a send), an ambiguous timeout — the request may have been delivered — is not retried.
   * @default true
   */
  idempotent?: boolean;
  /**
   * Retry ambiguous timeouts even when the operation is not idempotent, accepting a possible
   * duplicate (an email sent twice) over a lost one.
   * @default false
   */
  retryAmbiguous?: boolean;
}

/**
 * Whether trying again may succeed, per DESIGN.md's taxonomy:
 * - a {@link ProviderError}: its own `retryable`, except that message-scoped `invalid` and
 *   `permanent` errors are never retried, and a `timeout` is retried only if the operation is
 *   idempotent or `retryAmbiguous` is set;
 * - breaker and bulkhead rejections: true (a retry waits their `retryAfterMs` or a backoff);
 * - a {@link TimeoutError}: true for idempotent operations, else only with `retryAmbiguous`;
 * - an abort (`AbortError`): false — someone chose to stop;
 * - another error with an own boolean `retryable` property (`@tracks/sms`'s `RateLimitedError`
 *   has `retryable: false`): that value;
 * - anything else: `unknownRetryable` (default true).
 *
 * @example
 * isRetryable(new ProviderError({ kind: 'throttled', provider: 'ses', operation: 'send' })) // true
 * isRetryable(timeoutError, { idempotent: false })                                        // false
 */
export function isRetryable(error: unknown, options?: RetryableOptions): boolean {
  if (isProviderError(error)) {
    if (isMessageScoped(error)) return false;
    if (error.kind === 'timeout' && !ambiguousAllowed(options?.idempotent ?? true, options)) return false;
    return error.retryable;
  }
  if (isTimeoutError(error)) return ambiguousAllowed(options?.idempotent ?? true, options);
  if (isBreakerRejection(error) || isBulkheadRejection(error)) return true;
  if (isAbortError(error)) return false;
  // another package's error that says so itself (@tracks/sms's RateLimitedError: retryable false)
  const own = ownRetryable(error);
  if (own !== undefined) return own;
  return options?.unknownRetryable ?? true;
}

function ownRetryable(error: unknown): boolean | undefined {
  if (typeof error !== 'object' || error === null || !Object.hasOwn(error, 'retryable')) return undefined;
  const value = (error as { retryable?: unknown }).retryable;
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * True for an outcome that may or may not have happened at the provider: a {@link TimeoutError}
 * or a {@link ProviderError} of kind `timeout`.
 */
export function isAmbiguous(error: unknown): boolean {
  return isTimeoutError(error) || (isProviderError(error) && error.kind === 'timeout');
}

/** Options of {@link shouldFailover}. */
export interface FailoverOptions {
  /**
   * Fail over after an ambiguous timeout, accepting that the first provider may also have
   * delivered (a duplicate) over not delivering at all.
   * @default false
   */
  retryAmbiguous?: boolean;
  /**
   * The operation may safely run twice (a read): an ambiguous timeout then fails over too.
   * @default false (the table's default is the send: ambiguous timeouts do not fail over)
   */
  idempotent?: boolean;
}

/**
 * Whether a failover strategy should try the next provider after `error`, per DESIGN.md's
 * taxonomy: true for retryable errors (throttled, transient), provider-scoped `permanent` and
 * `auth` errors, and breaker or bulkhead rejections; false for message-scoped `invalid` and
 * `permanent` errors (validation errors included: the next provider would refuse the message
 * too) and for aborts; ambiguous timeouts only with `retryAmbiguous` (or `idempotent`). Errors
 * this package does not know fail over.
 *
 * @example
 * for (const adapter of adapters) {
 *   try { return await adapter.send(message); }
 *   catch (error) { if (!shouldFailover(error)) throw error; last = error; }
 * }
 */
export function shouldFailover(error: unknown, options?: FailoverOptions): boolean {
  if (isAmbiguous(error)) return ambiguousAllowed(options?.idempotent ?? false, options);
  if (isProviderError(error)) return !isMessageScoped(error);
  if (isBreakerRejection(error) || isBulkheadRejection(error)) return true;
  return !isAbortError(error);
}

/**
 * True for an error that says nothing about a provider's health and so must count neither as a
 * success nor as a failure of its breaker: message-scoped `invalid` and `permanent` errors (a bad
 * address), bulkhead and breaker rejections (the call never left), and aborts (the caller gave
 * up). Use it as a breaker's `isExcluded`; the {@link presets} do.
 *
 * @example
 * new CircuitBreaker({ name: 'email:ses', isExcluded: isExcludedFromBreaker })
 */
export function isExcludedFromBreaker(error: unknown): boolean {
  if (isProviderError(error)) return isMessageScoped(error);
  return isBulkheadRejection(error) || isBreakerRejection(error) || isAbortError(error);
}

function ambiguousAllowed(idempotent: boolean, options: { retryAmbiguous?: boolean } | undefined): boolean {
  return idempotent || options?.retryAmbiguous === true;
}

function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}
