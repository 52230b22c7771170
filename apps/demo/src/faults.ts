import { ProviderError } from '@tracks/breaker';

/** The services faults can be injected in front of. */
export type ServiceName = 'email' | 'sms' | 'storage';

/** What the fault layer does to each call of one provider. */
export interface FaultSettings {
  /** Share of calls that fail with an injected transient error, 0..1. */
  readonly failureRate: number;
  /** Delay added before every call, in ms. */
  readonly latencyMs: number;
  /** Calls never answer: they wait until the caller's signal aborts (the policy's timeout). */
  readonly hang: boolean;
}

/** One provider's faults, as `GET /api/faults` lists them. */
export interface FaultEntry extends FaultSettings {
  readonly service: ServiceName;
  readonly provider: string;
}

const none: FaultSettings = Object.freeze({ failureRate: 0, latencyMs: 0, hang: false });

/**
 * The fault-injection layer that sits between each provider adapter and its resilience policy,
 * so injected failures travel the real path: they count against the provider's breaker, are
 * retried and trip it exactly as an outage would.
 */
export class FaultInjector {
  readonly #faults = new Map<string, FaultEntry>();
  // calls held by `hang`, released when the faults change or the app closes
  readonly #held = new Set<(error: unknown) => void>();
  readonly #random: () => number;

  constructor(options: { random?: () => number } = {}) {
    this.#random = options.random ?? Math.random;
  }

  /** Replaces one provider's faults; releases calls held by an earlier `hang`. */
  set(service: ServiceName, provider: string, settings: Partial<FaultSettings>): FaultEntry {
    const entry: FaultEntry = { service, provider, ...none, ...settings };
    this.#faults.set(`${service}:${provider}`, entry);
    if (!entry.hang) this.#release();
    return entry;
  }

  /** The faults of one provider (none when never set). */
  get(service: ServiceName, provider: string): FaultEntry {
    return this.#faults.get(`${service}:${provider}`) ?? { service, provider, ...none };
  }

  /** Every provider whose faults were set. */
  all(): FaultEntry[] {
    return [...this.#faults.values()];
  }

  /** Clears every fault and releases held calls. */
  clear(): void {
    this.#faults.clear();
    this.#release();
  }

  /** Clears the faults of every provider of one service and releases their held calls. */
  clearService(service: ServiceName): void {
    for (const [key, entry] of this.#faults) if (entry.service === service) this.#faults.delete(key);
    this.#release();
  }

  /** Number of calls currently held by `hang` (for leak checks). */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Runs before each provider call: waits `latencyMs`, holds the call while `hang` is on, then
   * fails it with probability `failureRate`.
   */
  async before(
    service: ServiceName,
    provider: string,
    operation: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const fault = this.#faults.get(`${service}:${provider}`);
    if (fault === undefined) return;
    if (fault.latencyMs > 0) await this.#wait(fault.latencyMs, signal);
    if (fault.hang) await this.#wait(undefined, signal);
    if (fault.failureRate > 0 && this.#random() < fault.failureRate) {
      throw new ProviderError({
        kind: 'transient',
        provider,
        operation,
        status: 503,
        message: `${provider} ${operation} failed: injected fault (failure rate ${Math.round(fault.failureRate * 100)} %)`,
      });
    }
  }

  #release(): void {
    const held = [...this.#held];
    this.#held.clear();
    for (const release of held) release(undefined);
  }

  // resolves after `ms` (or when released, for a hang); rejects when `signal` aborts
  #wait(ms: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (error: unknown) => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#held.delete(settle);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = () => settle(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#held.add(settle);
      if (ms !== undefined) timer = setTimeout(() => settle(undefined), ms);
    });
  }
}

/**
 * Puts the fault layer in front of an adapter: each of `operations` first runs
 * {@link FaultInjector.before} for the adapter's provider, then the adapter's own method.
 * Everything else (`provider`, `limits`, `otp`, `close`) passes through untouched.
 */
export function withFaults<A extends { readonly provider: string }>(
  adapter: A,
  service: ServiceName,
  faults: FaultInjector,
  operations: readonly string[],
): A {
  return new Proxy(adapter, {
    get(target, property) {
      // the target is the receiver: adapters keep their state in private fields
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (typeof property !== 'string' || !operations.includes(property)) return method.bind(target);
      return async (...args: unknown[]) => {
        await faults.before(service, target.provider, property, signalOf(args));
        return method.apply(target, args);
      };
    },
  });
}

function signalOf(args: readonly unknown[]): AbortSignal | undefined {
  for (let i = args.length - 1; i >= 0; i--) {
    const arg = args[i] as { signal?: unknown } | undefined;
    if (typeof arg === 'object' && arg !== null && arg.signal instanceof AbortSignal) return arg.signal;
  }
  return undefined;
}
