import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:http';
import twilio from 'twilio';

/** What one adapter call shares with the HTTP client below it. */
interface CallContext {
  readonly signal: AbortSignal | undefined;
  /** The `Retry-After` of the last error response, which `RestException` does not keep. */
  retryAfter?: string;
}

const calls = new AsyncLocalStorage<CallContext>();

/** Runs `fn` with a per-call context that {@link TwilioHttpClient} fills in. @internal */
export function withCallContext<T>(
  signal: AbortSignal | undefined,
  fn: (context: CallContext) => Promise<T>,
): Promise<T> {
  const context: CallContext = { signal };
  return calls.run(context, () => fn(context));
}

/** Options of {@link TwilioHttpClient}. */
export interface TwilioHttpClientOptions {
  /**
   * Request timeout in ms (the SDK's `timeout`: socket and request).
   * @default 10_000
   */
  timeoutMs?: number;
  /**
   * Sends every request to this origin instead of `https://*.twilio.com`, keeping the path
   * (`http://127.0.0.1:4010` for a local test server).
   * @default undefined (Twilio's own hosts)
   */
  baseUrl?: string;
}

/** An error of the HTTP layer below the SDK, stripped of the request (and its Authorization header). */
export class TwilioTransportError extends Error {
  /** The Node.js or axios error code: `ECONNREFUSED`, `ECONNABORTED`, `ECONNRESET`, … */
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'TwilioTransportError';
    this.code = code;
  }
}

/**
 * twilio's `RequestClient`, with three changes: it reads `Retry-After` from error responses
 * (the SDK's `RestException` drops headers) so throttling carries `retryAfterMs`; it passes the
 * caller's `AbortSignal` down to the request; and it rethrows transport errors without the
 * request config, which holds the auth token. `baseUrl` points it at a local server in tests.
 * Its own 429 auto-retry stays off: retries belong to the policy.
 */
export class TwilioHttpClient extends twilio.RequestClient {
  readonly #baseUrl: URL | undefined;
  readonly #httpAgent: Agent | undefined;

  constructor(options: TwilioHttpClientOptions = {}) {
    const timeout = options.timeoutMs ?? 10_000;
    super({ timeout, autoRetry: false });
    this.#baseUrl = options.baseUrl === undefined ? undefined : new URL(options.baseUrl);
    if (this.#baseUrl?.protocol === 'http:') {
      // a plain-HTTP base URL (a local server) gets its own agent rather than Node's global one
      this.#httpAgent = new Agent({ keepAlive: true, timeout });
      this.axios.defaults.httpAgent = this.#httpAgent;
    }
    // the caller's signal travels to axios through the call's async context
    this.axios.interceptors.request.use((config) => {
      const signal = calls.getStore()?.signal;
      if (signal !== undefined) config.signal = signal;
      return config;
    });
  }

  override async request<TData>(
    opts: Parameters<InstanceType<typeof twilio.RequestClient>['request']>[0],
  ): Promise<{ statusCode: number; body: TData; headers: unknown }> {
    const uri = this.#baseUrl === undefined || opts.uri === undefined ? opts.uri : this.#rewrite(opts.uri);
    let response: { statusCode: number; body: TData; headers: unknown };
    try {
      response = (await super.request({ ...opts, uri })) as typeof response;
    } catch (error) {
      const e = error as { message?: unknown; code?: unknown };
      throw new TwilioTransportError(
        typeof e.message === 'string' ? e.message : 'request failed',
        typeof e.code === 'string' ? e.code : undefined,
      );
    }
    const context = calls.getStore();
    if (context !== undefined && response.statusCode >= 400) {
      const headers = (response.headers ?? {}) as Record<string, unknown>;
      const retryAfter = headers['retry-after'];
      if (typeof retryAfter === 'string') context.retryAfter = retryAfter;
    }
    return response;
  }

  /** Closes the sockets this client keeps alive. */
  destroy(): void {
    this.#httpAgent?.destroy();
    (this.axios.defaults.httpsAgent as { destroy?: () => void } | undefined)?.destroy?.();
  }

  #rewrite(uri: string): string {
    const url = new URL(uri);
    if (!url.hostname.endsWith('.twilio.com')) return uri;
    const base = this.#baseUrl!;
    url.protocol = base.protocol;
    url.hostname = base.hostname;
    url.port = base.port;
    return url.toString();
  }
}
