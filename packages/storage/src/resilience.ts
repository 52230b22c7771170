import {
  asPolicy,
  type Breaker,
  isPolicy,
  isProviderError,
  type Policy,
  ProviderError,
  presets,
  type ResilienceOptions,
  type Settings,
} from '@tracks/breaker';
import { isReplayableBody, iterateBody } from './body.js';
import type { StorageAdapter, StorageBody } from './types.js';
import {
  validateKey,
  validateListLimit,
  validatePrefix,
  validatePutOptions,
  validateSignedUrlOptions,
} from './validation.js';

/** A {@link StorageAdapter} whose calls run through a policy; made by {@link withResilience}. */
export interface ResilientStorageAdapter extends StorageAdapter {
  /** The policy calls run through: observe `policy.breaker` and `policy.onRetry(…)` for metrics. */
  readonly policy: Policy;
  /** The adapter being wrapped. */
  readonly adapter: StorageAdapter;
  /** Closes the wrapped adapter (its clients and sockets); always present on the wrapper. */
  close(): Promise<void>;
}

/**
 * Wraps an adapter so that every call is validated first (bad keys never reach a breaker or a
 * retry), then run through a policy. Reads, lists, heads and deletes are idempotent: they are
 * retried on transient failures, throttling and timeouts. A `put` is idempotent only when its
 * body can be sent again (a `Uint8Array` or a `string`); a stream is read once, so a put of a
 * stream runs with `idempotent: false` and is not retried once the adapter has started reading
 * it (before that — a breaker rejection, a bulkhead queue — it still may be). `signedUrl` signs
 * locally and bypasses the policy.
 *
 * `policyOrOptions` is a policy made by `resilience()` from `@tracks/breaker`, or the same
 * options; options without a `breaker` get a breaker named `storage:<provider>` with the
 * `storage` preset (at least 10 requests, 50 % failures, 180 s open); breaker settings
 * (`{ breaker: { timeout: 60_000 } }`) are laid over that preset and name.
 *
 * @example
 * const storage = withResilience(new S3StorageAdapter({ bucket, client }), { retry: { maxRetries: 2 }, timeout: 10_000 });
 * await storage.put('avatars/42.png', bytes, { contentType: 'image/png' });
 * storage.policy.breaker?.state; // 'closed'
 */
export function withResilience(
  adapter: StorageAdapter,
  policyOrOptions?: Policy | ResilienceOptions,
): ResilientStorageAdapter {
  const familyBreaker: Settings = { ...presets.storage, name: `storage:${adapter.provider}` };
  const policy = asPolicy(
    policyOrOptions === undefined || isPolicy(policyOrOptions)
      ? policyOrOptions
      : overFamilyBreaker(policyOrOptions, familyBreaker),
    { breaker: familyBreaker },
  );
  const provider = adapter.provider;
  const signalOf = (signal: AbortSignal | undefined) => (signal === undefined ? {} : { signal });

  const wrapped: ResilientStorageAdapter = {
    provider,
    policy,
    adapter,
    put: async (key, body, options = {}) => {
      validateKey(key, { provider, operation: 'put' });
      validatePutOptions(options, { provider, operation: 'put' });
      if (isReplayableBody(body)) {
        return policy.execute(({ signal }) => adapter.put(key, body, { ...options, signal }), {
          idempotent: true,
          ...signalOf(options.signal),
        });
      }
      const once = readOnce(body);
      return policy.execute(
        async ({ signal, attempt }) => {
          if (once.touched) throw once.consumed(provider, attempt);
          try {
            return await adapter.put(key, once.body, { ...options, signal });
          } catch (error) {
            throw once.touched ? notRetryable(error) : error;
          }
        },
        { idempotent: false, ...signalOf(options.signal) },
      );
    },
    get: async (key, options = {}) => {
      validateKey(key, { provider, operation: 'get' });
      return policy.execute(({ signal }) => adapter.get(key, { signal }), signalOf(options.signal));
    },
    head: async (key, options = {}) => {
      validateKey(key, { provider, operation: 'head' });
      return policy.execute(({ signal }) => adapter.head(key, { signal }), signalOf(options.signal));
    },
    delete: async (key, options = {}) => {
      validateKey(key, { provider, operation: 'delete' });
      return policy.execute(({ signal }) => adapter.delete(key, { signal }), signalOf(options.signal));
    },
    list: async (prefix = '', options = {}) => {
      validatePrefix(prefix, { provider, operation: 'list' });
      validateListLimit(options, { provider, operation: 'list' });
      const { signal: callerSignal, ...rest } = options;
      return policy.execute(
        ({ signal }) => adapter.list(prefix, { ...rest, signal }),
        signalOf(callerSignal),
      );
    },
    close: async () => {
      await adapter.close?.();
    },
  };
  if (adapter.signedUrl !== undefined) {
    const sign = adapter.signedUrl.bind(adapter);
    wrapped.signedUrl = async (key, options) => {
      validateKey(key, { provider, operation: 'signedUrl' });
      validateSignedUrlOptions(options, { provider, operation: 'signedUrl' });
      return sign(key, options);
    };
  }
  return wrapped;
}

// A stream body wrapped so that we know whether the adapter has started reading it: until then a
// retry can still send it; after that, it is (partly) gone.
function readOnce(body: StorageBody) {
  let touched = false;
  let iterator: AsyncGenerator<Uint8Array> | undefined;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        touched = true;
        iterator ??= iterateBody(body);
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        touched = true;
        await (iterator ?? iterateBody(body)).return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  return {
    body: stream,
    get touched() {
      return touched;
    },
    consumed: (provider: string, attempt: number) =>
      new ProviderError({
        kind: 'invalid',
        scope: 'message',
        provider,
        operation: 'put',
        field: 'body',
        message: `${provider} put not retried: attempt ${attempt - 1} already read the body stream; pass a Uint8Array or a string to make the put retryable`,
      }),
  };
}

// The same failure, marked as not retryable: the stream it was reading is spent. The breaker still
// counts it (same kind and scope); the retry stops; the caller sees the real kind.
function notRetryable(error: unknown): unknown {
  if (!isProviderError(error) || !error.retryable) return error;
  return new ProviderError({
    kind: error.kind,
    scope: error.scope,
    retryable: false,
    provider: error.provider,
    operation: error.operation,
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(error.field !== undefined ? { field: error.field } : {}),
    ...(error.cause !== undefined ? { cause: error.cause } : {}),
    message: `${error.message.replace(/; may be retried$/, '')}; not retried: the body stream was already read`,
  });
}

// Breaker settings given in the options are laid over the family's (its preset and the
// `storage:<provider>` name), as serviceBreakers() lays overrides over a preset: a caller who tunes
// one threshold keeps the preset's exclusions (message-scoped errors never count) and the name
// that metrics and dashboards use. A breaker instance, or `false`, is taken as it is.
function overFamilyBreaker(options: ResilienceOptions, family: Settings): ResilienceOptions {
  const breaker = options.breaker;
  if (typeof breaker !== 'object' || breaker === null || typeof (breaker as Breaker).execute === 'function') {
    return options;
  }
  return { ...options, breaker: { ...family, ...(breaker as Settings) } };
}
