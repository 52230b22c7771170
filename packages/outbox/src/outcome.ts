import {
  isAmbiguous,
  isBreakerRejection,
  isBulkheadRejection,
  isRetryable,
  summarizeError,
} from '@tracks/breaker';

/**
 * What the outbox does after a failed delivery attempt:
 * - `defer`: nothing was sent (an open breaker, a full bulkhead): wait, and give the attempt back;
 * - `ambiguous`: the request may have been delivered (a timeout after it left): try again, and
 *   count the possible duplicate;
 * - `retry`: nothing was delivered and trying again may work (transient, throttled);
 * - `dead`: trying again cannot work (invalid, message-scoped permanent, auth, provider-scoped
 *   permanent): a person has to look.
 */
export type FailureDecision = 'defer' | 'ambiguous' | 'retry' | 'dead';

/** Sorts a delivery failure per DESIGN.md's taxonomy; `leaseExpired` means we aborted it ourselves. */
export function decide(error: unknown, leaseExpired: boolean): FailureDecision {
  // our own abort at the end of the lease: the handler may have sent before it noticed
  if (leaseExpired) return 'ambiguous';
  if (isBreakerRejection(error) || isBulkheadRejection(error)) return 'defer';
  if (isAmbiguous(error)) return 'ambiguous';
  return isRetryable(error) ? 'retry' : 'dead';
}

/** The wait an error asks for (a provider's Retry-After, an open breaker's), in ms. */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** A one-line description of an error for the job's `lastError`: never an SDK object. */
export function describeError(error: unknown): string {
  const summary = summarizeError(error);
  const head = summary.name ?? 'Error';
  return summary.message === undefined ? head : `${head}: ${summary.message}`;
}
