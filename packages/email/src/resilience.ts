import type { Backoff, Breaker, Policy, ResilienceOptions, Settings } from '@tracks/breaker';
import {
  asPolicy,
  Bulkhead,
  exponentialBackoff,
  isRetryable,
  presets,
  resilience,
  retry,
} from '@tracks/breaker';
import type { EmailAdapter, EmailLimits, EmailMessage, SendOptions, SendResult } from './types.js';
import { DEFAULT_EMAIL_LIMITS } from './types.js';
import { validateEmailMessage } from './validate.js';

/** An {@link EmailAdapter} whose sends run through a policy; made by {@link withResilience}. */
export interface ResilientEmailAdapter extends EmailAdapter {
  /** The wrapped adapter's limits, or the defaults when it declares none. */
  readonly limits: EmailLimits;
  /** The policy sends run through: observe `policy.breaker` and `policy.onRetry(…)` for metrics. */
  readonly policy: Policy;
  /** The adapter being wrapped. */
  readonly adapter: EmailAdapter;
  /** Closes the wrapped adapter (its clients and sockets); always present on the wrapper. */
  close(): Promise<void>;
  /**
   * The seed's `SendWithRetry`: like {@link send}, with exactly `maxRetries` retries (backoff
   * doubling from 1 s, as the seed's loop did), through the same breaker. Ambiguous timeouts are
   * still not retried unless the options say `retryAmbiguous: true`. With a `Policy` of your own
   * (rather than options), the retries run around that policy.
   */
  sendWithRetry(msg: EmailMessage, maxRetries: number, options?: SendOptions): Promise<SendResult>;
}

/**
 * Wraps an adapter so that every send is validated (against the adapter's limits: bad input
 * never reaches a breaker or a retry), then run through a policy as a non-idempotent operation:
 * a send that timed out after the request left may have been delivered, so it is retried only
 * with `retryAmbiguous: true`; errors that prove nothing was sent (connection refused, 429,
 * 5xx before acceptance) are retried.
 *
 * `policyOrOptions` is a policy made by `resilience()` from `@tracks/breaker`, or the same
 * options; options without a `breaker` get a breaker named `email:<provider>` with the `email`
 * preset, so each provider trips on its own and failover is not blocked by another's breaker;
 * breaker settings (`{ breaker: { timeout: 30_000 } }`) are laid over that preset and name.
 *
 * @example
 * const ses = withResilience(new SesEmailAdapter({ client }), { retry: { maxRetries: 2 }, timeout: 10_000 });
 * await ses.send(message);
 * ses.policy.breaker?.state; // 'closed'
 */
export function withResilience(
  adapter: EmailAdapter,
  policyOrOptions?: Policy | ResilienceOptions,
): ResilientEmailAdapter {
  const familyBreaker: Settings = { ...presets.email, name: `email:${adapter.provider}` };
  let options = isOptions(policyOrOptions) ? overFamilyBreaker(policyOrOptions, familyBreaker) : undefined;
  // sendWithRetry's policies must share the bulkhead (as they share the breaker): make it once
  if (options?.bulkhead !== undefined && !(options.bulkhead instanceof Bulkhead)) {
    options = { ...options, bulkhead: new Bulkhead(options.bulkhead) };
  }
  const policy = asPolicy(options ?? policyOrOptions, { breaker: familyBreaker });
  const derived = new Map<number, Policy>();
  const limits = adapter.limits ?? DEFAULT_EMAIL_LIMITS;

  const run = (p: Policy, msg: EmailMessage, sendOptions: SendOptions | undefined): Promise<SendResult> => {
    validateEmailMessage(msg, { limits, provider: adapter.provider });
    return p.execute(({ signal }) => adapter.send(msg, { signal }), {
      idempotent: false,
      ...(sendOptions?.signal !== undefined ? { signal: sendOptions.signal } : {}),
    });
  };

  const withRetries = (maxRetries: number): Policy => {
    let p = derived.get(maxRetries);
    if (p === undefined) {
      const retry = {
        backoff: seedBackoff(),
        ...(options?.retry === false || options?.retry === undefined ? {} : options.retry),
        maxRetries,
      };
      p = resilience({ ...options, retry, breaker: policy.breaker ?? false });
      derived.set(maxRetries, p);
    }
    return p;
  };

  const wrapped: ResilientEmailAdapter = {
    provider: adapter.provider,
    limits,
    policy,
    adapter,
    send: async (msg, sendOptions) => run(policy, msg, sendOptions),
    sendWithRetry: async (msg, maxRetries, sendOptions) => {
      if (!Number.isInteger(maxRetries) || maxRetries < 0) {
        throw new RangeError('sendWithRetry: maxRetries must be a whole number >= 0');
      }
      if (options !== undefined || policyOrOptions === undefined)
        return run(withRetries(maxRetries), msg, sendOptions);
      // a Policy of the caller's keeps its own layers; the seed's retries go around it
      validateEmailMessage(msg, { limits, provider: adapter.provider });
      const signal = sendOptions?.signal;
      return retry(
        ({ signal: attemptSignal }) =>
          policy.execute((ctx) => adapter.send(msg, { signal: ctx.signal }), {
            idempotent: false,
            signal: attemptSignal,
          }),
        {
          maxRetries,
          backoff: seedBackoff(),
          retryIf: (error) => isRetryable(error, { idempotent: false }),
          ...(signal !== undefined ? { signal } : {}),
        },
      );
    },
    close: async () => {
      await adapter.close?.();
    },
  };
  return wrapped;
}

function isOptions(value: Policy | ResilienceOptions | undefined): value is ResilienceOptions {
  return value !== undefined && typeof (value as Policy).execute !== 'function';
}

// the seed's SendWithRetry waited 1 s, 2 s, 4 s, …; jitter spreads callers that failed together
function seedBackoff(): Backoff {
  return exponentialBackoff({ initial: 1000, factor: 2, max: 30_000 });
}

// Breaker settings given in the options are laid over the family's (its preset and the
// `email:<provider>` name), as serviceBreakers() lays overrides over a preset: a caller who tunes
// one threshold keeps the preset's exclusions (message-scoped errors never count) and the name
// that metrics and dashboards use. A breaker instance, or `false`, is taken as it is.
function overFamilyBreaker(options: ResilienceOptions, family: Settings): ResilienceOptions {
  const breaker = options.breaker;
  if (typeof breaker !== 'object' || breaker === null || typeof (breaker as Breaker).execute === 'function') {
    return options;
  }
  return { ...options, breaker: { ...family, ...(breaker as Settings) } };
}
