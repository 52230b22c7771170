import { randomBytes } from 'node:crypto';
import { ProviderError } from '@tracks/breaker';
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
import { normalizePhoneNumber } from './phone.js';

/** A message {@link MemorySmsAdapter} accepted. */
export interface MemorySmsMessage {
  /** The message id it returned. */
  readonly messageId: string;
  /** E.164 number. */
  readonly to: string;
  /** The body as sent. */
  readonly body: string;
  /** Segments of the body. */
  readonly segments: number;
  /** `otp` for code messages. */
  readonly kind: 'sms' | 'otp';
  /** The code, for `otp` messages. */
  readonly code?: string;
}

/**
 * A fault {@link MemorySmsAdapter} can play: a provider failure of that kind, `opted-out` (a
 * permanent, message-scoped refusal), `hang` (no answer until the call's signal aborts), or
 * `no-message-id` (what an adapter throws for a success reply without an id: not retried).
 */
export type MemorySmsFault =
  | 'throttled'
  | 'transient'
  | 'timeout'
  | 'auth'
  | 'invalid'
  | 'opted-out'
  | 'hang'
  | 'no-message-id';

/** Options of {@link MemorySmsAdapter}. */
export interface MemorySmsAdapterOptions {
  /**
   * The provider name (so two memory adapters can stand for two providers in failover tests).
   * @default 'memory'
   */
  provider?: string;
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
   * Latency of every provider call, in ms (real time; for demos, not for tests).
   * @default 0
   */
  latencyMs?: number;
}

/**
 * An in-memory provider for tests and the demo: records what it sent (codes included), counts
 * provider calls, and plays programmed faults. Codes are issued and verified by a real
 * {@link OtpService}; verification is local and is not a provider call.
 */
export class MemorySmsAdapter implements SmsAdapter {
  /** The provider name (`memory` unless set). */
  readonly provider: string;
  /** {@inheritDoc @tracks/sms!SmsAdapter.maxSegments} */
  readonly maxSegments: number | undefined;
  /** {@inheritDoc SmsAdapter.otp} */
  readonly otp: OtpService;
  /** Every message accepted, oldest first. */
  readonly sent: MemorySmsMessage[] = [];
  /** Latency of every provider call, in ms. */
  latencyMs: number;
  #calls = 0;
  #sequence = 0;
  readonly #faults: (MemorySmsFault | Error)[] = [];
  readonly #otpMessage: OtpMessage;

  constructor(options: MemorySmsAdapterOptions = {}) {
    this.provider = options.provider ?? 'memory';
    this.otp = options.otp ?? new OtpService({ secret: randomBytes(32) });
    this.#otpMessage = options.otpMessage ?? defaultOtpMessage;
    this.maxSegments = options.maxSegments;
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** Provider calls so far (sends that passed validation, failed or not). */
  get calls(): number {
    return this.#calls;
  }

  /**
   * Makes the next `times` provider calls fail with `fault` (a kind, or an error to throw as
   * is). Faults queue up in order.
   */
  fail(fault: MemorySmsFault | Error, times = 1): this {
    for (let i = 0; i < times; i++) this.#faults.push(fault);
    return this;
  }

  /** Forgets queued faults (the provider "recovers"). */
  recover(): this {
    this.#faults.length = 0;
    return this;
  }

  /** The last code sent to `phone`, if any. */
  lastCode(phone: string): string | undefined {
    const to = normalizePhoneNumber(phone);
    for (let i = this.sent.length - 1; i >= 0; i--) {
      const message = this.sent[i];
      if (message?.to === to && message.code !== undefined) return message.code;
    }
    return undefined;
  }

  /** {@inheritDoc SmsAdapter.sendMessage} */
  async sendMessage(phone: string, body: string, options?: SmsCallOptions): Promise<SendResult> {
    const to = normalizePhoneNumber(phone, { provider: this.provider });
    const { segments } = validateSmsBody(body, this.#validation('sendMessage'));
    await this.#call('sendMessage', options?.signal);
    const messageId = this.#record({ to, body, segments, kind: 'sms' });
    return { provider: this.provider, messageId, segments };
  }

  /** {@inheritDoc SmsAdapter.sendOtp} */
  async sendOtp(phone: string, options?: SendOtpOptions): Promise<SendOtpResult> {
    // before issuing: an abort must not cost the person a cooldown for a code never sent
    options?.signal?.throwIfAborted();
    return sendIssuedOtp(this.otp, phone, (issued) => this.deliverOtp(issued.phone, issued, options));
  }

  /** {@inheritDoc SmsAdapter.deliverOtp} */
  async deliverOtp(phone: string, issued: IssuedOtp, options?: SendOtpOptions): Promise<SendOtpResult> {
    const to = normalizePhoneNumber(phone, { provider: this.provider, operation: 'sendOtp' });
    const context = { expiresAt: issued.expiresAt, ttlMs: this.otp.ttlMs };
    const body = this.#otpMessage(
      issued.code,
      options?.locale ? { ...context, locale: options.locale } : context,
    );
    const { segments } = validateSmsBody(body, this.#validation('sendOtp'));
    await this.#call('sendOtp', options?.signal);
    this.#record({ to, body, segments, kind: 'otp', code: issued.code });
    return { provider: this.provider, expiresAt: issued.expiresAt };
  }

  /** Checks the code locally; not a provider call. */
  async verifyOtp(phone: string, code: string, options?: SmsCallOptions): Promise<VerifyResult> {
    options?.signal?.throwIfAborted();
    return this.otp.verify(phone, code);
  }

  #validation(operation: string): { provider: string; operation: string; maxSegments?: number } {
    return this.maxSegments === undefined
      ? { provider: this.provider, operation }
      : { provider: this.provider, operation, maxSegments: this.maxSegments };
  }

  #record(message: Omit<MemorySmsMessage, 'messageId'>): string {
    const messageId = `${this.provider}-${++this.#sequence}`;
    this.sent.push({ messageId, ...message });
    return messageId;
  }

  async #call(operation: string, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    this.#calls += 1;
    const fault = this.#faults.shift();
    if (fault === 'hang') return hang(signal);
    if (this.latencyMs > 0) await delay(this.latencyMs, signal);
    if (fault === undefined) return;
    if (fault instanceof Error) throw fault;
    throw faultError(fault, this.provider, operation);
  }
}

function faultError(
  fault: Exclude<MemorySmsFault, 'hang'>,
  provider: string,
  operation: string,
): ProviderError {
  switch (fault) {
    case 'throttled':
      return new ProviderError({ kind: 'throttled', provider, operation, status: 429, retryAfterMs: 1000 });
    case 'transient':
      return new ProviderError({ kind: 'transient', provider, operation, status: 503 });
    case 'timeout':
      return new ProviderError({ kind: 'timeout', provider, operation });
    case 'auth':
      return new ProviderError({ kind: 'auth', provider, operation, status: 401 });
    case 'invalid':
      return new ProviderError({ kind: 'invalid', provider, operation, status: 400, field: 'phone' });
    case 'opted-out':
      return new ProviderError({
        kind: 'permanent',
        provider,
        operation,
        status: 400,
        message: 'number opted out',
      });
    case 'no-message-id':
      return new ProviderError({
        kind: 'transient',
        retryable: false,
        provider,
        operation,
        message: `${provider} accepted the message without an id; not retried (it may have been sent)`,
      });
  }
}

function hang(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
