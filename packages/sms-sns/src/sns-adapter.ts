import {
  type MessageAttributeValue,
  PublishCommand,
  SNSClient,
  type SNSClientConfig,
} from '@aws-sdk/client-sns';
import { ProviderError } from '@tracks/breaker';
import {
  defaultOtpMessage,
  type IssuedOtp,
  normalizePhoneNumber,
  type OtpMessage,
  type OtpService,
  type SendOtpOptions,
  type SendOtpResult,
  type SendResult,
  type SmsAdapter,
  type SmsCallOptions,
  sendIssuedOtp,
  type VerifyResult,
  validateSmsBody,
} from '@tracks/sms';
import { mapSnsError } from './errors.js';

/** SNS's message types: `Transactional` is delivered with priority (codes, alerts). */
export type SnsSmsType = 'Transactional' | 'Promotional';

/** Options of {@link SnsSmsAdapter}. */
export interface SnsSmsAdapterOptions {
  /**
   * Issues and checks codes: SNS only delivers them. Give every instance the same secret and a
   * shared store (`RedisOtpStore`) when codes may be checked on another instance.
   */
  otp: OtpService;
  /**
   * A configured client. When given, its own retry and timeout settings apply: build it with
   * `maxAttempts: 1` so that its retries do not multiply with the policy's.
   * @default a client built from `region`, `credentials`, `endpoint` and the timeouts below
   */
  client?: SNSClient;
  /**
   * AWS region of the client the adapter builds.
   * @default the SDK's (`AWS_REGION`, the shared config file)
   */
  region?: string;
  /**
   * Credentials of the client the adapter builds; their secret key and session token are
   * scrubbed from every error.
   * @default the SDK's default provider chain
   */
  credentials?: SNSClientConfig['credentials'];
  /**
   * Endpoint of the client the adapter builds (a local server in tests).
   * @default SNS's regional endpoint
   */
  endpoint?: string;
  /**
   * How long a request may take once sent, in ms (the client is built with
   * `throwOnRequestTimeout: true`, without which the SDK only warns).
   * @default 10_000
   */
  requestTimeoutMs?: number;
  /**
   * How long connecting may take, in ms.
   * @default 3_000
   */
  connectionTimeoutMs?: number;
  /**
   * Alphanumeric sender id (`AWS.SNS.SMS.SenderID`, 1 to 11 letters and digits) where the
   * destination country supports one.
   * @default undefined (the account's default)
   */
  senderId?: string;
  /**
   * `AWS.SNS.SMS.SMSType` of `sendMessage`; code messages are always `Transactional`.
   * @default undefined (the account's default)
   */
  messageType?: SnsSmsType;
  /**
   * The code message.
   * @default defaultOtpMessage
   */
  otpMessage?: OtpMessage;
  /**
   * Segment cap per message.
   * @default 10
   */
  maxSegments?: number;
}

/**
 * SMS through AWS SNS `Publish` to a phone number. Codes are issued and checked by the
 * {@link OtpService} it is given: verification is local, so it never waits on SNS or on its
 * breaker. Errors are mapped by name, status and `$fault` (SNS errors carry no `$retryable`).
 */
export class SnsSmsAdapter implements SmsAdapter {
  /** Always `sns`. */
  readonly provider = 'sns';
  /** {@inheritDoc @tracks/sms!SmsAdapter.maxSegments} */
  readonly maxSegments: number | undefined;
  /** {@inheritDoc @tracks/sms!SmsAdapter.otp} */
  readonly otp: OtpService;
  /** The SNS client in use. */
  readonly client: SNSClient;
  readonly #ownsClient: boolean;
  readonly #senderId: string | undefined;
  readonly #messageType: SnsSmsType | undefined;
  readonly #otpMessage: OtpMessage;
  readonly #secrets: readonly (string | undefined)[];

