import { describe, expect, it } from 'vitest';
import { BulkheadRejectedError } from './bulkhead.js';
import { ProviderError, type ProviderErrorKind } from './errors.js';
import { openStateError, tooManyRequestsError } from './rejections.js';
import { isAmbiguous, isExcludedFromBreaker, isRetryable, shouldFailover } from './taxonomy.js';
import { TimeoutError } from './timeout.js';

function providerError(kind: ProviderErrorKind, scope?: 'message' | 'provider'): ProviderError {
  return new ProviderError({ kind, provider: 'ses', operation: 'send', ...(scope ? { scope } : {}) });
}

const abort = new DOMException('This operation was aborted', 'AbortError');

// DESIGN.md's "Error taxonomy" table, one row per line:
// [case, error, counts against the breaker, retried, fails over]
const table: [string, unknown, boolean, boolean, boolean][] = [
  ['invalid, scope message', providerError('invalid'), false, false, false],
  ['permanent, scope message', providerError('permanent'), false, false, false],
  ['permanent, scope provider', providerError('permanent', 'provider'), true, false, true],
  ['auth', providerError('auth'), true, false, true],
  ['throttled', providerError('throttled'), true, true, true],
  ['transient', providerError('transient'), true, true, true],
  ['timeout (ProviderError)', providerError('timeout'), true, true, false],
  ['timeout (TimeoutError)', new TimeoutError(100), true, true, false],
  ['breaker rejection: open', openStateError('email:ses', 1000), false, true, true],
  ['breaker rejection: too many requests', tooManyRequestsError('email:ses', undefined), false, true, true],
  ['bulkhead rejection', new BulkheadRejectedError(1, 0), false, true, true],
  ['unknown error', new Error('ECONNRESET'), true, true, true],
  ['abort', abort, false, false, false],
];

describe('error taxonomy', () => {
  it.each(table)('%s', (_case, error, counts, retried, failsOver) => {
    expect(isExcludedFromBreaker(error)).toBe(!counts);
    expect(isRetryable(error)).toBe(retried);
    expect(shouldFailover(error)).toBe(failsOver);
  });
});

describe('isRetryable', () => {
  it("honours a ProviderError's own retryable", () => {
    const error = new ProviderError({ kind: 'transient', provider: 'x', operation: 'y', retryable: false });
    expect(isRetryable(error)).toBe(false);
    const auth = new ProviderError({ kind: 'auth', provider: 'x', operation: 'y', retryable: true });
    expect(isRetryable(auth)).toBe(true);
  });

  it('does not retry ambiguous timeouts of a non-idempotent operation, unless retryAmbiguous', () => {
    for (const error of [providerError('timeout'), new TimeoutError(10)]) {
      expect(isRetryable(error, { idempotent: false })).toBe(false);
      expect(isRetryable(error, { idempotent: false, retryAmbiguous: true })).toBe(true);
      expect(isRetryable(error, { idempotent: true })).toBe(true);
    }
    // only timeouts are ambiguous: a transient error of a send is still retried
    expect(isRetryable(providerError('transient'), { idempotent: false })).toBe(true);
  });

  it('honours an explicit own retryable on errors of other packages', () => {
    // @tracks/sms's RateLimitedError: a refusal of ours that a retry would only repeat
    class RateLimitedError extends Error {
      readonly retryable = false as const;
      readonly retryAfterMs = 60_000;
    }
    const refusal = new RateLimitedError('rate limited');
    expect(isRetryable(refusal)).toBe(false);
    expect(
      isRetryable(Object.assign(new Error('flaky'), { retryable: true }), { unknownRetryable: false }),
    ).toBe(true);
    expect(isRetryable({ retryable: false })).toBe(false);
    // only an own boolean counts: not one inherited, not a truthy string
    const inherited = Object.create({ retryable: false }) as object;
    expect(isRetryable(inherited)).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { retryable: 'no' }))).toBe(true);
  });

  it('does not let a retryable flag override what it knows: aborts, timeouts of sends', () => {
    expect(isRetryable(Object.assign(new TimeoutError(5), { retryable: true }), { idempotent: false })).toBe(
      false,
    );
    expect(isRetryable(Object.assign(new DOMException('stop', 'AbortError'), { retryable: true }))).toBe(
      false,
    );
    expect(shouldFailover(Object.assign(new Error('rate limited'), { retryable: false }))).toBe(true);
  });

  it('treats unknown errors as the caller says', () => {
    expect(isRetryable(new Error('x'), { unknownRetryable: false })).toBe(false);
    expect(isRetryable('a string', { unknownRetryable: false })).toBe(false);
    expect(isRetryable(undefined)).toBe(true);
    // a ProviderError is never unknown
    expect(isRetryable(providerError('transient'), { unknownRetryable: false })).toBe(true);
  });

  it('never retries message-scoped errors even if marked retryable', () => {
    const error = new ProviderError({ kind: 'invalid', provider: 'x', operation: 'y', retryable: true });
    expect(isRetryable(error)).toBe(false);
  });
});

describe('shouldFailover', () => {
  it('fails over after an ambiguous timeout only with retryAmbiguous or for idempotent operations', () => {
    for (const error of [providerError('timeout'), new TimeoutError(10)]) {
      expect(shouldFailover(error)).toBe(false);
      expect(shouldFailover(error, { retryAmbiguous: true })).toBe(true);
      expect(shouldFailover(error, { idempotent: true })).toBe(true);
    }
  });

  it('fails over for provider-scoped invalid errors (the account, not the message)', () => {
    expect(shouldFailover(providerError('invalid', 'provider'))).toBe(true);
  });
});

describe('isAmbiguous', () => {
  it('is true for timeouts only', () => {
    expect(isAmbiguous(new TimeoutError(1))).toBe(true);
    expect(isAmbiguous(providerError('timeout'))).toBe(true);
    expect(isAmbiguous(providerError('transient'))).toBe(false);
    expect(isAmbiguous(new Error('timeout'))).toBe(false);
  });
});
