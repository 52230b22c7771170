import type { Disposer, Listener } from '@tracks/breaker';
import { Emitter, shouldFailover } from '@tracks/breaker';
import type { EmailAdapter, EmailLimits, EmailMessage, SendOptions, SendResult } from './types.js';
import { DEFAULT_EMAIL_LIMITS } from './types.js';
import { validateEmailMessage } from './validate.js';

/** Options of {@link failover}. */
export interface FailoverOptions {
  /**
   * `fallback`: every send starts with the first adapter and moves down the list on failure.
   * `round-robin`: each send starts with the next adapter in turn (spreading load), then moves
   * on through the others.
   * @default 'fallback'
   */
  strategy?: 'fallback' | 'round-robin';
  /**
   * Move on after an ambiguous timeout too, accepting that the first provider may also have
   * delivered (a duplicate) over not delivering at all.
   * @default false
   */
  retryAmbiguous?: boolean;
}

/** One move from a failing adapter to the next. */
export interface FailoverEvent {
  /** The provider that failed. */
  readonly from: string;
  /** The provider tried next. */
  readonly to: string;
  /** What `from` failed with. */
  readonly error: unknown;
}

/** An {@link EmailAdapter} over several; made by {@link failover}. */
export interface FailoverEmailAdapter extends EmailAdapter {
  /** The strictest limits of all the adapters: every message is validated against them once. */
  readonly limits: EmailLimits;
  /** The adapters, in the order given. */
  readonly adapters: readonly EmailAdapter[];
  /** Closes the wrapped adapters (its clients and sockets); always present on the wrapper. */
  close(): Promise<void>;
  /** Listens to each move to the next adapter; returns the disposer. */
  onFailover(listener: Listener<FailoverEvent>): Disposer;
}

/**
 * Sends through the first adapter that succeeds. It moves to the next one as DESIGN.md's
 * taxonomy says (`shouldFailover` from `@tracks/breaker`): after retryable errors (throttled,
 * transient), provider-scoped `permanent` and `auth` errors, and an open breaker; never after a
 * message-scoped error (a bad address would be refused by every provider), an abort, or an
 * ambiguous timeout unless `retryAmbiguous`. When every adapter fails, the last error is thrown.
 * The result's `provider` names the adapter that sent the message.
 *
 * Wrap each adapter in `withResilience` first, so each provider has its own breaker
 * (`email:ses`, `email:sendgrid`) and an open one fails over at once, without I/O.
 *
 * The combined `limits` are the strictest of all adapters': a message is validated once, up
 * front, so whichever adapter ends up sending it can.
 *
 * @example
 * const email = failover([withResilience(ses), withResilience(sendgrid)], { strategy: 'fallback' });
 */
export function failover(
  adapters: readonly EmailAdapter[],
  options: FailoverOptions = {},
): FailoverEmailAdapter {
  if (!Array.isArray(adapters) || adapters.length === 0) {
    throw new TypeError('failover: give at least one adapter');
  }
  const strategy = options.strategy ?? 'fallback';
  if (strategy !== 'fallback' && strategy !== 'round-robin') {
    throw new TypeError(`failover: unknown strategy ${JSON.stringify(strategy)}`);
  }
  const list = [...adapters];
  const retryAmbiguous = options.retryAmbiguous ?? false;
  const declared = list.map((a) => a.limits ?? DEFAULT_EMAIL_LIMITS);
  const limits: EmailLimits = Object.freeze({
    maxRecipients: Math.min(...declared.map((l) => l.maxRecipients)),
    maxMessageBytes: Math.min(...declared.map((l) => l.maxMessageBytes)),
  });
  const provider = `failover(${list.map((a) => a.provider).join(',')})`;
  let next = 0;
  let moves: Emitter<FailoverEvent> | undefined;

  const send = async (msg: EmailMessage, sendOptions?: SendOptions): Promise<SendResult> => {
    validateEmailMessage(msg, { limits, provider });
    const start = strategy === 'round-robin' ? next++ % list.length : 0;
    let lastError: unknown;
    for (let i = 0; i < list.length; i++) {
      const adapter = list[(start + i) % list.length] as EmailAdapter;
      sendOptions?.signal?.throwIfAborted();
      try {
        return await adapter.send(msg, sendOptions);
      } catch (error) {
        lastError = error;
        const following = list[(start + i + 1) % list.length] as EmailAdapter;
        if (i === list.length - 1 || !shouldFailover(error, { retryAmbiguous })) throw error;
        if (moves?.active) moves.emit({ from: adapter.provider, to: following.provider, error });
      }
    }
    throw lastError;
  };

  return {
    provider,
    limits,
    adapters: list,
    send,
    onFailover(listener) {
      moves ??= new Emitter();
      return moves.on(listener);
    },
    async close() {
      await Promise.all(list.map((a) => a.close?.()));
    },
  };
}
