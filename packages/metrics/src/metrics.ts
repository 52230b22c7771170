import type { Disposer } from '@tracks/breaker';
import {
  Counter,
  Gauge,
  register as globalRegister,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type Registry,
} from 'prom-client';
import { BreakerCounts, countCalls, STATES } from './breaker-counts.js';
import { boundsInMs, defaultBuckets, FoldedHistogram } from './duration-histogram.js';
import type {
  BreakerState,
  GiveUpEvent,
  ObservableBreaker,
  ObservableBreakerRegistry,
  ObservableOutbox,
  ObservablePolicy,
  ObservableStore,
  OutboxOutcome,
  StoreErrorEvent,
} from './observable.js';

/** A prom-client registry of either exposition format. */
export type MetricsRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /**
   * Registry the metric families are registered in. One `createMetrics()` per registry (and
   * prefix): prom-client refuses a second family of the same name.
   * @default prom-client's global `register`
   */
  registry?: MetricsRegistry;
  /**
   * Prepended to every family name, e.g. `'myapp_'` gives `myapp_circuit_breaker_state`.
   * @default ''
   */
  prefix?: string;
  /**
   * Upper bounds, in seconds, of the `circuit_breaker_request_duration_seconds` buckets.
   * @default defaultBuckets (0.005 … 30)
   */
  buckets?: readonly number[];
  /**
   * Record `circuit_breaker_request_duration_seconds`. Off, the family is not registered and a
   * call costs only its counter.
   * @default true
   */
  durations?: boolean;
}

/** Options of {@link Metrics.observeRetry}. */
export interface ObserveRetryOptions {
  /**
   * The `service` label.
   * @default the name of `policy.breaker`; required when the policy has no breaker
   */
  service?: string;
}

/** Options of {@link Metrics.observeStore}. */
export interface ObserveStoreOptions {
  /**
   * The `service` label for every error of this store.
   * @default `store.name`, else the `name` of each error event
   */
  service?: string;
}

/** Options of {@link Metrics.observeOutbox}. */
export interface ObserveOutboxOptions {
  /**
   * The `queue` label.
   * @default `outbox.name`, else `'default'`
   */
  queue?: string;
}

/** The metric families of one registry and the observers that feed them. */
export interface Metrics {
  /** The registry the families live in (pass it to {@link metricsHandler}). */
  readonly registry: MetricsRegistry;
  /**
   * Counts the calls, rejections and transitions of a breaker, and exposes its state at scrape
   * time. Given a registry (anything with `all()` and `onCreate()`), observes every breaker in it,
   * present and future. Observing the same breaker twice counts it once.
   * @returns a function that detaches every listener this call attached; the counts stay
   *   exposed, they stop growing, and the breaker's `circuit_breaker_state` series goes away.
   */
  observe(target: ObservableBreaker | ObservableBreakerRegistry): Disposer;
  /**
   * Counts a policy's retries, successes and give-ups in `retry_attempts_total`.
   * @throws TypeError when the service cannot be named (no `breaker` and no `service` option)
   */
  observeRetry(policy: ObservablePolicy, options?: ObserveRetryOptions): Disposer;
  /** Counts a shared breaker store's errors (for `@tracks/redis`). */
  observeStore(store: ObservableStore, options?: ObserveStoreOptions): Disposer;
  /** Counts an outbox's deliveries and exposes its job counts at scrape time (for `@tracks/outbox`). */
  observeOutbox(outbox: ObservableOutbox, options?: ObserveOutboxOptions): Disposer;
  /** Detaches every listener of every observation; the families stay registered. */
  stop(): void;
}

const STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };
const OUTBOX_OUTCOMES: readonly OutboxOutcome[] = ['delivered', 'failed', 'dead'];
// the `outcome` label values of outbox_deliveries_total: a failed attempt whose outcome was
// unknown (a timeout after the request left) is `ambiguous`, not `failed`, since it may have
// delivered and its retry may be a duplicate
const OUTBOX_DELIVERY_OUTCOMES = ['delivered', 'failed', 'ambiguous', 'dead'] as const;
// outbox stats keys become label values: only plain identifiers, never arbitrary text
const LABEL_VALUE = /^[a-z][a-z0-9_-]{0,63}$/i;

