import type { EmailMessage } from '@tracks/email';
import { parseAddress } from '@tracks/email';
import MailComposer from 'nodemailer/lib/mail-composer';
import { encodeWord } from 'nodemailer/lib/mime-funcs';

/**
 * Formats one mailbox the way SES's SendEmail wants it: the domain in its IDNA form, a
 * non-ASCII display name as a MIME encoded-word (SES does not encode names itself), an ASCII
 * name with specials quoted.
 */
export function formatSesAddress(input: string): string {
  const parsed = parseAddress(input);
  // validation ran before this: an unparseable address is passed as is and SES names it
  if (!parsed.ok) return input;
  const { name, asciiAddress } = parsed.value;
  if (name === undefined) return asciiAddress;
  return `${formatDisplayName(name)} <${asciiAddress}>`;
}

/** The bare `local@ascii-domain` of a mailbox, for SendRawEmail's `Destinations`. */
export function bareSesAddress(input: string): string {
  const parsed = parseAddress(input);
  return parsed.ok ? parsed.value.asciiAddress : input;
}

function formatDisplayName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: non-ASCII is exactly what is being detected
  if (/[^\x00-\x7f]/.test(name)) return encodeWord(name, 'B');
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name)) return name;
  return `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

/** Options of {@link buildRawMessage}. */
export interface RawMessageOptions {
  /** The header that carries `msg.idempotencyKey`. */
  idempotencyHeader: string;
}

/**
 * Builds the RFC 5322 message for SendRawEmail with nodemailer's MailComposer: multipart
 * bodies, attachments (inline when they have a content id), custom headers, encoded-word
 * subjects and names. Bcc is left out of the headers; SendRawEmail's `Destinations` carries it.
 */
export async function buildRawMessage(msg: EmailMessage, options: RawMessageOptions): Promise<Buffer> {
  const headers: Record<string, string> = { ...msg.headers };
  if (msg.idempotencyKey !== undefined) headers[options.idempotencyHeader] = msg.idempotencyKey;
  const composer = new MailComposer({
    from: msg.from,
    to: msg.to,
    ...(msg.cc === undefined ? {} : { cc: msg.cc }),
    ...(msg.bcc === undefined ? {} : { bcc: msg.bcc }),
    ...(msg.replyTo === undefined ? {} : { replyTo: msg.replyTo }),
    subject: msg.subject,
    ...(msg.text === undefined ? {} : { text: msg.text }),
    ...(msg.html === undefined ? {} : { html: msg.html }),
    headers,
    attachments: (msg.attachments ?? []).map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: toBuffer(a.content),
      ...(a.contentId === undefined ? {} : { cid: a.contentId }),
    })),
    // content is always bytes here: a string must never be read as a path or fetched as a URL
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

function toBuffer(content: Uint8Array | string): Buffer {
  return typeof content === 'string'
    ? Buffer.from(content, 'utf8')
    : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}
