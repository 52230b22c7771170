// The real resilience() policies and BreakerRegistry from @tracks/breaker.
import { BreakerRegistry, CircuitBreaker, ProviderError, resilience } from '@tracks/breaker';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import type { ObservableBreakerRegistry, ObservablePolicy } from './observable.js';
import { type Exposition, parseExposition, sample } from './test-helpers.js';

const scrape = async (registry: Registry) => parseExposition(await registry.metrics());
const outcome = (e: Exposition, service: string, o: string) =>
  sample(e, 'retry_attempts_total', { service, outcome: o });

const transient = () =>
  new ProviderError({ kind: 'transient', provider: 'ses', operation: 'send', message: 'HTTP 503' });

function policyFor(
  name: string,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void> = async () => {},
) {
  const t = 0;
  const now = () => t;
  const breaker = new CircuitBreaker({ name, now, readyToTrip: () => false });
  const policy = resilience({
    breaker,
    retry: { maxRetries: 2, backoff: () => 10, now, sleep },
  });
  // compile-time check: a real policy satisfies the structural type
  const structural: ObservablePolicy = policy;
  return { policy: structural as typeof policy, breaker };
}

describe('metrics of a real resilience() policy', () => {
  it('counts retry, success and exhausted under the breaker name', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const { policy, breaker } = policyFor('email:ses');
    metrics.observe(breaker);
    metrics.observeRetry(policy);

    let calls = 0;
    await policy.execute(async () => {
      calls++;
      if (calls === 1) throw transient();
      return 'sent';
    });
    await expect(
      policy.execute(async () => {
        throw transient();
      }),
    ).rejects.toThrow('HTTP 503');

    const e = await scrape(registry);
    expect(outcome(e, 'email:ses', 'retry')).toBe(3); // 1 before the success, 2 before giving up
    expect(outcome(e, 'email:ses', 'success')).toBe(1);
    expect(outcome(e, 'email:ses', 'exhausted')).toBe(1);
    expect(outcome(e, 'email:ses', 'aborted')).toBe(0);
    // each attempt is one breaker call
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'email:ses', result: 'failure' })).toBe(4);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'email:ses', result: 'success' })).toBe(1);
  });

  it('counts a call aborted during its backoff wait as aborted', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const controller = new AbortController();
    const { policy } = policyFor('sms:twilio', async () => {
      controller.abort(); // the caller gives up while the retry waits
    });
    metrics.observeRetry(policy);
    await expect(
      policy.execute(
        async () => {
          throw transient();
        },
        { signal: controller.signal },
      ),
    ).rejects.toMatchObject({ name: 'AbortError' });
    const e = await scrape(registry);
    expect(outcome(e, 'sms:twilio', 'aborted')).toBe(1);
    expect(outcome(e, 'sms:twilio', 'exhausted')).toBe(0);
  });

  it('stop() detaches the policy listeners: later calls are not counted', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const { policy } = policyFor('storage:s3');
    const stop = metrics.observeRetry(policy);
    await policy.execute(async () => 1);
    stop();
    await policy.execute(async () => 1);
    expect(outcome(await scrape(registry), 'storage:s3', 'success')).toBe(1);
  });
});

describe('metrics of a real BreakerRegistry', () => {
  it('follows breakers present and created later, and stop() releases all of them', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const breakers = new BreakerRegistry();
    const structural: ObservableBreakerRegistry = breakers;
    const ses = breakers.get('email:ses');
    const stop = metrics.observe(structural);
    const twilio = breakers.get('sms:twilio');
    await ses.execute(() => 1);
    await twilio.tryExecute(() => Promise.reject(new Error('down')));
    let e = await scrape(registry);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'email:ses', result: 'success' })).toBe(1);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'sms:twilio', result: 'failure' })).toBe(1);
    expect(sample(e, 'circuit_breaker_state', { service: 'sms:twilio' })).toBe(0);

    stop();
    await ses.execute(() => 1);
    const late = breakers.get('storage:s3');
    await late.execute(() => 1);
    e = await scrape(registry);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'email:ses', result: 'success' })).toBe(1);
    expect(
      sample(e, 'circuit_breaker_requests_total', { service: 'storage:s3', result: 'success' }),
    ).toBeUndefined();
    expect(e.samples.filter((s) => s.name === 'circuit_breaker_state')).toEqual([]);
  });
});