class RetryCounts {
  retry = 0;
  success = 0;
  exhausted = 0;
  aborted = 0;
}

class OutboxCounts {
  delivered = 0;
  failed = 0;
  ambiguous = 0;
  dead = 0;
}

interface BreakerWatch {
  // weak: observing a breaker must not keep it alive once the app has dropped it
  readonly breaker: WeakRef<ObservableBreaker>;
  readonly counts: BreakerCounts;
  readonly disposers: readonly Disposer[];
  refs: number;
  /** Stops of the direct `observe(breaker)` calls, run once the breaker is found collected. */
  readonly stops: Set<Disposer>;
}

interface OutboxWatch {
  readonly queue: string;
  readonly outbox: ObservableOutbox;
}

/**
 * Decides whether a give-up was the caller aborting rather than retries running out. A policy of
 * `@tracks/breaker` says so in the event (`aborted`), and that answer is taken as it is, custom
 * abort reasons included. For a policy whose events carry no `aborted`, this looks at the
 * error instead, since a policy rejects an aborted call with the signal's reason: an `AbortError`
 * (the default reason of `AbortController.abort()`, and what fetch, undici and the AWS SDK throw)
 * or a `DOMException` named `TimeoutError` (the reason of `AbortSignal.timeout()` on the caller's
 * signal). A policy's own attempt timeout is a `TimeoutError` that is not a `DOMException`, and
 * counts as exhausted. Without `aborted`, an abort with a custom reason
 * (`controller.abort(new Error('shutdown'))`) cannot be told apart from a failure and counts as
 * exhausted too.
 */
export function isAbortGiveUp(event: GiveUpEvent): boolean {
  if (typeof event.aborted === 'boolean') return event.aborted;
  const error = event.error;
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  return name === 'AbortError' || (name === 'TimeoutError' && error instanceof DOMException);
}

function isBreaker(x: unknown): x is ObservableBreaker {
  const b = x as Partial<Record<keyof ObservableBreaker, unknown>> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.name === 'string' &&
    typeof b.onStateChange === 'function' &&
    typeof b.onSuccess === 'function' &&
    typeof b.onFailure === 'function' &&
    typeof b.onExclusion === 'function' &&
    typeof b.onReject === 'function'
  );
}

function isBreakerRegistry(x: unknown): x is ObservableBreakerRegistry {
  const r = x as Partial<Record<keyof ObservableBreakerRegistry, unknown>> | null;
  return (
    typeof r === 'object' && r !== null && typeof r.all === 'function' && typeof r.onCreate === 'function'
  );
}

