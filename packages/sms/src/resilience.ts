import {
  asPolicy,
  type Breaker,
  isBreakerRejection,
  isBulkheadRejection,
  isPolicy,
  type Policy,
  presets,
  type ResilienceOptions,
  type Settings,
} from '@tracks/breaker';
import type {
  SendOtpOptions,
  SendOtpResult,
  SendResult,
  SmsAdapter,
  SmsCallOptions,
  VerifyResult,
} from './adapter.js';
import { validateSmsBody } from './body.js';
import { isRateLimitedError } from './errors.js';
import type { IssuedOtp, OtpService } from './otp.js';
import { provesNotSent } from './otp-delivery.js';
import { normalizePhoneNumber } from './phone.js';

/** An {@link SmsAdapter} whose provider calls run through a policy; made by {@link withResilience}. */
export interface ResilientSmsAdapter extends SmsAdapter {
  /** The policy provider calls run through: observe `policy.breaker` and its events for metrics. */
  readonly policy: Policy;
  /** The adapter being wrapped. */
  readonly adapter: SmsAdapter;
  /** Closes the wrapped adapter (its clients and sockets); always present on the wrapper. */
  close(): Promise<void>;
}

/**
 * Wraps an adapter so that its provider calls run through a policy, with everything that is not
 * about the provider's health kept outside it:
 *
 * - phone numbers and bodies are validated first: bad input never reaches a breaker or a retry;
 * - sends (`sendMessage`, `sendOtp`) run as non-idempotent operations: an ambiguous timeout (the
 *   SMS may be on its way) is retried only with `retryAmbiguous: true` — a duplicate costs money
 *   and confuses people;
 * - for adapters that verify locally (an `otp` service: SNS, log, memory), the code is issued —
 *   and the resend cooldown and hourly cap enforced — before the policy, so a
 *   {@link RateLimitedError} never touches the breaker; only the delivery runs through it, and a
 *   retry re-delivers the same code. `verifyOtp` skips the policy entirely: an SMS outage never
 *   blocks logins with codes already sent;
 * - for adapters that verify at the provider (Twilio Verify), `verifyOtp` runs through the policy,
 *   but `mismatch`, `expired` and `too-many-attempts` are answers: they count as successes, are
 *   never retried and never fail over. A provider's own send limit (Verify's 60203) is an answer
 *   too: it passes the breaker as a success and reaches the caller as the RateLimitedError.
 *
 * `policyOrOptions` is a policy made by `resilience()` from `@tracks/breaker`, or the same
 * options; options without a `breaker` get a breaker named `sms:<provider>` with the `sms`
 * preset (3 consecutive failures open it for a minute); breaker settings
 * (`{ breaker: { timeout: 30_000 } }`) are laid over that preset and name.
 *
 * @example
 * const sms = withResilience(new SnsSmsAdapter({ otp, region: 'eu-west-1' }), { retry: { maxRetries: 2 }, timeout: 5_000 });
 * await sms.sendOtp('+447700900123');
 * sms.policy.breaker?.state; // 'closed'
 */
