import type { ProviderErrorKind } from '@tracks/breaker';
import { ProviderError } from '@tracks/breaker';

/** The fields of a nodemailer error that decide its meaning. */
interface NodemailerErrorLike {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  command?: string;
  timeoutType?: string;
  name?: string;
}

// TLS errors that are about configuration (a certificate nobody will fix by retrying)
const certificateCodes = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Maps what nodemailer threw onto the tracks taxonomy (DESIGN.md):
 *
 * - `EAUTH`, `ENOAUTH`, `EOAUTH2`, replies 530/534/535 → `auth`;
 * - 454 (SES's SMTP throttling: "Throttling failure", also "TLS not available") → `throttled`;
 * - 421/450/451/452 and any other 4xx, `ECONNECTION`, `ESOCKET` (connection refused arrives as
 *   `ESOCKET` with `originalCode: 'ECONNREFUSED'`), `EDNS`, a connection or greeting timeout
 *   → `transient`: nothing was accepted;
 * - a socket timeout once the session is under way → `timeout`, ambiguous: the server may have
 *   taken the message before going quiet (nodemailer does not say whether DATA had been sent,
 *   so a stall before DATA is treated as ambiguous too — the safe side for a send);
 * - a 5xx to RCPT TO, or to DATA (content refused, message too big) → `permanent`, scope
 *   `message`; a 5xx to MAIL FROM (sender not allowed or not verified) → `permanent`, scope
 *   `provider`; 503 (bad command sequence) → `transient`, as nodemailer classifies it;
 * - an envelope nodemailer refused before sending → `invalid`.
 *
 * `secrets` (the password) are scrubbed from the message and the cause.
 */
export function mapSmtpError(
  error: unknown,
  provider: string,
  secrets: readonly (string | undefined)[],
): ProviderError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as NodemailerErrorLike;
  const code = e.code;
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const command = (e.command ?? '').toUpperCase();
  const make = (
    kind: ProviderErrorKind,
    extra: { scope?: 'message' | 'provider'; retryable?: boolean } = {},
  ) =>
    new ProviderError({
      kind,
      provider,
      operation: 'send',
      cause: error,
      secrets,
      ...(reply !== undefined ? { status: reply } : {}),
      ...extra,
    });

  if (
    code === 'EAUTH' ||
    code === 'ENOAUTH' ||
    code === 'EOAUTH2' ||
    reply === 530 ||
    reply === 534 ||
    reply === 535
  ) {
    return make('auth');
  }
  if (reply === 454) return make('throttled');
  if (code === 'ETIMEDOUT') {
    // only the socket timeout can strike after the message left; connecting and the greeting cannot
    return e.timeoutType === 'SOCKET_TIMEOUT' ? make('timeout') : make('transient');
  }
  if (reply !== undefined && reply >= 400 && reply < 500) return make('transient');
  if (reply === 503) return make('transient');
  if (reply !== undefined && reply >= 500 && reply < 600) {
    return command.startsWith('MAIL')
      ? make('permanent', { scope: 'provider' })
      : make('permanent', { scope: 'message' });
  }
  if (code === 'ECONNECTION' || code === 'ESOCKET' || code === 'EDNS' || code === 'EPROXY')
    return make('transient');
  if (code === 'ETLS') {
    return certificateCodes.has(e.originalCode ?? '')
      ? make('permanent', { scope: 'provider' })
      : make('transient');
  }
  if (code === 'EENVELOPE' || code === 'EMESSAGE' || code === 'EMAXRECIPIENTS') return make('invalid');
  if (code === 'ECONFIG' || code === 'EREQUIRETLS') return make('permanent', { scope: 'provider' });
  return make('transient');
}
