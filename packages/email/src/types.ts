/** One file attached to an {@link EmailMessage}. */
export interface Attachment {
  /** The file name the recipient sees. No CR, LF or path separators. */
  filename: string;
  /** A MIME type such as `application/pdf`. */
  contentType: string;
  /** The bytes; a string is sent as its UTF-8 encoding. */
  content: Uint8Array | string;
  /** Makes the attachment inline, referenced from the html as `cid:<contentId>` (no angle brackets). */
  contentId?: string;
}

/**
 * A message to send through any {@link EmailAdapter}. Addresses are RFC 5322 mailboxes, with
 * or without a display name: `ann@example.com` or `Ann Example <ann@example.com>`.
 * {@link validateEmailMessage} says exactly what is accepted.
 */
export interface EmailMessage {
  /** Primary recipients. To, Cc and Bcc together must hold at least one address. */
  to: string[];
  /** Copy recipients. */
  cc?: string[];
  /** Blind-copy recipients: delivered to, never shown in the headers. */
  bcc?: string[];
  /** The sender, one mailbox. */
  from: string;
  /** Where replies go, one mailbox. */
  replyTo?: string;
  /** The subject line; non-ASCII is fine, CR and LF are not. */
  subject: string;
  /** The HTML body. `html`, `text` or both is required. */
  html?: string;
  /** The plain-text body. `html`, `text` or both is required. */
  text?: string;
  /**
   * Extra headers. Names are RFC 5322 field names; From, To, Cc, Bcc, Subject, Reply-To,
   * Content-Type, Content-Transfer-Encoding and MIME-Version are set from the message and may
   * not be overridden here.
   */
  headers?: Record<string, string>;
  /** Files to attach. Their encoded size (base64) counts toward the adapter's `maxMessageBytes`. */
  attachments?: Attachment[];
  /** Provider tags or categories (SES message tags, SendGrid custom args), for analytics. */
  tags?: Record<string, string>;
  /**
   * A key the caller keeps for this logical message (visible ASCII, at most 256 characters).
   * No provider deduplicates on it: adapters carry it where the provider lets it travel (the
   * SMTP `Message-ID`, a SendGrid custom arg, an SES header) so that duplicates can be spotted
   * downstream, and the outbox deduplicates its own jobs with it. Delivery is at-least-once.
   */
  idempotencyKey?: string;
}

/** What a successful send returns. */
export interface SendResult {
  /** The adapter's provider name that sent the message (`ses`, `smtp`, …): with failover, the one that succeeded. */
  provider: string;
  /** The provider's id for the message (SES MessageId, SendGrid `x-message-id`, the SMTP `Message-ID`). */
  messageId: string;
  /** Recipients the provider refused while accepting the rest (SMTP partial rejection). Absent when none. */
  rejected?: string[];
}

/** The limits a provider puts on one message; validation uses the active adapter's. */
export interface EmailLimits {
  /**
   * The most recipients (To + Cc + Bcc) in one message.
   * @default 50 (SES v1's limit)
   */
  readonly maxRecipients: number;
  /**
   * The most bytes of one encoded message, headers and base64 attachments included.
   * @default 10485760 (10 MiB, SES v1's limit)
   */
  readonly maxMessageBytes: number;
}

/** Options of {@link EmailAdapter.send}. */
export interface SendOptions {
  /**
   * Aborts the send: the promise rejects with `signal.reason`. A message already handed to the
   * provider may still be delivered.
   */
  signal?: AbortSignal;
}

/**
 * One email provider, translated. An adapter maps its SDK's request, response and errors onto
 * this contract and nothing else: it never retries and holds no breaker (compose those with
 * `withResilience`). Every error it throws is a `ProviderError` from `@tracks/breaker`, except
 * an abort, which rejects with the signal's reason.
 */
export interface EmailAdapter {
  /** The provider's short name, which names its breaker `email:<provider>`: `ses`, `sendgrid`, `smtp`, `memory`. */
  readonly provider: string;
  /**
   * What one message may hold at this provider. Optional, so an adapter written to the issue's
   * interface (`provider`, `send`, `close?`) fits; one that declares none gets SES v1's limits.
   * @default DEFAULT_EMAIL_LIMITS (50 recipients, 10 MiB)
   */
  readonly limits?: EmailLimits | undefined;
  /**
   * Sends one message, making exactly one request on the wire. Adapters validate with
   * {@link validateEmailMessage} (their own limits) before touching the wire.
   */
  send(msg: EmailMessage, options?: SendOptions): Promise<SendResult>;
  /** Releases connections and timers. After it resolves, the adapter holds nothing open. */
  close?(): Promise<void>;
}

/** The limits used when an adapter declares none: SES v1's 50 recipients and 10 MiB. */
export const DEFAULT_EMAIL_LIMITS: EmailLimits = Object.freeze({
  maxRecipients: 50,
  maxMessageBytes: 10 * 1024 * 1024,
});