/**
 * Registers the tracks metric families in a prom-client registry and returns the observers that
 * feed them.
 *
 * The hot path only adds to plain numbers in a per-service object found once, when a breaker is
 * observed; prom-client sees them when the registry is scraped (`collect()`), so a call costs tens
 * of nanoseconds instead of a label hash per `inc()`. `circuit_breaker_state` reads
 * `breaker.state` at scrape time, so a breaker whose open timeout has passed shows half-open
 * (1) even when no call touched it.
 *
 * @example
 * const metrics = createMetrics({ registry });
 * const stop = metrics.observe(breakers);   // a BreakerRegistry, or one breaker
 * metrics.observeRetry(policy);
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? globalRegister;
  const prefix = options.prefix ?? '';
  const buckets = [...(options.buckets ?? defaultBuckets)];
  const durations = options.durations ?? true;
  if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
  if (
    buckets.some((b) => !Number.isFinite(b) || b <= 0) ||
    buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)
  ) {
    throw new TypeError('buckets must be finite, positive and strictly increasing (seconds)');
  }
  const boundsMs = boundsInMs(buckets);
  const bucketCount = durations ? buckets.length : undefined;

  const services = new Map<string, BreakerCounts>();
  const watchOf = new WeakMap<ObservableBreaker, BreakerWatch>();
  const watches = new Set<BreakerWatch>();
  const retries = new Map<string, RetryCounts>();
  const storeErrors = new Map<string, { errors: number }>();
  const outboxCounts = new Map<string, OutboxCounts>();
  const outboxes = new Set<OutboxWatch>();
  const observations = new Set<Disposer>();
  const registers = [registry];

  const countsFor = (service: string): BreakerCounts => {
    let counts = services.get(service);
    if (counts === undefined) {
      counts = new BreakerCounts(service, bucketCount);
      services.set(service, counts);
    }
    return counts;
  };

  // Registered first: reading `breaker.state` may run a lazy transition, whose state change must
  // be counted before circuit_breaker_state_changes_total is folded in the same scrape.
  const state: Gauge<'service'> = new Gauge({
    name: `${prefix}circuit_breaker_state`,
    help: 'Circuit breaker state, read at scrape time: 0 closed, 1 half-open, 2 open.',
    labelNames: ['service'],
    registers,
    collect() {
      state.reset();
      for (const watch of watches) {
        const breaker = watch.breaker.deref();
        if (breaker === undefined) {
          // collected without stop(): release what observing it holds (its counts stay)
          for (const stop of [...watch.stops]) stop();
          watches.delete(watch);
          continue;
        }
        let current: unknown;
        try {
          current = breaker.state;
        } catch {
          continue; // a broken breaker must not break the scrape of every other metric
        }
        const value = STATE_VALUE[current as BreakerState];
        if (value !== undefined) state.set(watch.counts.stateLabels, value);
      }
    },
  });

  const requests: Counter<'service' | 'result'> = new Counter({
    name: `${prefix}circuit_breaker_requests_total`,
    help: 'Calls through a circuit breaker by result: success, failure, excluded (counted as neither), rejected_open, rejected_too_many (half-open and full).',
    labelNames: ['service', 'result'],
    registers,
    collect() {
      requests.reset();
      for (const c of services.values()) {
        requests.inc({ service: c.service, result: 'success' }, c.success);
        requests.inc({ service: c.service, result: 'failure' }, c.failure);
        requests.inc({ service: c.service, result: 'excluded' }, c.excluded);
        requests.inc({ service: c.service, result: 'rejected_open' }, c.rejectedOpen);
        requests.inc({ service: c.service, result: 'rejected_too_many' }, c.rejectedTooMany);
      }
    },
  });

  const stateChanges: Counter<'service' | 'from' | 'to'> = new Counter({
    name: `${prefix}circuit_breaker_state_changes_total`,
    help: 'Circuit breaker state transitions, by the state left (from) and the state entered (to).',
    labelNames: ['service', 'from', 'to'],
    registers,
    collect() {
      stateChanges.reset();
      for (const c of services.values()) {
        // every transition starts at 0, so increase() sees the first one (a series born at 1 hides it)
        for (let i = 0; i < 9; i++) {
          const from = STATES[(i / 3) | 0]!;
          const to = STATES[i % 3]!;
          if (from !== to) stateChanges.inc({ service: c.service, from, to }, c.transitions[i]!);
        }
      }
    },
  });

  if (durations) {
    new FoldedHistogram(
      {
        name: `${prefix}circuit_breaker_request_duration_seconds`,
        help: 'Duration of calls admitted by a circuit breaker, by result: success, failure, excluded.',
        labelNames: ['service', 'result'],
        buckets,
      },
      registry,
      // A series appears with its first observation: a breaker that reports no duration for
      // failures would otherwise show an empty failure histogram next to a non-zero failure count.
      function* series() {
        for (const c of services.values()) {
          for (const d of [c.successDurations, c.failureDurations, c.excludedDurations]) {
            if (d !== undefined && d.count > 0) yield d;
          }
        }
      },
    );
  }

  const retryAttempts: Counter<'service' | 'outcome'> = new Counter({
    name: `${prefix}retry_attempts_total`,
    help: 'Retry policy events: retry (a failed attempt is tried again), success (a call succeeded), exhausted (gave up on an error), aborted (gave up because the call was aborted).',
    labelNames: ['service', 'outcome'],
    registers,
    collect() {
      retryAttempts.reset();
      for (const [service, c] of retries) {
        retryAttempts.inc({ service, outcome: 'retry' }, c.retry);
        retryAttempts.inc({ service, outcome: 'success' }, c.success);
        retryAttempts.inc({ service, outcome: 'exhausted' }, c.exhausted);
        retryAttempts.inc({ service, outcome: 'aborted' }, c.aborted);
      }
    },
  });

  // The store and outbox families appear only once something is observed: an app without
  // @tracks/redis or @tracks/outbox should not export empty families for them.
  let storeFamily: Counter<'service'> | undefined;
  const ensureStoreFamily = (): void => {
    if (storeFamily !== undefined) return;
    const family: Counter<'service'> = new Counter({
      name: `${prefix}circuit_breaker_store_errors_total`,
      help: 'Errors reading or writing shared circuit breaker state in its store.',
      labelNames: ['service'],
      registers,
      collect() {
        family.reset();
        for (const [service, c] of storeErrors) family.inc({ service }, c.errors);
      },
    });
    storeFamily = family;
  };

  let outboxFamilies = false;
  const ensureOutboxFamilies = (): void => {
    if (outboxFamilies) return;
    outboxFamilies = true;
    const jobs: Gauge<'queue' | 'state'> = new Gauge({
      name: `${prefix}outbox_jobs`,
      help: 'Outbox jobs by state, read from the outbox at scrape time.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const all = await Promise.all(
          [...outboxes].map(async ({ queue, outbox }) => {
            try {
              return { queue, stats: await outbox.stats() };
            } catch {
              return undefined; // an unreachable outbox store drops its series, not the scrape
            }
          }),
        );
        jobs.reset();
        for (const entry of all) {
          if (entry === undefined) continue;
          for (const [key, value] of Object.entries(entry.stats)) {
            if (typeof value === 'number' && Number.isFinite(value) && LABEL_VALUE.test(key)) {
              jobs.set({ queue: entry.queue, state: key }, value);
            }
          }
        }
      },
    });
    const deliveries: Counter<'queue' | 'outcome'> = new Counter({
      name: `${prefix}outbox_deliveries_total`,
      help: 'Outbox delivery attempts by outcome: delivered, failed (will be retried), ambiguous (may have delivered; will be retried), dead (given up).',
      labelNames: ['queue', 'outcome'],
      registers,
      collect() {
        deliveries.reset();
        for (const [queue, c] of outboxCounts) {
          for (const outcome of OUTBOX_DELIVERY_OUTCOMES) deliveries.inc({ queue, outcome }, c[outcome]);
        }
      },
    });
  };

  const track = (dispose: Disposer): Disposer => {
    let done = false;
    const stop = (): void => {
      if (done) return;
      done = true;
      observations.delete(stop);
      dispose();
    };
    observations.add(stop);
    return stop;
  };

  // Not tracked on its own: its callers (observe, a registry watch) track the stop they return.
  const watchBreaker = (breaker: ObservableBreaker): { watch: BreakerWatch; release: Disposer } => {
    let watch = watchOf.get(breaker);
    if (watch === undefined) {
      const counts = countsFor(breaker.name);
      watch = {
        breaker: new WeakRef(breaker),
        counts,
        disposers: countCalls(breaker, counts, boundsMs),
        refs: 0,
        stops: new Set(),
      };
      watchOf.set(breaker, watch);
      watches.add(watch);
    }
    const w = watch;
    w.refs++;
    let done = false;
    // holds the watch, never the breaker itself
    const release = (): void => {
      if (done) return;
      done = true;
      if (--w.refs > 0) return;
      for (const dispose of w.disposers) dispose();
      watches.delete(w);
      const b = w.breaker.deref();
      if (b !== undefined) watchOf.delete(b);
    };
    return { watch: w, release };
  };

  const watchRegistry = (breakers: ObservableBreakerRegistry): Disposer => {
    const stops: Disposer[] = [];
    for (const breaker of breakers.all()) {
      if (isBreaker(breaker)) stops.push(watchBreaker(breaker).release);
    }
    const offCreate = breakers.onCreate((event) => {
      // the event is `{ name, breaker }`; a registry that hands over the breaker itself works too
      const breaker: unknown = isBreaker(event) ? event : event?.breaker;
      if (isBreaker(breaker)) stops.push(watchBreaker(breaker).release);
    });
    return () => {
      offCreate();
      for (const stop of stops) stop();
      stops.length = 0;
    };
  };

  return {
    registry,

    observe(target) {
      if (isBreakerRegistry(target)) return track(watchRegistry(target));
      if (isBreaker(target)) {
        const { watch, release } = watchBreaker(target);
        const stop = track(() => {
          watch.stops.delete(stop);
          release();
        });
        watch.stops.add(stop);
        return stop;
      }
      throw new TypeError(
        'observe() takes a breaker (name, state, onStateChange/onSuccess/onFailure/onExclusion/onReject) or a registry (all, onCreate)',
      );
    },

    observeRetry(policy, retryOptions = {}) {
      const service = retryOptions.service ?? policy.breaker?.name;
      if (typeof service !== 'string') {
        throw new TypeError(
          'observeRetry(): the policy has no breaker to name the service; pass { service }',
        );
      }
      let c = retries.get(service);
      if (c === undefined) {
        c = new RetryCounts();
        retries.set(service, c);
      }
      const counts = c;
      const disposers = [
        policy.onRetry(() => {
          counts.retry++;
        }),
        policy.onSuccess(() => {
          counts.success++;
        }),
        policy.onGiveUp((event) => {
          if (isAbortGiveUp(event)) counts.aborted++;
          else counts.exhausted++;
        }),
      ];
      return track(() => {
        for (const dispose of disposers) dispose();
      });
    },

    observeStore(store, storeOptions = {}) {
      ensureStoreFamily();
      const fixed = storeOptions.service ?? store.name;
      const countsFor = (service: string): { errors: number } => {
        let c = storeErrors.get(service);
        if (c === undefined) {
          c = { errors: 0 };
          storeErrors.set(service, c);
        }
        return c;
      };
      const fixedCounts = typeof fixed === 'string' ? countsFor(fixed) : undefined;
      const dispose = store.onStoreError((event: StoreErrorEvent) => {
        // store errors are rare: looking the service up per event costs nothing that matters
        if (fixedCounts !== undefined) fixedCounts.errors++;
        else if (typeof event?.name === 'string') countsFor(event.name).errors++;
      });
      return track(dispose);
    },

    observeOutbox(outbox, outboxOptions = {}) {
      ensureOutboxFamilies();
      const queue = outboxOptions.queue ?? outbox.name ?? 'default';
      let c = outboxCounts.get(queue);
      if (c === undefined) {
        c = new OutboxCounts();
        outboxCounts.set(queue, c);
      }
      const counts = c;
      const disposers: Disposer[] = [];
      for (const outcome of OUTBOX_OUTCOMES) {
        const listener = (event: unknown): void => {
          if (outcome === 'failed' && (event as { outcome?: unknown } | null)?.outcome === 'ambiguous') {
            counts.ambiguous++;
          } else counts[outcome]++;
        };
        const dispose: unknown = outbox.on(outcome, listener);
        // an EventEmitter returns itself from on(): detach through off()
        const off = (outbox as { off?: unknown }).off;
        if (typeof dispose === 'function') disposers.push(dispose as Disposer);
        else if (typeof off === 'function') disposers.push(() => off.call(outbox, outcome, listener));
        else {
          for (const d of disposers) d();
          throw new TypeError(
            'observeOutbox(): outbox.on() returned no disposer and the outbox has no off()',
          );
        }
      }
      const watch: OutboxWatch = { queue, outbox };
      outboxes.add(watch);
      return track(() => {
        outboxes.delete(watch);
        for (const dispose of disposers) dispose();
      });
    },

    stop() {
      for (const stop of [...observations]) stop();
    },
  };
}