  constructor(options: SnsSmsAdapterOptions) {
    if (options.otp === undefined)
      throw new TypeError('SnsSmsAdapter needs an OtpService (`otp`): SNS cannot verify codes');
    if (options.senderId !== undefined && !/^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/.test(options.senderId)) {
      throw new RangeError('senderId must be 1 to 11 letters and digits, with at least one letter');
    }
    this.otp = options.otp;
    this.#senderId = options.senderId;
    this.#messageType = options.messageType;
    this.#otpMessage = options.otpMessage ?? defaultOtpMessage;
    this.maxSegments = options.maxSegments;
    const credentials = options.credentials;
    this.#secrets =
      typeof credentials === 'object' && credentials !== null && 'secretAccessKey' in credentials
        ? [credentials.secretAccessKey, credentials.sessionToken]
        : [];
    if (options.client !== undefined) {
      this.client = options.client;
      this.#ownsClient = false;
    } else {
      this.client = new SNSClient({
        ...(options.region === undefined ? {} : { region: options.region }),
        ...(credentials === undefined ? {} : { credentials }),
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        // our policy retries; the SDK's own attempts would multiply with it
        maxAttempts: 1,
        requestHandler: {
          requestTimeout: options.requestTimeoutMs ?? 10_000,
          connectionTimeout: options.connectionTimeoutMs ?? 3_000,
          throwOnRequestTimeout: true,
        },
      });
      this.#ownsClient = true;
    }
  }

  /** {@inheritDoc @tracks/sms!SmsAdapter.sendMessage} */
  async sendMessage(phone: string, body: string, options?: SmsCallOptions): Promise<SendResult> {
    const to = normalizePhoneNumber(phone, { provider: this.provider });
    const { segments } = validateSmsBody(body, this.#validation('sendMessage'));
    const messageId = await this.#publish(to, body, this.#messageType, 'sendMessage', options?.signal);
    return { provider: this.provider, messageId, segments };
  }

  /** {@inheritDoc @tracks/sms!SmsAdapter.sendOtp} */
  async sendOtp(phone: string, options?: SendOtpOptions): Promise<SendOtpResult> {
    // before issuing: an abort must not cost the person a cooldown for a code never sent
    options?.signal?.throwIfAborted();
    return sendIssuedOtp(this.otp, phone, (issued) => this.deliverOtp(issued.phone, issued, options));
  }

  /** {@inheritDoc @tracks/sms!SmsAdapter.deliverOtp} */
  async deliverOtp(phone: string, issued: IssuedOtp, options?: SendOtpOptions): Promise<SendOtpResult> {
    const to = normalizePhoneNumber(phone, { provider: this.provider, operation: 'sendOtp' });
    const context = { expiresAt: issued.expiresAt, ttlMs: this.otp.ttlMs };
    const body = this.#otpMessage(
      issued.code,
      options?.locale ? { ...context, locale: options.locale } : context,
    );
    validateSmsBody(body, this.#validation('sendOtp'));
    await this.#publish(to, body, 'Transactional', 'sendOtp', options?.signal);
    return { provider: this.provider, expiresAt: issued.expiresAt };
  }

  /** Checks the code locally through {@link SnsSmsAdapter.otp}; SNS is not asked. */
  async verifyOtp(phone: string, code: string, options?: SmsCallOptions): Promise<VerifyResult> {
    options?.signal?.throwIfAborted();
    return this.otp.verify(phone, code);
  }

  /** Destroys the client if the adapter built it. */
  close(): Promise<void> {
    if (this.#ownsClient) this.client.destroy();
    return Promise.resolve();
  }

  async #publish(
    to: string,
    body: string,
    type: SnsSmsType | undefined,
    operation: string,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    signal?.throwIfAborted();
    const attributes: Record<string, MessageAttributeValue> = {};
    if (type !== undefined) attributes['AWS.SNS.SMS.SMSType'] = { DataType: 'String', StringValue: type };
    if (this.#senderId !== undefined) {
      attributes['AWS.SNS.SMS.SenderID'] = { DataType: 'String', StringValue: this.#senderId };
    }
    let output: { MessageId?: string | undefined };
    try {
      output = await this.client.send(
        new PublishCommand({
          PhoneNumber: to,
          Message: body,
          ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
        }),
        signal === undefined ? {} : { abortSignal: signal },
      );
    } catch (error) {
      // the caller's abort is the caller's: hand back its reason, not the SDK's AbortError
      if (signal?.aborted) throw signal.reason;
      throw mapSnsError(error, operation, this.#secrets);
    }
    if (typeof output.MessageId !== 'string' || output.MessageId.length === 0) {
      throw new ProviderError({
        kind: 'transient',
        retryable: false,
        provider: this.provider,
        operation,
        message: 'sns accepted the message without a message id; not retried (it may have been sent)',
      });
    }
    return output.MessageId;
  }

  #validation(operation: string): { provider: string; operation: string; maxSegments?: number } {
    return this.maxSegments === undefined
      ? { provider: this.provider, operation }
      : { provider: this.provider, operation, maxSegments: this.maxSegments };
  }
}
