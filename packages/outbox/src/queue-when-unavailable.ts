import { isBreakerRejection, isBulkheadRejection, isRetryable } from '@tracks/breaker';
import type { EnqueueOptions } from './outbox.js';

/** What a send answers when its message was queued instead: the outbox job's id. */
export interface Queued {
  readonly queued: true;
  /** The outbox job's id. */
  readonly id: string;
  /** The error that made the send queue the message (an open breaker, a 503). */
  readonly error: unknown;
}

/** The part of an outbox that {@link queueWhenUnavailable} uses. */
export interface OutboxQueue {
  // biome-ignore lint/suspicious/noExplicitAny: any outbox's typed enqueue must fit
  enqueue(queue: string, payload: any, options?: EnqueueOptions): Promise<{ readonly id: string }>;
}

/** An adapter of the email family, structurally: `send(message, options)`. */
export interface EmailSender {
  // biome-ignore lint/suspicious/noExplicitAny: the family's message and options types
  send(message: any, options?: any): Promise<unknown>;
}

/** An adapter of the SMS family, structurally: `sendMessage(phone, body, options)`. */
export interface SmsSender {
  // biome-ignore lint/suspicious/noExplicitAny: the family's options type
  sendMessage(phone: string, body: string, options?: any): Promise<unknown>;
}

/** The SMS payload the outbox stores: what the `sms` handler receives. */
export interface SmsJob {
  /** The phone number, as the caller gave it. */
  to: string;
  /** The message body. */
  body: string;
}

/** Options of {@link queueWhenUnavailable}. */
export interface QueueWhenUnavailableOptions {
  /**
   * The outbox queue (handler) that delivers queued messages.
   * @default 'email' for an email adapter, 'sms' for an SMS adapter
   */
  queue?: string;
  /**
   * Runs before every send; a throw fails the call at once and nothing is queued. The family's
   * `withResilience` already validates before its policy, so an invalid message is refused either
   * way; pass `validateEmailMessage` here for an adapter without it.
   * @default undefined
   */
  validate?: (payload: unknown) => void;
  /**
   * The idempotency key of a queued message.
   * @default the message's `idempotencyKey` (email), none (SMS)
   */
  idempotencyKey?: (payload: unknown) => string | undefined;
  /**
   * Also queue a send that timed out after the request left (it may have been delivered: the
   * outbox will deliver it again, a possible duplicate).
   * @default false (the caller gets the timeout)
   */
  queueAmbiguous?: boolean;
}

/** An email adapter whose `send` queues the message when the provider is unavailable. */
export type QueueingEmailAdapter<A extends EmailSender> = Omit<A, 'send'> & {
  send(
    message: Parameters<A['send']>[0],
    options?: Parameters<A['send']>[1],
  ): Promise<Awaited<ReturnType<A['send']>> | Queued>;
};

/** An SMS adapter whose `sendMessage` queues the message when the provider is unavailable. */
export type QueueingSmsAdapter<A extends SmsSender> = Omit<A, 'sendMessage'> & {
  sendMessage(
    phone: string,
    body: string,
    options?: Parameters<A['sendMessage']>[2],
  ): Promise<Awaited<ReturnType<A['sendMessage']>> | Queued>;
};

/**
 * Wraps an email or SMS adapter (usually one made by the family's `withResilience`) so that a send
 * that meets an open breaker (or a full bulkhead), or fails with a retryable error once the policy
 * gave up, is stored in the outbox instead: the caller gets `{ queued: true, id }`, and the outbox
 * delivers it when the provider is back. Invalid input, message-scoped and other permanent
 * failures still reject at once. Every other member of the adapter is passed through.
 *
 * Typed structurally (`send(message, options)` or `sendMessage(phone, body, options)`), so this
 * package imports neither family.
 *
 * @example
 * const email = queueWhenUnavailable(withResilience(ses), outbox);
 * const result = await email.send(message);
 * if ('queued' in result) reply.code(202).send({ queued: true, id: result.id });
 */
export function queueWhenUnavailable<A extends EmailSender>(
  adapter: A,
  outbox: OutboxQueue,
  options?: QueueWhenUnavailableOptions,
): QueueingEmailAdapter<A>;
export function queueWhenUnavailable<A extends SmsSender>(
  adapter: A,
  outbox: OutboxQueue,
  options?: QueueWhenUnavailableOptions,
): QueueingSmsAdapter<A>;
export function queueWhenUnavailable(
  adapter: EmailSender | SmsSender,
  outbox: OutboxQueue,
  options: QueueWhenUnavailableOptions = {},
): unknown {
  if (typeof outbox?.enqueue !== 'function') {
    throw new TypeError('queueWhenUnavailable: outbox must have enqueue() (createOutbox())');
  }
  const queueAmbiguous = options.queueAmbiguous ?? false;
  const shouldQueue = (error: unknown): boolean =>
    isBreakerRejection(error) ||
    isBulkheadRejection(error) ||
    isRetryable(error, { idempotent: false, retryAmbiguous: queueAmbiguous });

  const attempt = async (
    payload: unknown,
    send: () => Promise<unknown>,
    queue: string,
    key: string | undefined,
  ): Promise<unknown> => {
    options.validate?.(payload);
    try {
      return await send();
    } catch (error) {
      if (!shouldQueue(error)) throw error;
      const { id } = await outbox.enqueue(queue, payload, key === undefined ? {} : { idempotencyKey: key });
      return { queued: true, id, error } satisfies Queued;
    }
  };

  if (typeof (adapter as EmailSender).send === 'function') {
    const email = adapter as EmailSender;
    const queue = options.queue ?? 'email';
    const keyOf =
      options.idempotencyKey ??
      ((message: unknown) => {
        const key = (message as { idempotencyKey?: unknown } | null)?.idempotencyKey;
        return typeof key === 'string' ? key : undefined;
      });
    const send = (message: unknown, sendOptions?: unknown): Promise<unknown> =>
      attempt(message, () => email.send(message, sendOptions), queue, keyOf(message));
    return passThrough(adapter, 'send', send);
  }
  if (typeof (adapter as SmsSender).sendMessage === 'function') {
    const sms = adapter as SmsSender;
    const queue = options.queue ?? 'sms';
    const sendMessage = (phone: string, body: string, sendOptions?: unknown): Promise<unknown> => {
      const job: SmsJob = { to: phone, body };
      return attempt(
        job,
        () => sms.sendMessage(phone, body, sendOptions),
        queue,
        options.idempotencyKey?.(job),
      );
    };
    return passThrough(adapter, 'sendMessage', sendMessage);
  }
  throw new TypeError(
    'queueWhenUnavailable: expected an email adapter (send) or an SMS adapter (sendMessage)',
  );
}

// The other members keep working on the adapter itself (methods bound to it: class adapters
// with private fields need their own `this`).
function passThrough(adapter: object, name: string, replacement: unknown): unknown {
  return new Proxy(adapter, {
    get(target, property) {
      if (property === name) return replacement;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
