import { ProviderError, parseRetryAfter } from '@tracks/breaker';
import {
  normalizePhoneNumber,
  RateLimitedError,
  type SendOtpOptions,
  type SendOtpResult,
  type SendResult,
  type SmsAdapter,
  type SmsCallOptions,
  type VerifyResult,
  validateSmsBody,
} from '@tracks/sms';
import twilio from 'twilio';
import { mapTwilioError, twilioCode } from './errors.js';
import { TwilioHttpClient, withCallContext } from './http-client.js';

/** The twilio client type (`twilio(accountSid, authToken, opts)`). */
export type TwilioClient = ReturnType<typeof twilio>;

/** Options of {@link TwilioSmsAdapter}. */
export interface TwilioSmsAdapterOptions {
  /**
   * A configured client. Build it with `httpClient: new TwilioHttpClient()` to honour
   * `Retry-After` and caller signals; with another HTTP client, throttling falls back to the
   * policy's backoff and an aborted signal only ends the caller's wait.
   * @default a client built from `accountSid` and `authToken` with a {@link TwilioHttpClient}
   */
  client?: TwilioClient;
  /**
   * Account SID (`AC…`) of the client the adapter builds; required without `client`.
   * @default undefined
   */
  accountSid?: string;
  /**
   * Auth token of the client the adapter builds; required without `client`. It appears in no
   * error and no log.
   * @default undefined
   */
  authToken?: string;
  /**
   * Sender number (E.164) or alphanumeric sender id; this or `messagingServiceSid` for `sendMessage`.
   * @default undefined
   */
  from?: string;
  /**
   * Messaging Service SID (`MG…`), which picks the sender itself. Takes precedence over `from`.
   * @default undefined
   */
  messagingServiceSid?: string;
  /**
   * Verify Service SID (`VA…`) for `sendOtp` and `verifyOtp`; without it those throw.
   * @default undefined
   */
  verifyServiceSid?: string;
  /**
   * Request timeout of the client the adapter builds, in ms.
   * @default 10_000
   */
  timeoutMs?: number;
  /**
   * Sends requests to this origin instead of Twilio's hosts (a local server in tests).
   * @default undefined
   */
  baseUrl?: string;
  /**
   * Segment cap per message.
   * @default 10
   */
  maxSegments?: number;
  /**
   * Wait reported on Verify's 60203 (max send attempts) when Twilio sends no `Retry-After`, in ms:
   * Verify counts sends per number over 10 minutes.
   * @default 600_000
   */
  sendLimitRetryAfterMs?: number;
}

const CODE = /^\d{4,10}$/;

/**
 * SMS through Twilio's Messages API, and one-time codes through Twilio Verify v2: Twilio
 * generates, sends and checks the codes, so `verifyOtp` is a provider call — but its
 * `mismatch`, `expired` and `too-many-attempts` are answers, not failures. Errors are mapped by
 * Twilio error code before HTTP status.
 */
export class TwilioSmsAdapter implements SmsAdapter {
  /** Always `twilio`. */
  readonly provider = 'twilio';
  /** {@inheritDoc @tracks/sms!SmsAdapter.maxSegments} */
  readonly maxSegments: number | undefined;
  readonly #client: TwilioClient;
  readonly #from: string | undefined;
  readonly #messagingServiceSid: string | undefined;
  readonly #verifyServiceSid: string | undefined;
  readonly #sendLimitRetryAfterMs: number;
  readonly #secrets: readonly (string | undefined)[];
  readonly #ownHttpClient: TwilioHttpClient | undefined;

  /**
   * The twilio client in use. A getter over a private field, so that logging the adapter (or a
   * wrapper that holds it) shows no client: the client holds the auth token in plain text.
   */
  get client(): TwilioClient {
    return this.#client;
  }

