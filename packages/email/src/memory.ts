import { ProviderError } from '@tracks/breaker';
import { parseAddress } from './address.js';
import type { EmailAdapter, EmailLimits, EmailMessage, SendOptions, SendResult } from './types.js';
import { DEFAULT_EMAIL_LIMITS } from './types.js';
import { validateEmailMessage } from './validate.js';

/** One message a {@link MemoryEmailAdapter} accepted. */
export interface SentEmail {
  /** The message as it was given to `send` (not copied: do not mutate it afterwards). */
  readonly message: EmailMessage;
  /** The id the adapter returned. */
  readonly messageId: string;
  /** Recipients it refused while accepting the rest. */
  readonly rejected: readonly string[];
  /** When it was accepted, from the adapter's clock. */
  readonly at: number;
}

/** Options of {@link MemoryEmailAdapter}. */
export interface MemoryEmailAdapterOptions {
  /**
   * The provider name, which names the breaker (`email:<provider>`): give two memory adapters
   * different names to try failover.
   * @default 'memory'
   */
  provider?: string;
  /**
   * The limits validation applies.
   * @default DEFAULT_EMAIL_LIMITS
   */
  limits?: Partial<EmailLimits>;
  /**
   * How long each send takes, in ms.
   * @default 0
   */
  latencyMs?: number;
  /**
   * The share of sends (0-1) that fail with a `transient` error, drawn from `random`.
   * @default 0
   */
  failureRate?: number;
  /**
   * When set, a hung send rejects with a `timeout` error after this many ms, as an SDK's own
   * request timeout would; otherwise it waits until aborted or closed.
   * @default undefined
   */
  timeoutMs?: number;
  /**
   * The random source for `failureRate`.
   * @default Math.random
   */
  random?: () => number;
  /**
   * The clock for {@link SentEmail.at}.
   * @default Date.now
   */
  now?: () => number;
}

/** A fault the next sends meet; see {@link MemoryEmailAdapter.failNext}. */
export type MemoryFault = ProviderError | ((message: EmailMessage) => ProviderError);

interface Pending {
  reject(error: unknown): void;
}

/**
 * An {@link EmailAdapter} that keeps what it "sends" in {@link sent}, for tests and the demo,
 * with programmable faults: a failure rate, latency, a hang, specific `ProviderError`s, refused
 * recipients. It validates like a real adapter, honours the abort signal, and leaves no timer
 * behind once {@link close} resolves.
 */
export class MemoryEmailAdapter implements EmailAdapter {
  /** The provider name. */
  readonly provider: string;
  /** What one message may hold. */
  readonly limits: EmailLimits;
  /** Every message accepted, in order. */
  readonly sent: SentEmail[] = [];
  /** Sends that got past validation and the abort check: the memory "wire". */
  requests = 0;
  /** How long each send takes, in ms. */
  latencyMs: number;
  /** The share of sends that fail with a `transient` error. */
  failureRate: number;
  /** When true, sends never answer (until aborted, timed out per `timeoutMs`, or closed). */
  hanging = false;
  /** When true, sends succeed but the "provider" returns no message id: the adapter throws. */
  missingMessageId = false;

  readonly #timeoutMs: number | undefined;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #faults: { fault: MemoryFault; remaining: number }[] = [];
  readonly #rejected = new Set<string>();
  readonly #pending = new Set<Pending>();
  #closed = false;
  #counter = 0;

