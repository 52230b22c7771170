import {
  BreakerRegistry,
  type CircuitBreaker,
  exponentialBackoff,
  type Policy,
  presets,
  type ResilienceOptions,
  type Settings,
} from '@tracks/breaker';
import { createMetrics } from '@tracks/metrics';
import type { OutboxDriver } from '@tracks/outbox';
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from './config.js';
import { wireEmail } from './email-wiring.js';
import type { EventHub } from './events.js';
import { type FaultInjector, type ServiceName, withFaults } from './faults.js';
import type { EmailOutbox } from './outbox-wiring.js';
import type { EmailService, ProviderHandle, Services, SmsService, StorageService } from './services.js';
import { wireSms } from './sms-wiring.js';
import type { SmtpSink } from './smtp-sink.js';
import { wireStorage } from './storage-wiring.js';

/** What the service factory needs from the app. */
export interface WireContext {
  readonly config: Config;
  readonly now: () => number;
  readonly faults: FaultInjector;
  readonly events: EventHub;
  readonly log: FastifyBaseLogger;
  readonly metricsRegistry: Registry;
  readonly smtpSink: SmtpSink | undefined;
  /** Makes the outbox's sqlite driver (tests pass one that cannot load). */
  readonly sqliteDriver?: (options: { path: string }) => OutboxDriver;
}

/**
 * Puts one provider adapter on the call path DESIGN.md draws: the fault layer right in front
 * of the adapter, then the family's `withResilience` with the provider's own breaker.
 */
export type Guard = <A extends { readonly provider: string }, W extends { readonly policy: Policy }>(
  service: ServiceName,
  adapter: A,
  wrap: (adapter: A, options: ResilienceOptions) => W,
  options: { operations: readonly string[]; primary: boolean },
) => W;

/** The pieces of the factory every family shares. */
export interface Wiring {
  readonly guard: Guard;
  readonly handles: ProviderHandle[];
  readonly closers: (() => Promise<void> | void)[];
}

/**
 * The service factory, as in the seed: each family's provider is chosen by configuration,
 * gets one breaker named `<family>:<provider>` from the family preset (with
 * `BREAKER_TIMEOUT_MS` as its open period when set), runs through a short retry policy, and
 * is observed by the metrics, the log and the event stream.
 */
export async function wireServices(context: WireContext): Promise<Services> {
  const { config, now, log, events } = context;
  const registry = new BreakerRegistry();
  const handles: ProviderHandle[] = [];
  const closers: (() => Promise<void> | void)[] = [];

  const breakerFor = (service: ServiceName, provider: string): CircuitBreaker => {
    const name = `${service}:${provider}`;
    const settings: Settings = {
      ...presets[service],
      name,
      ...(config.breakerTimeoutMs !== undefined && { timeout: config.breakerTimeoutMs }),
      now,
    };
    const breaker = registry.get(name, settings);
    observe(breaker, log, events, now);
    return breaker;
  };

  const guard: Guard = (service, adapter, wrap, options) => {
    const breaker = breakerFor(service, adapter.provider);
    const faulty = withFaults(adapter, service, context.faults, options.operations);
    const wrapped = wrap(faulty, {
      breaker,
      timeout: config.providerTimeoutMs,
      // short: no request waits out an open breaker, it gets a 503 with Retry-After instead
      retry: {
        maxRetries: 2,
        maxElapsed: config.maxElapsedMs,
        backoff: exponentialBackoff({ initial: 100, factor: 2, max: 1000, jitter: 'full' }),
      },
    });
    handles.push({
      service,
      provider: adapter.provider,
      breaker,
      policy: wrapped.policy,
      primary: options.primary,
    });
    return wrapped;
  };

  const wiring: Wiring = { guard, handles, closers };
  let outbox: EmailOutbox | undefined;
  const closeAll = async () => {
    // the outbox first: its deliveries in flight settle before the adapters they use close
    if (outbox !== undefined) await outbox.stop().catch(() => undefined);
    await Promise.allSettled(closers.map(async (close) => close()));
  };
  let email: EmailService;
  let sms: SmsService;
  let storage: StorageService;
  try {
    ({ service: email, outbox } = await wireEmail(context, wiring));
    sms = await wireSms(context, wiring);
    storage = await wireStorage(context, wiring);
  } catch (error) {
    // an adapter that refused to start must not leave the ones before it holding sockets
    await closeAll();
    throw error;
  }

  const metrics = createMetrics({ registry: context.metricsRegistry });
  metrics.observe(registry);
  for (const handle of handles) if (handle.policy !== undefined) metrics.observeRetry(handle.policy);
  // outbox_jobs{queue,state} and outbox_deliveries_total{queue,outcome}
  if (outbox !== undefined) metrics.observeOutbox(outbox);

  log.info(
    {
      email: config.email.provider,
      ...(config.email.fallback !== undefined && { emailFallback: config.email.fallback }),
      sms: config.sms.provider,
      storage: config.storage.provider,
      breakerTimeoutMs: config.breakerTimeoutMs ?? 'preset',
      emailQueue: outbox === undefined ? 'off' : outbox.driver,
    },
    'services configured',
  );

  return {
    email,
    sms,
    storage,
    providers: handles,
    ...(outbox !== undefined && { outbox }),
    close: closeAll,
  };
}

// Every state change becomes a structured log line and an event; every call an event.
function observe(breaker: CircuitBreaker, log: FastifyBaseLogger, events: EventHub, now: () => number): void {
  breaker.onStateChange(({ name, from, to }) => {
    const fields = { breaker: name, from, to };
    if (to === 'open')
      log.error(fields, `circuit breaker ${name} opened: calls are rejected until it probes`);
    else if (to === 'half-open') log.warn(fields, `circuit breaker ${name} half-open: probing the provider`);
    else log.info(fields, `circuit breaker ${name} closed: the provider recovered`);
    events.publish({ type: 'state', name, from, to, at: now() });
  });
  breaker.onSuccess(({ name, durationMs }) =>
    events.publish({ type: 'call', name, outcome: 'success', durationMs, at: now() }),
  );
  breaker.onFailure(({ name }) => events.publish({ type: 'call', name, outcome: 'failure', at: now() }));
  breaker.onExclusion(({ name }) => events.publish({ type: 'call', name, outcome: 'excluded', at: now() }));
  breaker.onReject(({ name }) => events.publish({ type: 'call', name, outcome: 'rejected', at: now() }));
}