  constructor(options: TwilioSmsAdapterOptions) {
    this.#from = options.from;
    this.#messagingServiceSid = options.messagingServiceSid;
    this.#verifyServiceSid = options.verifyServiceSid;
    this.maxSegments = options.maxSegments;
    this.#sendLimitRetryAfterMs = options.sendLimitRetryAfterMs ?? 600_000;
    this.#secrets = [options.authToken];
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownHttpClient = undefined;
    } else {
      if (!options.accountSid || !options.authToken) {
        throw new TypeError('TwilioSmsAdapter needs a client, or accountSid and authToken to build one');
      }
      const httpClient = new TwilioHttpClient({
        timeoutMs: options.timeoutMs ?? 10_000,
        ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
      });
      this.#client = twilio(options.accountSid, options.authToken, { httpClient, autoRetry: false });
      this.#ownHttpClient = httpClient;
    }
    if (
      this.#from === undefined &&
      this.#messagingServiceSid === undefined &&
      this.#verifyServiceSid === undefined
    ) {
      throw new TypeError(
        'TwilioSmsAdapter needs `from` or `messagingServiceSid` (messages), or `verifyServiceSid` (codes)',
      );
    }
  }

  /** {@inheritDoc @tracks/sms!SmsAdapter.sendMessage} */
  async sendMessage(phone: string, body: string, options?: SmsCallOptions): Promise<SendResult> {
    const to = normalizePhoneNumber(phone, { provider: this.provider });
    const { segments } = validateSmsBody(body, this.#validation());
    if (this.#messagingServiceSid === undefined && this.#from === undefined) {
      throw new TypeError('TwilioSmsAdapter cannot send messages without `from` or `messagingServiceSid`');
    }
    const sender =
      this.#messagingServiceSid !== undefined
        ? { messagingServiceSid: this.#messagingServiceSid }
        : { from: this.#from as string };
    const message = await this.#call('sendMessage', options?.signal, () =>
      this.client.messages.create({ to, body, ...sender }),
    );
    if (typeof message?.sid !== 'string' || message.sid.length === 0) {
      throw new ProviderError({
        kind: 'transient',
        retryable: false,
        provider: this.provider,
        operation: 'sendMessage',
        message: 'twilio accepted the message without a sid; not retried (it may have been sent)',
      });
    }
    return { provider: this.provider, messageId: message.sid, segments };
  }

  /**
   * Starts a Verify verification by SMS; Twilio generates and sends the code.
   * @throws RateLimitedError on Verify's 60203 (too many sends to this number)
   */
  async sendOtp(phone: string, options?: SendOtpOptions): Promise<SendOtpResult> {
    const to = normalizePhoneNumber(phone, { provider: this.provider, operation: 'sendOtp' });
    const service = this.#verify('sendOtp');
    await this.#call('sendOtp', options?.signal, () =>
      service.verifications.create({
        to,
        channel: 'sms',
        ...(options?.locale ? { locale: options.locale } : {}),
      }),
    );
    return { provider: this.provider };
  }

  /**
   * Checks a code with Verify: `approved` is valid, `pending` a mismatch, a missing
   * verification (404 / 20404) expired, 60202 too many attempts.
   */
  async verifyOtp(phone: string, code: string, options?: SmsCallOptions): Promise<VerifyResult> {
    const to = normalizePhoneNumber(phone, { provider: this.provider, operation: 'verifyOtp' });
    const service = this.#verify('verifyOtp');
    const typed = typeof code === 'string' ? code.replace(/[\s-]/g, '') : '';
    // a guess that cannot be a code is a mismatch without spending one of Verify's attempts
    if (!CODE.test(typed)) return { valid: false, reason: 'mismatch' };
    return this.#call(
      'verifyOtp',
      options?.signal,
      async () => {
        const check = await service.verificationChecks.create({ to, code: typed });
        if (check.status === 'approved') return { valid: true };
        if (check.status === 'pending') return { valid: false, reason: 'mismatch' };
        // canceled, expired, deleted: no live code
        return { valid: false, reason: 'expired' };
      },
      checkAnswer,
    );
  }

  /** Closes the kept-alive sockets of the HTTP client the adapter built (a given client stays open). */
  close(): Promise<void> {
    this.#ownHttpClient?.destroy();
    return Promise.resolve();
  }

  #verify(operation: string): ReturnType<TwilioClient['verify']['v2']['services']> {
    if (this.#verifyServiceSid === undefined) {
      throw new TypeError(`TwilioSmsAdapter cannot ${operation} without \`verifyServiceSid\``);
    }
    return this.client.verify.v2.services(this.#verifyServiceSid);
  }

  // One SDK call with its context (signal, Retry-After). `answer` turns Twilio errors that are
  // answers rather than failures into values; 60203 becomes a RateLimitedError.
  async #call<T>(
    operation: 'sendMessage' | 'sendOtp' | 'verifyOtp',
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
    answer?: (code: number | undefined, status: unknown) => T | undefined,
  ): Promise<T> {
    signal?.throwIfAborted();
    return withCallContext(signal, async (context) => {
      try {
        return await abortable(fn(), signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const code = twilioCode(error);
        const answered = answer?.(code, (error as { status?: unknown } | null)?.status);
        if (answered !== undefined) return answered;
        if (operation === 'sendOtp' && code === 60203) {
          throw new RateLimitedError(this.#retryAfter(context.retryAfter), 'provider-limit');
        }
        throw mapTwilioError(error, operation, this.#secrets, context.retryAfter);
      }
    });
  }

  #retryAfter(header: string | undefined): number {
    const ms = parseRetryAfter(header);
    return ms !== undefined && ms > 0 ? ms : this.#sendLimitRetryAfterMs;
  }

  #validation(): { provider: string; maxSegments?: number } {
    return this.maxSegments === undefined
      ? { provider: this.provider }
      : { provider: this.provider, maxSegments: this.maxSegments };
  }
}

// Verify's answers that arrive as errors: 60202 (max check attempts), and 20404 / a plain 404
// (no pending verification: expired, used, or never sent)
function checkAnswer(code: number | undefined, status: unknown): VerifyResult | undefined {
  if (code === 60202) return { valid: false, reason: 'too-many-attempts' };
  if (code === 20404 || (code === undefined && status === 404)) return { valid: false, reason: 'expired' };
  return undefined;
}

// With a TwilioHttpClient the request itself aborts; with any other HTTP client this at least
// ends the caller's wait (the request may still complete in the background).
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
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
