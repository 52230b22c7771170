import { isProviderError } from '@tracks/breaker';
import type { SendOtpResult } from './adapter.js';
import type { IssuedOtp, OtpService } from './otp.js';

/** Writes the SMS that carries a code. */
export type OtpMessage = (code: string, context: OtpMessageContext) => string;

/** What an {@link OtpMessage} knows besides the code. */
export interface OtpMessageContext {
  /** When the code stops being valid. */
  readonly expiresAt: Date;
  /** How long codes are valid, in ms. */
  readonly ttlMs: number;
  /** The recipient's language, when the caller passed one. */
  readonly locale?: string;
}

/** The default code message: `Your verification code is 123456. It expires in 10 minutes.` */
export const defaultOtpMessage: OtpMessage = (code, { ttlMs }) => {
  const minutes = Math.max(1, Math.round(ttlMs / 60_000));
  return `Your verification code is ${code}. It expires in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
};

/**
 * True when an error proves the request never left or was refused by the provider, so nothing
 * was delivered: any `ProviderError` but a `timeout`. Timeouts, aborts and unknown errors are
 * ambiguous — the SMS may be on its way.
 */
export function provesNotSent(error: unknown): boolean {
  return isProviderError(error) && error.kind !== 'timeout';
}

/**
 * `sendOtp` for adapters that verify locally: issues a code through `otp` (which enforces the
 * resend limits before anything is sent), delivers it, and withdraws the issuance when the
 * delivery provably failed, so the cooldown does not punish a code nobody received.
 */
export async function sendIssuedOtp(
  otp: OtpService,
  phone: string,
  deliver: (issued: IssuedOtp) => Promise<SendOtpResult>,
): Promise<SendOtpResult> {
  const issued = await otp.issue(phone);
  try {
    return await deliver(issued);
  } catch (error) {
    if (provesNotSent(error)) await otp.withdraw(issued);
    throw error;
  }
}
