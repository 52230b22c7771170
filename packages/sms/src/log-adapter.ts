import { randomBytes, randomUUID } from 'node:crypto';
import type {
  SendOtpOptions,
  SendOtpResult,
  SendResult,
  SmsAdapter,
  SmsCallOptions,
  VerifyResult,
} from './adapter.js';
import { validateSmsBody } from './body.js';
import { type IssuedOtp, OtpService } from './otp.js';
import { defaultOtpMessage, type OtpMessage, sendIssuedOtp } from './otp-delivery.js';
import { maskPhoneNumber, normalizePhoneNumber } from './phone.js';

/** Where {@link LogSmsAdapter} writes: `console` fits, and so do pino and winston loggers. */
export interface SmsLogger {
  info(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@link LogSmsAdapter}. */
export interface LogSmsAdapterOptions {
  /**
   * Where messages are written. Each line has the masked number, the segment count and the
   * body (with the code, for OTPs: that is what this adapter is for).
   * @default console
   */
  logger?: SmsLogger;
  /**
   * Issues and checks codes.
   * @default an OtpService with a random secret and a MemoryOtpStore
   */
  otp?: OtpService;
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
  /**
   * The environment checked for `production`.
   * @default process.env.NODE_ENV
   */
  nodeEnv?: string | undefined;
}

/**
 * For development: "sends" by writing to a logger, numbers masked (`+1******4567`). Codes are
 * real (issued and verified by an {@link OtpService}), so login flows work end to end. Refuses to
 * be constructed when `NODE_ENV=production`: a log is not a delivery.
 */
export class LogSmsAdapter implements SmsAdapter {
  /** Always `log`. */
  readonly provider = 'log';
  /** {@inheritDoc @tracks/sms!SmsAdapter.maxSegments} */
  readonly maxSegments: number | undefined;
  /** {@inheritDoc SmsAdapter.otp} */
  readonly otp: OtpService;
  readonly #logger: SmsLogger;
  readonly #otpMessage: OtpMessage;

  constructor(options: LogSmsAdapterOptions = {}) {
    const env = 'nodeEnv' in options ? options.nodeEnv : process.env.NODE_ENV;
    if (env === 'production') {
      throw new Error(
        'LogSmsAdapter refuses to run with NODE_ENV=production: it only logs, nobody gets the SMS',
      );
    }
    this.#logger = options.logger ?? console;
    this.otp = options.otp ?? new OtpService({ secret: randomBytes(32) });
    this.#otpMessage = options.otpMessage ?? defaultOtpMessage;
    this.maxSegments = options.maxSegments;
  }

  /** {@inheritDoc SmsAdapter.sendMessage} */
  sendMessage(phone: string, body: string, options?: SmsCallOptions): Promise<SendResult> {
    return Promise.resolve().then(() => {
      options?.signal?.throwIfAborted();
      const to = normalizePhoneNumber(phone, { provider: this.provider });
      return this.#write(to, body, 'sms');
    });
  }

  /** {@inheritDoc SmsAdapter.sendOtp} */
  async sendOtp(phone: string, options?: SendOtpOptions): Promise<SendOtpResult> {
    // before issuing: an abort must not cost the person a cooldown for a code never sent
    options?.signal?.throwIfAborted();
    return sendIssuedOtp(this.otp, phone, (issued) => this.deliverOtp(issued.phone, issued, options));
  }

  /** {@inheritDoc SmsAdapter.deliverOtp} */
  deliverOtp(phone: string, issued: IssuedOtp, options?: SendOtpOptions): Promise<SendOtpResult> {
    return Promise.resolve().then(() => {
      options?.signal?.throwIfAborted();
      const to = normalizePhoneNumber(phone, { provider: this.provider, operation: 'sendOtp' });
      const context = { expiresAt: issued.expiresAt, ttlMs: this.otp.ttlMs };
      const body = this.#otpMessage(
        issued.code,
        options?.locale ? { ...context, locale: options.locale } : context,
      );
      this.#write(to, body, 'otp');
      return { provider: this.provider, expiresAt: issued.expiresAt };
    });
  }

  /** Checks the code locally through {@link LogSmsAdapter.otp}. */
  async verifyOtp(phone: string, code: string, options?: SmsCallOptions): Promise<VerifyResult> {
    options?.signal?.throwIfAborted();
    return this.otp.verify(phone, code);
  }

  #write(to: string, body: string, kind: 'sms' | 'otp'): SendResult {
    const { segments } = validateSmsBody(body, {
      provider: this.provider,
      ...(this.maxSegments === undefined ? {} : { maxSegments: this.maxSegments }),
    });
    const messageId = `log-${randomUUID()}`;
    const masked = maskPhoneNumber(to);
    this.#logger.info(
      `[sms:log] ${kind} to ${masked} (${segments} segment${segments === 1 ? '' : 's'}): ${body}`,
      {
        provider: this.provider,
        kind,
        to: masked,
        segments,
        messageId,
      },
    );
    return { provider: this.provider, messageId, segments };
  }
}
