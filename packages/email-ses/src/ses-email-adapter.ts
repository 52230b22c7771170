import {
  SESClient,
  type SESClientConfig,
  SendEmailCommand,
  type SendEmailCommandInput,
  SendRawEmailCommand,
  type SendRawEmailCommandInput,
} from '@aws-sdk/client-ses';
import { ProviderError } from '@tracks/breaker';
import type { EmailAdapter, EmailLimits, EmailMessage, SendOptions, SendResult } from '@tracks/email';
import { DEFAULT_EMAIL_LIMITS, InvalidMessageError, validateEmailMessage } from '@tracks/email';
import { mapSesError } from './map-error.js';
import { bareSesAddress, buildRawMessage, formatSesAddress } from './mime.js';

/** Options of {@link SesEmailAdapter}. */
export interface SesEmailAdapterOptions {
  /**
   * A configured client. When given, `region`, `credentials`, `endpoint` and the timeouts
   * below are ignored, and the client is yours to destroy. Build it with `maxAttempts: 1`
   * (the SDK's retries would multiply with the policy's) and `requestHandler: { requestTimeout,
   * connectionTimeout, throwOnRequestTimeout: true }`, as the adapter does for its own.
   */
  client?: SESClient;
  /**
   * The AWS region of the SES endpoint.
   * @default the SDK's resolution (`AWS_REGION`, the shared config file)
   */
  region?: string;
  /**
   * Credentials or a credential provider.
   * @default the SDK's default provider chain
   */
  credentials?: SESClientConfig['credentials'];
  /**
   * Another endpoint, such as a local SES stand-in (`http://127.0.0.1:4566`).
   * @default the regional SES endpoint
   */
  endpoint?: string;
  /**
   * How long one request may take, from sending it to the last byte of the answer. Past it the
   * send fails with a `timeout` error (ambiguous: SES may have accepted the message).
   * @default 10000
   */
  requestTimeoutMs?: number;
  /**
   * How long connecting may take. Past it the send fails with a `transient` error (nothing was sent).
   * @default 3000
   */
  connectionTimeoutMs?: number;
  /**
   * An SES configuration set to send with (event publishing, dedicated IPs).
   * @default none
   */
  configurationSetName?: string;
  /**
   * The header that carries `msg.idempotencyKey`. A message with a key goes through
   * SendRawEmail, because SendEmail cannot carry headers.
   * @default 'X-Idempotency-Key'
   */
  idempotencyHeader?: string;
  /**
   * What one message may hold. Raise them when your account's limits differ.
   * @default { maxRecipients: 50, maxMessageBytes: 10485760 } (SES v1)
   */
  limits?: Partial<EmailLimits>;
  /**
   * The clock, in ms since the epoch: it dates a daily-quota throttle's `retryAfterMs`.
   * @default Date.now
   */
  now?: () => number;
}

const OPERATION = 'send';

/**
 * An {@link EmailAdapter} for Amazon SES (API v1) through `@aws-sdk/client-ses`. Plain
 * messages go through `SendEmail`; messages with attachments, custom headers or an
 * `idempotencyKey` go through `SendRawEmail` with MIME built by nodemailer's MailComposer.
 * Every failure is a `ProviderError` classified by the SES error's name, status and `$fault`;
 * it never retries and holds no breaker (compose those with `withResilience`).
 */
export class SesEmailAdapter implements EmailAdapter {
  /** `ses`: the breaker guarding this adapter is `email:ses`. */
  readonly provider: string = 'ses';
  /** What one message may hold at SES. */
  readonly limits: EmailLimits;
  readonly #client: SESClient;
  readonly #ownsClient: boolean;
  readonly #configurationSetName: string | undefined;
  readonly #idempotencyHeader: string;
  readonly #now: () => number;
  readonly #secrets: (string | undefined)[];