  constructor(options: MemoryEmailAdapterOptions = {}) {
    this.provider = options.provider ?? 'memory';
    this.limits = { ...DEFAULT_EMAIL_LIMITS, ...options.limits };
    this.latencyMs = options.latencyMs ?? 0;
    this.failureRate = options.failureRate ?? 0;
    this.#timeoutMs = options.timeoutMs;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The next `times` sends fail with this error (or the error this function makes).
   * `Infinity` makes it stick until {@link reset}.
   */
  failNext(fault: MemoryFault, times = 1): this {
    this.#faults.push({ fault, remaining: times });
    return this;
  }

  /** Refuses this recipient: a message to it alone fails `permanent`; with others, it is listed in `rejected`. */
  rejectRecipient(address: string): this {
    this.#rejected.add(address.toLowerCase());
    return this;
  }

  /** Clears faults, latency, the hang, refused recipients, the record of sent messages and the request count. */
  reset(): void {
    this.#faults.length = 0;
    this.#rejected.clear();
    this.sent.length = 0;
    this.requests = 0;
    this.latencyMs = 0;
    this.failureRate = 0;
    this.hanging = false;
    this.missingMessageId = false;
  }

  /**
   * Validates, then "sends": records the message in {@link sent}, unless a fault says otherwise
   * (programmed errors first, then the failure rate, then refused recipients).
   */
  async send(msg: EmailMessage, options: SendOptions = {}): Promise<SendResult> {
    const { signal } = options;
    validateEmailMessage(msg, { limits: this.limits, provider: this.provider });
    if (this.#closed) {
      throw new ProviderError({
        kind: 'permanent',
        scope: 'provider',
        provider: this.provider,
        operation: 'send',
        message: `${this.provider} send refused: the adapter is closed`,
      });
    }
    signal?.throwIfAborted();
    this.requests++;

    if (this.hanging) {
      await this.#wait(this.#timeoutMs, signal, true);
    } else if (this.latencyMs > 0) {
      await this.#wait(this.latencyMs, signal, false);
    }

    const planned = this.#faults[0];
    if (planned !== undefined) {
      planned.remaining--;
      if (planned.remaining <= 0) this.#faults.shift();
      throw typeof planned.fault === 'function' ? planned.fault(msg) : planned.fault;
    }
    if (this.failureRate > 0 && this.#random() < this.failureRate) {
      throw new ProviderError({
        kind: 'transient',
        provider: this.provider,
        operation: 'send',
        message: `${this.provider} send failed (transient, injected failure rate ${this.failureRate}); may be retried`,
      });
    }

    const recipients = [...msg.to, ...(msg.cc ?? []), ...(msg.bcc ?? [])];
    const rejected = recipients.filter((r) => this.#rejected.has(bareAddress(r)));
    if (rejected.length === recipients.length) {
      throw new ProviderError({
        kind: 'permanent',
        scope: 'message',
        provider: this.provider,
        operation: 'send',
        status: 550,
        message: `${this.provider} send failed (permanent): every recipient was refused; not retried`,
      });
    }
    if (this.missingMessageId) {
      throw new ProviderError({
        kind: 'permanent',
        scope: 'provider',
        retryable: false,
        provider: this.provider,
        operation: 'send',
        message: `${this.provider} accepted the message but returned no message id; not retried (it may have been delivered)`,
      });
    }
    const messageId = `<${msg.idempotencyKey ?? `${this.#now().toString(36)}.${++this.#counter}`}@${this.provider}.memory>`;
    this.sent.push({ message: msg, messageId, rejected, at: this.#now() });
    return rejected.length > 0
      ? { provider: this.provider, messageId, rejected }
      : { provider: this.provider, messageId };
  }

  /** Rejects every pending send and clears its timers; later sends fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const error = new ProviderError({
      kind: 'transient',
      provider: this.provider,
      operation: 'send',
      message: `${this.provider} send failed: the adapter was closed`,
    });
    for (const pending of [...this.#pending]) pending.reject(error);
  }

  /** Opens the adapter again after {@link close} (tests reuse one adapter). */
  reopen(): void {
    this.#closed = false;
  }

  // One timer per waiting send, always cleared: by the timer itself, an abort, or close().
  #wait(ms: number | undefined, signal: AbortSignal | undefined, hang: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (error?: unknown): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(pending);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => settle(signal?.reason);
      const pending: Pending = { reject: settle };
      this.#pending.add(pending);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (ms !== undefined) {
        timer = setTimeout(() => {
          if (!hang) return settle();
          settle(
            new ProviderError({
              kind: 'timeout',
              provider: this.provider,
              operation: 'send',
              message: `${this.provider} send timed out after ${ms} ms with no answer; it may have been delivered`,
            }),
          );
        }, ms);
      }
    });
  }
}

function bareAddress(mailbox: string): string {
  const parsed = parseAddress(mailbox);
  return parsed.ok ? parsed.value.asciiAddress.toLowerCase() : mailbox.toLowerCase();
}
