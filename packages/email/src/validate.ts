import type { AddressProblem } from './address.js';
import { parseAddress } from './address.js';
import { InvalidMessageError } from './errors.js';
import type { EmailLimits, EmailMessage } from './types.js';
import { DEFAULT_EMAIL_LIMITS } from './types.js';

/** Options of {@link validateEmailMessage}. */
export interface ValidateOptions {
  /**
   * The active adapter's limits (pass `adapter.limits`); missing fields use the defaults.
   * @default DEFAULT_EMAIL_LIMITS (50 recipients, 10 MiB)
   */
  limits?: Partial<EmailLimits>;
  /**
   * The provider named in the error.
   * @default 'email'
   */
  provider?: string;
}

/**
 * Headers the message's own fields set. Overriding them through `headers` would let a caller
 * (or whoever fills the caller's fields) redirect or reshape the message, so they are refused.
 * The list, plus Reply-To (a field of its own) and Content-Transfer-Encoding (which the
 * MIME builder must own as much as Content-Type).
 */
export const PROTECTED_HEADERS: readonly string[] = Object.freeze([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'reply-to',
  'content-type',
  'content-transfer-encoding',
  'mime-version',
]);

const protectedHeaders = new Set(PROTECTED_HEADERS);
const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
// per-part MIME overhead (boundary, part headers) and the top-level header block, in bytes:
// a deliberate overestimate, so a message we accept is not refused by the provider
const PART_OVERHEAD_BYTES = 256;
const HEADER_BLOCK_BYTES = 1024;

const problems: Record<AddressProblem, string> = {
  'not-a-mailbox': 'is not one RFC 5322 mailbox (an address, optionally with a display name)',
  group: 'is a group; give each address on its own',
  'quoted-local-part': 'has a quoted local part, which providers refuse',
  'non-ascii-local-part':
    'has a non-ASCII local part, which needs SMTPUTF8 end to end and is not supported (Unicode domains and display names are)',
  'domain-literal': 'has an IP address for a domain, which providers refuse',
  'bad-domain': 'has a domain that is not a valid host name',
  'too-long': 'is longer than SMTP allows (64 characters before the @, 254 in all)',
  'line-break': 'contains CR or LF (header injection)',
};

/**
 * Checks a message before anything is sent and throws {@link InvalidMessageError} (a
 * `ProviderError` of kind `invalid`, naming `field`) at the first problem:
 *
 * - `from`, `replyTo` and every `to`/`cc`/`bcc` entry is one mailbox that {@link parseAddress} accepts;
 * - at least one recipient, and at most `limits.maxRecipients` in To + Cc + Bcc together;
 * - CR or LF in any header name or value, the subject, an address, a filename, a content type,
 *   a content id, a tag or the idempotency key is refused (header injection);
 * - header names are RFC 5322 field names (printable ASCII, no colon, no space), not one of
 *   {@link PROTECTED_HEADERS}, and not given twice;
 * - `html` or `text` is a non-empty string;
 * - attachments have a filename without path separators, a `type/subtype` content type and content;
 * - the estimated encoded size (headers, bodies, base64 attachments) is at most `limits.maxMessageBytes`.
 *
 * Cheap enough to run on every send: adapters call it with their own limits, and
 * `withResilience` calls it before the policy, so bad input never reaches a breaker or a retry.
 */
