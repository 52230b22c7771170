import { type Disposer, Emitter, type Listener, shouldFailover } from '@tracks/breaker';
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
import type { OtpService } from './otp.js';
import { normalizePhoneNumber } from './phone.js';

/** Options of {@link failover}. */
export interface SmsFailoverOptions {
  /**
   * `fallback`: every call starts with the first adapter and moves down the list on failure.
   * `round-robin`: each send starts with the next adapter in turn, then moves on through the others.
   * @default 'fallback'
   */
  strategy?: 'fallback' | 'round-robin';
  /**
   * Move on after an ambiguous timeout too, accepting that the first provider may also have
   * delivered (a duplicate SMS, or two different codes of which only the second is live).
   * @default false
   */
  retryAmbiguous?: boolean;
}

/** One move from a failing adapter to the next. */
export interface SmsFailoverEvent {
  /** The provider that failed. */
  readonly from: string;
  /** The provider tried next. */
  readonly to: string;
  /** What `from` failed with. */
  readonly error: unknown;
}

/** An {@link SmsAdapter} over several; made by {@link failover}. */
export interface FailoverSmsAdapter extends SmsAdapter {
  /** The adapters, in the order given. */
  readonly adapters: readonly SmsAdapter[];
  /** Closes the wrapped adapters (their clients and sockets); always present on the wrapper. */
  close(): Promise<void>;
  /** Listens to each move to the next adapter; returns the disposer. */
  onFailover(listener: Listener<SmsFailoverEvent>): Disposer;
}

/**
 * Sends through the first adapter that succeeds, moving on as DESIGN.md's taxonomy says
 * (`shouldFailover`): after throttling, transient and provider-scoped errors and an open breaker;
 * never after a message-scoped error (an invalid or opted-out number), a {@link RateLimitedError}
 * (one number's limit is not a provider's failure, and moving on would bypass it), an abort, or
 * an ambiguous timeout unless `retryAmbiguous`. The result's `provider` names who sent.
 *
 * Codes are checked where they were made: first by each distinct local `OtpService` among the
 * adapters (no provider call); if none holds a live code for the number (`expired`), by each
 * adapter that verifies at its provider (Twilio Verify), in order. A wrong code is an answer and
 * never moves on.
 *
 * Wrap each adapter in `withResilience` first, so each provider has its own breaker (`sms:sns`,
 * `sms:twilio`) and an open one fails over at once, without I/O.
 *
 * @example
 * const sms = failover([withResilience(sns), withResilience(twilio)]);
 */
export function failover(
  adapters: readonly SmsAdapter[],
  options: SmsFailoverOptions = {},
): FailoverSmsAdapter {
  if (!Array.isArray(adapters) || adapters.length === 0)
    throw new TypeError('failover: give at least one adapter');
  const strategy = options.strategy ?? 'fallback';
  if (strategy !== 'fallback' && strategy !== 'round-robin') {
    throw new TypeError(`failover: unknown strategy ${JSON.stringify(strategy)}`);
  }
  const list = [...adapters];
  const retryAmbiguous = options.retryAmbiguous ?? false;
  const provider = `failover(${list.map((a) => a.provider).join(',')})`;
  const caps = list.map((a) => a.maxSegments).filter((n): n is number => typeof n === 'number');
  const maxSegments = caps.length === 0 ? undefined : Math.min(...caps);
  const localServices = [...new Set(list.map((a) => a.otp).filter((o): o is OtpService => o !== undefined))];
  const remoteVerifiers = list.filter((a) => a.otp === undefined);
  let next = 0;
  let moves: Emitter<SmsFailoverEvent> | undefined;

  const moveOn = (error: unknown): boolean =>
    !isRateLimitedError(error) && shouldFailover(error, { retryAmbiguous });

  async function each<T>(
    order: readonly SmsAdapter[],
    signal: AbortSignal | undefined,
    call: (adapter: SmsAdapter) => Promise<T>,
  ): Promise<T> {
    let lastError: unknown;
    for (let i = 0; i < order.length; i++) {
      const adapter = order[i] as SmsAdapter;
      signal?.throwIfAborted();
      try {
        return await call(adapter);
      } catch (error) {
        lastError = error;
        if (i === order.length - 1 || !moveOn(error)) throw error;
        if (moves?.active)
          moves.emit({ from: adapter.provider, to: (order[i + 1] as SmsAdapter).provider, error });
      }
    }
    throw lastError;
  }

  const rotation = (): SmsAdapter[] => {
    const start = strategy === 'round-robin' ? next++ % list.length : 0;
    return list.map((_, i) => list[(start + i) % list.length] as SmsAdapter);
  };

  return {
    provider,
    maxSegments,
    adapters: list,

    sendMessage: async (phone: string, body: string, callOptions?: SmsCallOptions): Promise<SendResult> => {
      const to = normalizePhoneNumber(phone, { provider });
      validateSmsBody(body, maxSegments === undefined ? { provider } : { provider, maxSegments });
      return each(rotation(), callOptions?.signal, (a) => a.sendMessage(to, body, callOptions));
    },

    sendOtp: async (phone: string, otpOptions?: SendOtpOptions): Promise<SendOtpResult> => {
      const to = normalizePhoneNumber(phone, { provider, operation: 'sendOtp' });
      return each(rotation(), otpOptions?.signal, (a) => a.sendOtp(to, otpOptions));
    },

    verifyOtp: async (phone: string, code: string, callOptions?: SmsCallOptions): Promise<VerifyResult> => {
      const to = normalizePhoneNumber(phone, { provider, operation: 'verifyOtp' });
      for (const otp of localServices) {
        const result = await otp.verify(to, code);
        if (result.valid || result.reason !== 'expired') return result;
      }
      let result: VerifyResult = { valid: false, reason: 'expired' };
      if (remoteVerifiers.length === 0) return result;
      let lastError: unknown;
      for (const adapter of remoteVerifiers) {
        callOptions?.signal?.throwIfAborted();
        try {
          result = await adapter.verifyOtp(to, code, callOptions);
          if (result.valid || result.reason !== 'expired') return result;
        } catch (error) {
          if (!moveOn(error)) throw error;
          lastError = error;
        }
      }
      // a provider that could hold the code failed: saying "expired" would be a guess
      if (lastError !== undefined) throw lastError;
      return result;
    },

    onFailover(listener: Listener<SmsFailoverEvent>): Disposer {
      moves ??= new Emitter();
      return moves.on(listener);
    },

    close: async () => {
      await Promise.all(list.map((a) => a.close?.()));
    },
  };
}
