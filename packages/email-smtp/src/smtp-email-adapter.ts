import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { ProviderError } from '@tracks/breaker';
import type { EmailAdapter, EmailLimits, EmailMessage, SendOptions, SendResult } from '@tracks/email';
import { DEFAULT_EMAIL_LIMITS, parseAddress, validateEmailMessage } from '@tracks/email';
import { createTransport } from 'nodemailer';
import { mapSmtpError } from './map-error.js';

/** The mail object the adapter hands to `sendMail` (a subset of nodemailer's `SendMailOptions`). */
export interface SmtpMail {
  from: SmtpAddress;
  to: SmtpAddress[];
  cc?: SmtpAddress[];
  bcc?: SmtpAddress[];
  replyTo?: SmtpAddress;
  subject: string;
  text?: string;
  html?: string;
  headers?: Record<string, string>;
  attachments?: { filename: string; contentType: string; content: Buffer; cid?: string }[];
  messageId?: string;
  signal?: AbortSignal;
}

/** An address as nodemailer takes it: `local@domain`, or with its display name apart. */
export type SmtpAddress = string | { name: string; address: string };

/** What nodemailer's SMTP transports resolve `sendMail` with (the fields the adapter reads). */
export interface SmtpSentInfo {
  messageId?: string;
  accepted?: unknown[];
  rejected?: unknown[];
  response?: string;
}

/**
 * A configured nodemailer transporter (`nodemailer.createTransport({...})`), typed by the two
 * methods the adapter uses. Build it with `maxRequeues: 0` when pooled: otherwise nodemailer
 * re-sends a message whose connection closed, a retry hidden under ours.
 */
export interface SmtpTransporter {
  sendMail(mail: SmtpMail): Promise<SmtpSentInfo>;
  close(): void;
}

/** SMTP credentials. */
export interface SmtpAuth {
  /** The user name. */
  user: string;
  /** The password; it is scrubbed from every error the adapter throws. */
  pass: string;
}

/** Options of {@link SmtpEmailAdapter}: a configured `transporter`, or the settings to build one. */
export interface SmtpEmailAdapterOptions {
  /**
   * A configured nodemailer transporter. When given, the connection settings below are ignored,
   * and `close()` leaves it open: whoever made it closes it (as with a shared SDK client).
   */
  transporter?: SmtpTransporter;
  /**
   * The SMTP host. Mailpit and MailDev listen on `localhost`, port 1025.
   * @default 'localhost'
   */
  host?: string;
  /**
   * The SMTP port.
   * @default 465 when `secure`, 587 otherwise
   */
  port?: number;
  /**
   * TLS from the first byte (SMTPS, usually port 465). When false the connection is upgraded
   * with STARTTLS if the server offers it.
   * @default false
   */
  secure?: boolean;
  /**
   * Refuse to send unless STARTTLS succeeds.
   * @default false
   */
  requireTLS?: boolean;
  /**
   * Never use STARTTLS, even when offered (for development servers with broken TLS).
   * @default false
   */
  ignoreTLS?: boolean;
  /** Node TLS options: `servername`, `ca`, `rejectUnauthorized`, `minVersion`, … */
  tls?: ConnectionOptions;
  /** Credentials; omit for servers without AUTH (Mailpit, MailDev). */
  auth?: SmtpAuth;
  /**
   * Keep connections open and reuse them.
   * @default true
   */
  pool?: boolean;
  /**
   * Connections the pool opens at most.
   * @default 5
   */
  maxConnections?: number;
  /**
   * Messages sent over one pooled connection before it is replaced.
   * @default 100
   */
  maxMessages?: number;
  /**
   * How long opening the TCP (and TLS) connection may take, in ms.
   * @default 10000
   */
  connectionTimeoutMs?: number;
  /**
   * How long to wait for the server's greeting once connected, in ms. A timeout here is
   * `transient`: nothing was sent. Capped at 80 % of `socketTimeoutMs`, so that the greeting
   * timeout, not the idle socket's, reports a server that never greets.
   * @default 10000
   */
  greetingTimeoutMs?: number;
  /**
   * How long the socket may stay silent during a session, in ms. A timeout here is `timeout`,
   * ambiguous: the server may have accepted the message.
   * @default 30000
   */
  socketTimeoutMs?: number;
  /**
   * The name the client gives in EHLO.
   * @default the machine's host name (nodemailer's default)
   */
  clientName?: string;
  /**
   * The domain of `Message-ID`s derived from `idempotencyKey`.
   * @default the domain of the message's `from`
   */
  messageIdDomain?: string;
  /**
   * The provider name, which names the breaker (`email:<provider>`). Give two SMTP relays
   * different names to fail over between them.
   * @default 'smtp'
   */
  provider?: string;
  /**
   * What one message may hold. Set them to your relay's limits.
   * @default 50 recipients, 10 MiB
   */
  limits?: Partial<EmailLimits>;
}