export function validateEmailMessage(msg: EmailMessage, options: ValidateOptions = {}): void {
  const provider = options.provider ?? 'email';
  const limits = { ...DEFAULT_EMAIL_LIMITS, ...options.limits };
  const fail: Fail = (field, reason) => {
    throw new InvalidMessageError({ field, reason, provider });
  };
  if (typeof msg !== 'object' || msg === null) fail('message', 'is not an object');

  checkMailbox(msg.from, 'from', fail);
  if (msg.replyTo !== undefined) checkMailbox(msg.replyTo, 'replyTo', fail);

  let recipients = 0;
  for (const field of ['to', 'cc', 'bcc'] as const) {
    const list = msg[field];
    if (list === undefined && field !== 'to') continue;
    if (!Array.isArray(list)) fail(field, 'is not an array of addresses');
    (list as unknown[]).forEach((entry, i) => {
      checkMailbox(entry, `${field}[${i}]`, fail);
    });
    recipients += (list as unknown[]).length;
  }
  if (recipients === 0) fail('to', 'is empty: a message needs at least one recipient in to, cc or bcc');
  if (recipients > limits.maxRecipients) {
    fail(
      'to',
      `and cc and bcc hold ${recipients} recipients; ${provider} takes at most ${limits.maxRecipients}`,
    );
  }

  if (typeof msg.subject !== 'string') fail('subject', 'is not a string');
  if (hasLineBreak(msg.subject)) fail('subject', problems['line-break']);

  const hasHtml = typeof msg.html === 'string' && msg.html.length > 0;
  const hasText = typeof msg.text === 'string' && msg.text.length > 0;
  if (msg.html !== undefined && typeof msg.html !== 'string') fail('html', 'is not a string');
  if (msg.text !== undefined && typeof msg.text !== 'string') fail('text', 'is not a string');
  if (!hasHtml && !hasText) fail('text', 'and html are both empty: a message needs a body');

  let headerBytes = 0;
  if (msg.headers !== undefined) {
    if (typeof msg.headers !== 'object' || msg.headers === null) fail('headers', 'is not an object');
    const seen = new Set<string>();
    for (const [name, value] of Object.entries(msg.headers)) {
      const field = `headers.${printable(name)}`;
      if (!isFieldName(name)) fail(field, 'is not a valid header name (printable ASCII, no colon or space)');
      const lower = name.toLowerCase();
      if (protectedHeaders.has(lower)) fail(field, 'may not be set through headers: the message sets it');
      if (seen.has(lower)) fail(field, 'is given twice');
      seen.add(lower);
      if (typeof value !== 'string') fail(field, 'is not a string');
      if (hasLineBreak(value) || value.includes('\0')) fail(field, problems['line-break']);
      headerBytes += name.length + utf8Length(value) * 2 + 4;
    }
  }

  if (msg.tags !== undefined) {
    if (typeof msg.tags !== 'object' || msg.tags === null) fail('tags', 'is not an object');
    for (const [name, value] of Object.entries(msg.tags)) {
      const field = `tags.${printable(name)}`;
      if (name.length === 0 || hasLineBreak(name)) fail(field, 'is not a valid tag name');
      if (typeof value !== 'string' || hasLineBreak(value)) fail(field, 'is not a string without CR or LF');
    }
  }

  if (msg.idempotencyKey !== undefined) {
    const key = msg.idempotencyKey;
    if (
      typeof key !== 'string' ||
      key.length === 0 ||
      key.length > MAX_IDEMPOTENCY_KEY_LENGTH ||
      !isVisibleAscii(key)
    ) {
      fail('idempotencyKey', `is not 1-${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters`);
    }
  }

  let bytes = HEADER_BLOCK_BYTES + utf8Length(msg.subject) * 2 + headerBytes;
  if (hasText) bytes += PART_OVERHEAD_BYTES + bodyBytes(msg.text as string);
  if (hasHtml) bytes += PART_OVERHEAD_BYTES + bodyBytes(msg.html as string);

  if (msg.attachments !== undefined) {
    if (!Array.isArray(msg.attachments)) fail('attachments', 'is not an array');
    for (const [i, attachment] of msg.attachments.entries()) {
      const at = `attachments[${i}]`;
      if (typeof attachment !== 'object' || attachment === null) fail(at, 'is not an object');
      const { filename, contentType, content, contentId } = attachment;
      if (typeof filename !== 'string' || filename.trim().length === 0) fail(`${at}.filename`, 'is empty');
      if (hasLineBreak(filename) || filename.includes('\0')) fail(`${at}.filename`, problems['line-break']);
      if (filename.includes('/') || filename.includes('\\'))
        fail(`${at}.filename`, 'contains a path separator');
      if (typeof contentType !== 'string' || !isMimeType(contentType)) {
        fail(`${at}.contentType`, 'is not a MIME type (type/subtype)');
      }
      if (contentId !== undefined && (typeof contentId !== 'string' || !isContentId(contentId))) {
        fail(`${at}.contentId`, 'is not visible ASCII without angle brackets');
      }
      if (!(content instanceof Uint8Array) && typeof content !== 'string') {
        fail(`${at}.content`, 'is neither a Uint8Array nor a string');
      }
      const size = typeof content === 'string' ? utf8Length(content) : content.byteLength;
      bytes += PART_OVERHEAD_BYTES + utf8Length(filename) * 2 + base64Length(size);
      if (bytes > limits.maxMessageBytes) {
        fail(
          `${at}.content`,
          `makes the encoded message larger than ${provider}'s ${limits.maxMessageBytes} bytes`,
        );
      }
    }
  }
  if (bytes > limits.maxMessageBytes) {
    fail(
      hasHtml ? 'html' : 'text',
      `makes the encoded message larger than ${provider}'s ${limits.maxMessageBytes} bytes`,
    );
  }
}

