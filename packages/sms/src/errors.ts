import { ProviderError } from '@tracks/breaker';

/** Options shared by the validation errors of this package. */
export interface SmsValidationErrorOptions {
  /**
   * The adapter the request was meant for.
   * @default 'sms'
   */
  provider?: string;
  /**
   * The operation that was refused.
   * @default 'sendMessage'
   */
  operation?: string;
}

/**
 * A phone number that is not a valid E.164 number (or that could not be parsed at all). A
 * {@link ProviderError} of kind `invalid`, scope `message`, field `phone`: it is raised before
 * any provider call, and it never counts against a breaker, is never retried, never fails over.
 */
export class InvalidPhoneNumberError extends ProviderError {
  constructor(reason: string, options: SmsValidationErrorOptions = {}) {
    super({
      kind: 'invalid',
      provider: options.provider ?? 'sms',
      operation: options.operation ?? 'sendMessage',
      field: 'phone',
      // the number itself stays out of the message: it is personal data and logs keep it
      message: `invalid phone number: ${reason}; not sent`,
    });
    this.name = 'InvalidPhoneNumberError';
  }
}

/**
 * A message body that cannot be sent: empty, with control characters, or longer than the
 * segment cap. A {@link ProviderError} of kind `invalid`, scope `message`, field `body`, raised
 * before any provider call.
 */
export class InvalidMessageError extends ProviderError {
  constructor(reason: string, options: SmsValidationErrorOptions = {}) {
    super({
      kind: 'invalid',
      provider: options.provider ?? 'sms',
      operation: options.operation ?? 'sendMessage',
      field: 'body',
      message: `invalid message body: ${reason}; not sent`,
    });
    this.name = 'InvalidMessageError';
  }
}

const rateLimitedBrand: unique symbol = Symbol.for('tracks.sms.RateLimitedError');

/** Why a code was not sent. */
export type RateLimitReason = 'cooldown' | 'hourly-limit' | 'provider-limit';

/**
 * Too many codes were requested for one number: the resend cooldown has not passed, the hourly
 * cap is reached, or the provider refused to send more (Twilio Verify's 60203). Deliberately
 * not a {@link ProviderError}: it is about one person's requests, not the provider's health, so
 * it never counts against a breaker, is never retried and never fails over — one person's
 * resend storm cannot open the SMS breaker for everyone.
 */
export class RateLimitedError extends Error {
  /** How long until a code may be requested again, in ms. */
  readonly retryAfterMs: number;
  /** Which limit was hit. */
  readonly reason: RateLimitReason;
  /** Never retried by a policy. */
  readonly retryable: false = false;

  constructor(retryAfterMs: number, reason: RateLimitReason) {
    const wait = Math.max(0, Math.ceil(retryAfterMs));
    const what =
      reason === 'cooldown'
        ? 'a code was sent to this number moments ago'
        : reason === 'hourly-limit'
          ? 'too many codes were sent to this number in the last hour'
          : 'the provider refuses to send more codes to this number for now';
    super(`${what}; try again in ${Math.ceil(wait / 1000)} s`);
    this.name = 'RateLimitedError';
    this.retryAfterMs = wait;
    this.reason = reason;
    Object.defineProperty(this, rateLimitedBrand, { value: true });
  }
}

/** True for a {@link RateLimitedError} from any copy of this package. */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[rateLimitedBrand] === true
  );
}
