import type { MailDataRequired } from '@sendgrid/mail';
import { MailService } from '@sendgrid/mail';
import { ProviderError } from '@tracks/breaker';
import type { EmailAdapter, EmailLimits, EmailMessage, SendOptions, SendResult } from '@tracks/email';
import { parseAddress, validateEmailMessage } from '@tracks/email';
import { mapSendGridError } from './map-error.js';

/** Options of {@link SendGridEmailAdapter}. */
export interface SendGridEmailAdapterOptions {
  /**
   * The API key (`SG.…`). Required unless `client` is given; with a `client`, pass it anyway so
   * that it is scrubbed from every error message.
   */
  apiKey?: string;
  /**
   * A `MailService` you configured yourself (`new MailService()`, then `setApiKey`). The adapter
   * uses it as is and ignores `baseUrl`, `dataResidency` and `requestTimeoutMs`. Never pass the
   * `@sendgrid/mail` default export: it is a process-wide singleton.
   */
  client?: MailService;
  /**
   * Another API base URL, such as a local stand-in (`http://127.0.0.1:3030/`).
   * @default 'https://api.sendgrid.com/' (or the EU host with `dataResidency: 'eu'`)
   */
  baseUrl?: string;
  /**
   * Where the account's data lives: `'eu'` sends through `api.eu.sendgrid.com`.
   * @default 'global'
   */
  dataResidency?: 'global' | 'eu';
  /**
   * How long the caller waits for SendGrid's answer. Past it the send fails with a `timeout`
   * error (ambiguous: SendGrid may have accepted the message). The SDK takes no AbortSignal, so
   * the request is not cancelled on the wire: it ends in the background.
   * @default 10000
   */
  requestTimeoutMs?: number;
  /**
   * The custom arg that carries `msg.idempotencyKey` (custom args come back in SendGrid's event
   * webhook, so duplicates can be spotted there).
   * @default 'idempotency_key'
   */
  idempotencyArg?: string;
  /**
   * What one message may hold. SendGrid allows 1000 recipients (To + Cc + Bcc) per request and
   * 30 MB in all.
   * @default { maxRecipients: 1000, maxMessageBytes: 31457280 }
   */
  limits?: Partial<EmailLimits>;
  /**
   * The clock for `Retry-After` dates and `X-RateLimit-Reset`, in ms since the epoch.
   * @default Date.now
   */
  now?: () => number;
}

/** SendGrid's own limits: 1000 recipients per request, 30 MB per message. */
export const SENDGRID_LIMITS: EmailLimits = Object.freeze({
  maxRecipients: 1000,
  maxMessageBytes: 30 * 1024 * 1024,
});

const OPERATION = 'send';

// The part of `MailService` the adapter uses that its typings leave out: the client, whose
// default request carries the base URL.
interface MailServiceWithClient {
  client: { setDefaultRequest(key: 'baseUrl', value: string): unknown };
}

/**
 * An {@link EmailAdapter} for SendGrid's v3 Mail Send API through `@sendgrid/mail`, on its own
 * `MailService` instance. Every failure is a `ProviderError` with the API key scrubbed; it never
 * retries and holds no breaker (compose those with `withResilience`).
 *
 * The SDK cannot be aborted: an aborted signal or the timeout ends the caller's wait, while a
 * request already on the wire runs to its end in the background (and may deliver the message).
 */
export class SendGridEmailAdapter implements EmailAdapter {
  /** `sendgrid`: the breaker guarding this adapter is `email:sendgrid`. */
  readonly provider: string = 'sendgrid';
  /** What one message may hold at SendGrid. */
  readonly limits: EmailLimits;
  readonly #mail: MailService;
  readonly #idempotencyArg: string;
  readonly #now: () => number;
  readonly #secrets: (string | undefined)[];