  constructor(options: SesEmailAdapterOptions = {}) {
    this.limits = Object.freeze({ ...DEFAULT_EMAIL_LIMITS, ...options.limits });
    this.#configurationSetName = options.configurationSetName;
    this.#idempotencyHeader = options.idempotencyHeader ?? 'X-Idempotency-Key';
    this.#now = options.now ?? Date.now;
    const credentials = options.credentials;
    this.#secrets =
      typeof credentials === 'object' && credentials !== null && 'secretAccessKey' in credentials
        ? [credentials.secretAccessKey, credentials.sessionToken]
        : [];
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      this.#client = new SESClient({
        ...(options.region === undefined ? {} : { region: options.region }),
        ...(credentials === undefined ? {} : { credentials }),
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        // one wire request per send: retrying is the policy's job
        maxAttempts: 1,
        requestHandler: {
          requestTimeout: options.requestTimeoutMs ?? 10_000,
          connectionTimeout: options.connectionTimeoutMs ?? 3_000,
          // without it the SDK only logs a warning and keeps waiting
          throwOnRequestTimeout: true,
        },
      });
      this.#ownsClient = true;
    }
  }

  /**
   * Sends one message with one SES request. Rejects with an `InvalidMessageError` before the
   * wire for bad input, with `signal.reason` when aborted, and with a `ProviderError` otherwise.
   */
  async send(msg: EmailMessage, options: SendOptions = {}): Promise<SendResult> {
    validateEmailMessage(msg, { limits: this.limits, provider: this.provider });
    const { signal } = options;
    signal?.throwIfAborted();
    const handlerOptions = signal === undefined ? {} : { abortSignal: signal };
    // built before the try: an oversized raw message is the caller's error, not SES's
    const raw = needsRawMessage(msg) ? await this.#rawInput(msg) : undefined;
    signal?.throwIfAborted();
    let messageId: string | undefined;
    try {
      const output =
        raw === undefined
          ? await this.#client.send(new SendEmailCommand(this.#input(msg)), handlerOptions)
          : await this.#client.send(new SendRawEmailCommand(raw), handlerOptions);
      messageId = output.MessageId;
    } catch (error) {
      // the SDK's AbortError says less than the caller's own reason
      if (signal?.aborted) throw signal.reason;
      throw mapSesError(error, { operation: OPERATION, now: this.#now, secrets: this.#secrets });
    }
    if (typeof messageId !== 'string' || messageId.length === 0) {
      throw new ProviderError({
        kind: 'permanent',
        scope: 'provider',
        provider: this.provider,
        operation: OPERATION,
        status: 200,
        message:
          'ses send answered 200 without a MessageId: the message may have been accepted, but it cannot be tracked; not retried',
      });
    }
    return { provider: this.provider, messageId };
  }

  /** Destroys the client the adapter built; a client passed in is left to its owner. */
  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }

  #input(msg: EmailMessage): SendEmailCommandInput {
    const charset = 'UTF-8';
    return {
      Source: formatSesAddress(msg.from),
      Destination: {
        ToAddresses: msg.to.map(formatSesAddress),
        ...(msg.cc === undefined ? {} : { CcAddresses: msg.cc.map(formatSesAddress) }),
        ...(msg.bcc === undefined ? {} : { BccAddresses: msg.bcc.map(formatSesAddress) }),
      },
      ...(msg.replyTo === undefined ? {} : { ReplyToAddresses: [formatSesAddress(msg.replyTo)] }),
      Message: {
        Subject: { Data: msg.subject, Charset: charset },
        Body: {
          ...(msg.text === undefined ? {} : { Text: { Data: msg.text, Charset: charset } }),
          ...(msg.html === undefined ? {} : { Html: { Data: msg.html, Charset: charset } }),
        },
      },
      ...this.#common(msg),
    };
  }

  async #rawInput(msg: EmailMessage): Promise<SendRawEmailCommandInput> {
    const data = await buildRawMessage(msg, { idempotencyHeader: this.#idempotencyHeader });
    // validation estimated the size; the built message is exact
    if (data.byteLength > this.limits.maxMessageBytes) {
      throw new InvalidMessageError({
        field: msg.attachments?.length ? 'attachments' : 'body',
        reason: `makes the encoded message ${data.byteLength} bytes, over SES's ${this.limits.maxMessageBytes}`,
        provider: this.provider,
      });
    }
    return {
      Source: bareSesAddress(msg.from),
      Destinations: [...msg.to, ...(msg.cc ?? []), ...(msg.bcc ?? [])].map(bareSesAddress),
      RawMessage: { Data: data },
      ...this.#common(msg),
    };
  }

  #common(msg: EmailMessage): Pick<SendEmailCommandInput, 'Tags' | 'ConfigurationSetName'> {
    const tags = Object.entries(msg.tags ?? {});
    return {
      ...(tags.length === 0 ? {} : { Tags: tags.map(([Name, Value]) => ({ Name, Value })) }),
      ...(this.#configurationSetName === undefined
        ? {}
        : { ConfigurationSetName: this.#configurationSetName }),
    };
  }
}

// SendEmail has no room for attachments or headers, and the idempotency key travels as a header
function needsRawMessage(msg: EmailMessage): boolean {
  return (
    (msg.attachments?.length ?? 0) > 0 ||
    Object.keys(msg.headers ?? {}).length > 0 ||
    msg.idempotencyKey !== undefined
  );
}