export function withResilience(
  adapter: SmsAdapter,
  policyOrOptions?: Policy | ResilienceOptions,
): ResilientSmsAdapter {
  const familyBreaker: Settings = { ...presets.sms, name: `sms:${adapter.provider}` };
  const policy = asPolicy(
    policyOrOptions === undefined || isPolicy(policyOrOptions)
      ? policyOrOptions
      : overFamilyBreaker(policyOrOptions, familyBreaker),
    { breaker: familyBreaker },
  );
  const provider = adapter.provider;
  const otp = adapter.otp;
  const deliverOtp = adapter.deliverOtp?.bind(adapter);
  const bodyOptions = (operation: string) =>
    adapter.maxSegments === undefined
      ? { provider, operation }
      : { provider, operation, maxSegments: adapter.maxSegments };
  const callOptions = (options: SmsCallOptions | undefined) =>
    options?.signal === undefined ? { idempotent: false } : { idempotent: false, signal: options.signal };

  const deliver = async (issued: IssuedOtp, options: SendOtpOptions | undefined): Promise<SendOtpResult> => {
    if (deliverOtp === undefined) throw new TypeError('unreachable: deliverOtp without otp');
    // withdraw only when no attempt may have delivered: every attempt that started failed in a
    // way that proves nothing left (an attempt cut off by the policy's timeout does not)
    let started = 0;
    let refused = 0;
    try {
      return await policy.execute(async ({ signal }) => {
        started += 1;
        try {
          return await deliverOtp(issued.phone, issued, { ...options, signal });
        } catch (error) {
          if (provesNotSent(error)) refused += 1;
          throw error;
        }
      }, callOptions(options));
    } catch (error) {
      const nothingLeft = started === refused;
      if (nothingLeft && (provesNotSent(error) || isBreakerRejection(error) || isBulkheadRejection(error))) {
        await (otp as OtpService).withdraw(issued);
      }
      throw error;
    }
  };

  const wrapped: ResilientSmsAdapter = {
    provider,
    maxSegments: adapter.maxSegments,
    policy,
    adapter,

    sendMessage: async (phone: string, body: string, options?: SmsCallOptions): Promise<SendResult> => {
      const to = normalizePhoneNumber(phone, { provider });
      validateSmsBody(body, bodyOptions('sendMessage'));
      return policy.execute(({ signal }) => adapter.sendMessage(to, body, { signal }), callOptions(options));
    },

    sendOtp: async (phone: string, options?: SendOtpOptions): Promise<SendOtpResult> => {
      const to = normalizePhoneNumber(phone, { provider, operation: 'sendOtp' });
      if (otp !== undefined && deliverOtp !== undefined) {
        options?.signal?.throwIfAborted();
        return deliver(await otp.issue(to), options);
      }
      // the provider's own send limit is an answer, not a failure: it must neither trip the
      // breaker nor be retried, so it crosses the policy as a value
      const outcome = await policy.execute(
        ({ signal }) => adapter.sendOtp(to, { ...options, signal }).then(sent, answered),
        callOptions(options),
      );
      if ('limited' in outcome) throw outcome.limited;
      return outcome.result;
    },

    verifyOtp: async (phone: string, code: string, options?: SmsCallOptions): Promise<VerifyResult> => {
      const to = normalizePhoneNumber(phone, { provider, operation: 'verifyOtp' });
      // local codes: no provider, so no breaker and no retry
      if (otp !== undefined) return adapter.verifyOtp(to, code, options);
      return policy.execute(({ signal }) => adapter.verifyOtp(to, code, { signal }), callOptions(options));
    },

    close: async () => {
      await adapter.close?.();
    },
  };
  if (otp !== undefined && deliverOtp !== undefined) {
    return Object.assign(wrapped, {
      otp,
      deliverOtp: (_phone: string, issued: IssuedOtp, options?: SendOtpOptions) => deliver(issued, options),
    });
  }
  return wrapped;
}

function sent(result: SendOtpResult): { result: SendOtpResult } {
  return { result };
}

function answered(error: unknown): { limited: unknown } {
  if (isRateLimitedError(error)) return { limited: error };
  throw error;
}

// Breaker settings given in the options are laid over the family's (its preset and the
// `sms:<provider>` name), as serviceBreakers() lays overrides over a preset: a caller who tunes
// one threshold keeps the preset's exclusions (message-scoped errors never count) and the name
// that metrics and dashboards use. A breaker instance, or `false`, is taken as it is.
function overFamilyBreaker(options: ResilienceOptions, family: Settings): ResilienceOptions {
  const breaker = options.breaker;
  if (typeof breaker !== 'object' || breaker === null || typeof (breaker as Breaker).execute === 'function') {
    return options;
  }
  return { ...options, breaker: { ...family, ...(breaker as Settings) } };
}
