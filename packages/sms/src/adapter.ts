import type { IssuedOtp, OtpService } from './otp.js';

/** Per-call options of {@link SmsAdapter.sendMessage} and {@link SmsAdapter.verifyOtp}. */
export interface SmsCallOptions {
  /** Aborts the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Per-call options of {@link SmsAdapter.sendOtp}. */
export interface SendOtpOptions extends SmsCallOptions {
  /** The recipient's language (`en`, `fr-CA`), for providers that localise the code message. */
  locale?: string;
}

/** What a provider said when it accepted a message. */
export interface SendResult {
  /** The adapter's provider name (`sns`, `twilio`), so failover results name who sent. */
  provider: string;
  /** The provider's id of the message. */
  messageId: string;
  /** How many SMS segments the body takes (what the provider bills). */
  segments: number;
}

/** What {@link SmsAdapter.sendOtp} resolves to. */
export interface SendOtpResult {
  /** The adapter's provider name. */
  provider: string;
  /** When the code stops being valid, when the adapter knows. */
  expiresAt?: Date;
}

/**
 * The answer to a code check. A wrong code is an answer, not a failure: it never counts
 * against a breaker, never fails over and is never retried.
 *
 * `expired` means there is no live code for this number: it expired, was used, or was never
 * sent (Twilio cannot tell these apart, so no adapter does).
 */
export type VerifyResult =
  | { valid: true }
  | { valid: false; reason: 'mismatch' | 'expired' | 'too-many-attempts' };

/**
 * One SMS provider. Adapters translate one SDK and map its errors to `ProviderError`s; they do
 * not retry, time out on their own clock beyond their SDK's request timeout, or hold a breaker:
 * `withResilience` and `failover` compose that around them.
 */
export interface SmsAdapter {
  /** `sns`, `twilio`, `log`, `memory`, …: names the breaker (`sms:<provider>`). */
  readonly provider: string;
  /** The adapter's segment cap, when it is not the default of 10: `withResilience` validates with it. */
  readonly maxSegments?: number | undefined;
  /** Sends `body` to `phone` (E.164 after validation). */
  sendMessage(phone: string, body: string, options?: SmsCallOptions): Promise<SendResult>;
  /** Sends a one-time code to `phone`. */
  sendOtp(phone: string, options?: SendOtpOptions): Promise<SendOtpResult>;
  /** Checks a code sent by {@link SmsAdapter.sendOtp}. */
  verifyOtp(phone: string, code: string, options?: SmsCallOptions): Promise<VerifyResult>;
  /** Releases clients and sockets. */
  close?(): Promise<void>;
  /**
   * Present on adapters that verify codes locally (SNS, log, memory): the service that issues
   * and checks their codes. `withResilience` uses it to issue a code (and enforce the resend
   * limits) before the policy, so that a rate-limited request never reaches a breaker, and
   * verifies through it without any policy at all.
   */
  readonly otp?: OtpService;
  /**
   * Present with {@link SmsAdapter.otp}: delivers a code that was already issued. A retry of
   * the delivery sends the same code again instead of issuing a new one.
   */
  deliverOtp?(phone: string, issued: IssuedOtp, options?: SendOtpOptions): Promise<SendOtpResult>;
}