/**
 * An {@link EmailAdapter} for any SMTP server, over nodemailer: pooled connections by default,
 * TLS and AUTH options, replies and errors mapped onto the tracks taxonomy (see
 * {@link mapSmtpError}). In development, point it at Mailpit or MailDev:
 * `new SmtpEmailAdapter({ host: 'localhost', port: 1025 })`.
 *
 * It sends each message once: no retries, no breaker (nodemailer's own re-queueing is turned
 * off) — compose those with `withResilience` from `@tracks/email`. An `idempotencyKey` becomes
 * the `Message-ID` (`<sha256(key)@domain>`), so a duplicate delivered after an ambiguous
 * timeout carries the same id as the first.
 */
export class SmtpEmailAdapter implements EmailAdapter {
  /** The provider name. */
  readonly provider: string;
  /** What one message may hold. */
  readonly limits: EmailLimits;
  readonly #transporter: SmtpTransporter;
  readonly #ownsTransporter: boolean;
  readonly #secrets: readonly string[];
  readonly #messageIdDomain: string | undefined;
  #closed = false;

  constructor(options: SmtpEmailAdapterOptions = {}) {
    this.provider = options.provider ?? 'smtp';
    this.limits = { ...DEFAULT_EMAIL_LIMITS, ...options.limits };
    this.#messageIdDomain = options.messageIdDomain;
    const auth = options.auth;
    this.#secrets = auth
      ? [
          auth.pass,
          // the forms the password takes on the wire (AUTH PLAIN and LOGIN), should a server echo them
          Buffer.from(`\u0000${auth.user}\u0000${auth.pass}`).toString('base64'),
          Buffer.from(auth.pass).toString('base64'),
        ]
      : [];
    this.#ownsTransporter = options.transporter === undefined;
    this.#transporter = options.transporter ?? buildTransporter(options);
  }