  constructor(options: SendGridEmailAdapterOptions) {
    this.limits = Object.freeze({ ...SENDGRID_LIMITS, ...options.limits });
    this.#idempotencyArg = options.idempotencyArg ?? 'idempotency_key';
    this.#now = options.now ?? Date.now;
    this.#secrets = [options.apiKey];
    if (options.client !== undefined) {
      this.#mail = options.client;
      return;
    }
    if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) {
      throw new TypeError('SendGridEmailAdapter needs an apiKey (or a configured client)');
    }
    const mail = new MailService();
    // order matters: setApiKey resets the base URL to the region's host
    mail.setApiKey(options.apiKey);
    const client = (mail as unknown as MailServiceWithClient).client;
    if (options.dataResidency === 'eu') client.setDefaultRequest('baseUrl', 'https://api.eu.sendgrid.com/');
    if (options.baseUrl !== undefined) client.setDefaultRequest('baseUrl', options.baseUrl);
    mail.setTimeout(options.requestTimeoutMs ?? 10_000);
    this.#mail = mail;
  }

  /**
   * Sends one message with one request to `/v3/mail/send`. Rejects with an `InvalidMessageError`
   * before the wire for bad input, with `signal.reason` when aborted (the request may still
   * complete in the background), and with a `ProviderError` otherwise.
   */
  async send(msg: EmailMessage, options: SendOptions = {}): Promise<SendResult> {
    validateEmailMessage(msg, { limits: this.limits, provider: this.provider });
    const { signal } = options;
    signal?.throwIfAborted();
    let messageId: string | undefined;
    try {
      const [response] = await untilAborted(this.#mail.send(this.#data(msg)), signal);
      const header = (response.headers as Record<string, unknown> | undefined)?.['x-message-id'];
      messageId = typeof header === 'string' ? header : undefined;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw mapSendGridError(error, { operation: OPERATION, now: this.#now, secrets: this.#secrets });
    }
    if (messageId === undefined || messageId.length === 0) {
      throw new ProviderError({
        kind: 'permanent',
        scope: 'provider',
        provider: this.provider,
        operation: OPERATION,
        message:
          'sendgrid send was accepted without an x-message-id: the message may go out, but it cannot be tracked; not retried',
      });
    }
    return { provider: this.provider, messageId };
  }

  /** Nothing to release: the SDK opens no connection it keeps between sends. */
  async close(): Promise<void> {}

  #data(msg: EmailMessage): MailDataRequired {
    const customArgs: Record<string, string> = { ...msg.tags };
    if (msg.idempotencyKey !== undefined) customArgs[this.#idempotencyArg] = msg.idempotencyKey;
    const content = [
      ...(msg.text === undefined ? [] : [{ type: 'text/plain', value: msg.text }]),
      ...(msg.html === undefined ? [] : [{ type: 'text/html', value: msg.html }]),
    ];
    return {
      from: mailbox(msg.from),
      to: msg.to.map(mailbox),
      ...(msg.cc === undefined || msg.cc.length === 0 ? {} : { cc: msg.cc.map(mailbox) }),
      ...(msg.bcc === undefined || msg.bcc.length === 0 ? {} : { bcc: msg.bcc.map(mailbox) }),
      ...(msg.replyTo === undefined ? {} : { replyTo: mailbox(msg.replyTo) }),
      subject: msg.subject,
      content,
      ...(msg.headers === undefined ? {} : { headers: { ...msg.headers } }),
      ...(msg.attachments === undefined || msg.attachments.length === 0
        ? {}
        : {
            attachments: msg.attachments.map((a) => ({
              filename: a.filename,
              type: a.contentType,
              content: toBase64(a.content),
              disposition: a.contentId === undefined ? 'attachment' : 'inline',
              // the wire name: the SDK passes attachment objects through untouched (its key
              // conversion skips arrays), whatever its typings say about `contentId`
              ...(a.contentId === undefined ? {} : { content_id: a.contentId }),
            })),
          }),
      ...(Object.keys(customArgs).length === 0 ? {} : { customArgs }),
    } as MailDataRequired;
  }
}

// Addresses go as { email, name } objects: the SDK's own string splitting knows nothing of
// RFC 5322 quoting, and SendGrid wants the domain in its ASCII form
function mailbox(input: string): { email: string; name?: string } {
  const parsed = parseAddress(input);
  if (!parsed.ok) return { email: input };
  const { asciiAddress, name } = parsed.value;
  return name === undefined ? { email: asciiAddress } : { email: asciiAddress, name };
}

function toBase64(content: Uint8Array | string): string {
  return typeof content === 'string'
    ? Buffer.from(content, 'utf8').toString('base64')
    : Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('base64');
}

// Ends the caller's wait when the signal aborts. The SDK cannot cancel its request, so the
// promise it returned is left to settle on its own; its rejection is observed so that it does
// not surface as an unhandled rejection.
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