/**
 * The estimated size in bytes of a message once MIME-encoded: headers, bodies (base64 where
 * they are not ASCII) and base64 attachments with their line breaks. Errs on the large side.
 */
export function estimateEncodedSize(msg: EmailMessage): number {
  let bytes = HEADER_BLOCK_BYTES + utf8Length(msg.subject ?? '') * 2;
  for (const [name, value] of Object.entries(msg.headers ?? {}))
    bytes += name.length + utf8Length(value) * 2 + 4;
  if (msg.text) bytes += PART_OVERHEAD_BYTES + bodyBytes(msg.text);
  if (msg.html) bytes += PART_OVERHEAD_BYTES + bodyBytes(msg.html);
  for (const a of msg.attachments ?? []) {
    const size = typeof a.content === 'string' ? utf8Length(a.content) : a.content.byteLength;
    bytes += PART_OVERHEAD_BYTES + utf8Length(a.filename) * 2 + base64Length(size);
  }
  return bytes;
}

type Fail = (field: string, reason: string) => never;

function checkMailbox(value: unknown, field: string, fail: Fail): void {
  if (typeof value !== 'string') fail(field, 'is not a string');
  const result = parseAddress(value as string);
  if (!result.ok) fail(field, problems[result.problem]);
}

function hasLineBreak(text: string): boolean {
  return text.includes('\r') || text.includes('\n');
}

// RFC 5322 §3.6.8: field-name = 1*ftext, ftext = %d33-57 / %d59-126
function isFieldName(name: string): boolean {
  if (name.length === 0 || name.length > 76) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58) return false;
  }
  return true;
}

function isVisibleAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

function isContentId(id: string): boolean {
  return id.length > 0 && id.length <= 250 && isVisibleAscii(id) && !id.includes('<') && !id.includes('>');
}

// RFC 2045 token characters on both sides of one slash; parameters are not accepted here
function isMimeType(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash <= 0 || slash === value.length - 1 || value.indexOf('/', slash + 1) !== -1) return false;
  return isToken(value.slice(0, slash)) && isToken(value.slice(slash + 1));
}

const tspecials = '()<>@,;:\\"/[]?=';
function isToken(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 33 || c > 126 || tspecials.includes(text[i] as string)) return false;
  }
  return text.length > 0;
}

function printable(name: string): string {
  const cleaned = name.replace(/[\r\n]/g, '\\n');
  return cleaned.length > 40 ? `${cleaned.slice(0, 40)}…` : cleaned;
}

const encoder = new TextEncoder();
function utf8Length(text: string): number {
  // ASCII is the common case and needs no encoding pass
  return isAsciiText(text) ? text.length : encoder.encode(text).byteLength;
}

function isAsciiText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}

function bodyBytes(text: string): number {
  return isAsciiText(text) ? text.length + Math.ceil(text.length / 76) * 3 : base64Length(utf8Length(text));
}

// base64 with a CRLF every 76 characters, as MIME writes it
function base64Length(bytes: number): number {
  const chars = Math.ceil(bytes / 3) * 4;
  return chars + Math.ceil(chars / 76) * 2;
}