  /**
   * Validates against {@link limits}, then sends one SMTP transaction. Rejects with a
   * `ProviderError` (see {@link mapSmtpError}), an `InvalidMessageError`, or the signal's reason.
   */
  async send(msg: EmailMessage, options: SendOptions = {}): Promise<SendResult> {
    validateEmailMessage(msg, { limits: this.limits, provider: this.provider });
    const { signal } = options;
    signal?.throwIfAborted();
    if (this.#closed) throw closedError(this.provider);
    const mail = this.#toMail(msg, signal);
    let info: SmtpSentInfo;
    try {
      info = await this.#transporter.sendMail(mail);
    } catch (error) {
      // nodemailer's EABORT wraps the caller's reason; give the caller back their own
      if (signal?.aborted) throw signal.reason;
      throw mapSmtpError(error, this.provider, this.#secrets);
    }
    const messageId = info.messageId;
    if (typeof messageId !== 'string' || messageId.length === 0) {
      // the server took the message but it cannot be tracked; sending it again may duplicate it
      throw new ProviderError({
        kind: 'permanent',
        scope: 'provider',
        retryable: false,
        provider: this.provider,
        operation: 'send',
        message: `${this.provider} send returned no Message-ID; not retried (the message may have been delivered)`,
      });
    }
    const rejected = (info.rejected ?? []).map(String).filter((r) => r.length > 0);
    return rejected.length > 0
      ? { provider: this.provider, messageId, rejected }
      : { provider: this.provider, messageId };
  }

  /**
   * Closes the pool the adapter built (idle connections at once, busy ones after their
   * message); a transporter passed in is left open. Later sends are refused.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsTransporter) this.#transporter.close();
  }

  #toMail(msg: EmailMessage, signal: AbortSignal | undefined): SmtpMail {
    const mail: SmtpMail = { from: toAddress(msg.from), to: msg.to.map(toAddress), subject: msg.subject };
    if (msg.cc && msg.cc.length > 0) mail.cc = msg.cc.map(toAddress);
    if (msg.bcc && msg.bcc.length > 0) mail.bcc = msg.bcc.map(toAddress);
    if (msg.replyTo !== undefined) mail.replyTo = toAddress(msg.replyTo);
    if (msg.text !== undefined && msg.text.length > 0) mail.text = msg.text;
    if (msg.html !== undefined && msg.html.length > 0) mail.html = msg.html;
    if (msg.headers !== undefined) {
      const headers = { ...msg.headers };
      // an explicit Message-ID header is the caller's choice and wins over the derived one
      for (const name of Object.keys(headers)) {
        if (name.toLowerCase() === 'message-id') {
          mail.messageId = headers[name] as string;
          delete headers[name];
        }
      }
      mail.headers = headers;
    }
    if (mail.messageId === undefined && msg.idempotencyKey !== undefined) {
      mail.messageId = this.#messageIdFor(msg.idempotencyKey, msg.from);
    }
    if (msg.attachments !== undefined && msg.attachments.length > 0) {
      mail.attachments = msg.attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        content:
          typeof a.content === 'string'
            ? Buffer.from(a.content, 'utf8')
            : Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength),
        ...(a.contentId !== undefined ? { cid: a.contentId } : {}),
      }));
    }
    if (signal !== undefined) mail.signal = signal;
    return mail;
  }

  #messageIdFor(key: string, from: string): string {
    const parsed = parseAddress(from);
    const domain = this.#messageIdDomain ?? (parsed.ok ? parsed.value.asciiDomain : 'tracks.invalid');
    const hash = createHash('sha256').update(key).digest('hex').slice(0, 40);
    return `<${hash}@${domain}>`;
  }
}

// Validation has parsed every address already (the parse is cached). Sending the Punycode form
// of an internationalised domain keeps the message deliverable through relays without SMTPUTF8;
// the display name travels apart, so nodemailer encodes it (RFC 2047) rather than re-parsing it.
function toAddress(mailbox: string): SmtpAddress {
  const parsed = parseAddress(mailbox);
  if (!parsed.ok) return mailbox;
  const { name, asciiAddress } = parsed.value;
  return name === undefined ? asciiAddress : { name, address: asciiAddress };
}

function buildTransporter(options: SmtpEmailAdapterOptions): SmtpTransporter {
  const pool = options.pool ?? true;
  const secure = options.secure ?? false;
  const socketTimeout = options.socketTimeoutMs ?? 30_000;
  const settings = {
    host: options.host ?? 'localhost',
    port: options.port ?? (secure ? 465 : 587),
    secure,
    requireTLS: options.requireTLS ?? false,
    ignoreTLS: options.ignoreTLS ?? false,
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    // The socket's idle timer runs while the greeting is awaited too; if it fired first, a server
    // that never greeted (nothing sent) would read as an ambiguous timeout. Keep it the later one.
    greetingTimeout: Math.max(
      1,
      Math.min(options.greetingTimeoutMs ?? 10_000, Math.floor(socketTimeout * 0.8)),
    ),
    socketTimeout,
    // nodemailer's debug output holds the AUTH exchange: never log it
    logger: false,
    debug: false,
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    ...(options.auth !== undefined ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
    ...(options.clientName !== undefined ? { name: options.clientName } : {}),
  };
  if (pool) {
    return createTransport({
      ...settings,
      pool: true,
      maxConnections: options.maxConnections ?? 5,
      maxMessages: options.maxMessages ?? 100,
      // the adapter sends once; retrying is the policy's job, and a requeue after DATA duplicates
      maxRequeues: 0,
    }) as unknown as SmtpTransporter;
  }
  return createTransport(settings) as unknown as SmtpTransporter;
}

function closedError(provider: string): ProviderError {
  return new ProviderError({
    kind: 'permanent',
    scope: 'provider',
    retryable: false,
    provider,
    operation: 'send',
    message: `${provider} send refused: the adapter is closed`,
  });
}
