// The real CircuitBreaker from @tracks/breaker, with an injected clock: what a user will see.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CircuitBreaker, type Disposer, type Settings, TwoStepCircuitBreaker } from '@tracks/breaker';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import type { ObservableBreaker } from './observable.js';
import { type Exposition, parseExposition, sample } from './test-helpers.js';

// compile-time check: the real breaker satisfies the structural type metrics observes
const structural: (b: CircuitBreaker) => ObservableBreaker = (b) => b;

function clock() {
  let t = 1_000_000;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

class BadAddress extends Error {}

function breakerWith(c: ReturnType<typeof clock>, settings: Settings = {}): CircuitBreaker {
  return new CircuitBreaker({
    name: 'email:ses',
    timeout: 30_000,
    maxRequests: 1,
    readyToTrip: (counts) => counts.consecutiveFailures >= 2,
    isExcluded: (e) => e instanceof BadAddress,
    now: c.now,
    ...settings,
  });
}

const scrape = async (registry: Registry) => parseExposition(await registry.metrics());
const requests = (e: Exposition, result: string) =>
  sample(e, 'circuit_breaker_requests_total', { service: 'email:ses', result });
const change = (e: Exposition, from: string, to: string) =>
  sample(e, 'circuit_breaker_state_changes_total', { service: 'email:ses', from, to });
const state = (e: Exposition) => sample(e, 'circuit_breaker_state', { service: 'email:ses' });

describe('metrics of a real CircuitBreaker', () => {
  it('exposes every family with its labels after calls of each kind', async () => {
    const c = clock();
    const breaker = breakerWith(c);
    const registry = new Registry();
    createMetrics({ registry }).observe(structural(breaker));

    await breaker.execute(() => {
      c.advance(40); // the call takes 40 ms by the breaker's clock
      return 'ok';
    });
    await expect(
      breaker.execute(() => {
        throw new BadAddress('rejected recipient');
      }),
    ).rejects.toThrow(BadAddress);
    for (let i = 0; i < 2; i++) {
      await expect(breaker.execute(() => Promise.reject(new Error('503')))).rejects.toThrow('503');
    }
    await expect(breaker.execute(() => 'never runs')).rejects.toThrow('circuit breaker is open');

    let e = await scrape(registry);
    expect(state(e)).toBe(2);
    expect(requests(e, 'success')).toBe(1);
    expect(requests(e, 'excluded')).toBe(1);
    expect(requests(e, 'failure')).toBe(2);
    expect(requests(e, 'rejected_open')).toBe(1);
    expect(change(e, 'closed', 'open')).toBe(1);
    const h = 'circuit_breaker_request_duration_seconds';
    expect(sample(e, `${h}_bucket`, { service: 'email:ses', result: 'success', le: '0.025' })).toBe(0);
    expect(sample(e, `${h}_bucket`, { service: 'email:ses', result: 'success', le: '0.05' })).toBe(1);
    expect(sample(e, `${h}_sum`, { service: 'email:ses', result: 'success' })).toBeCloseTo(0.04, 9);

    // half-open with its one probe in flight: the next call is rejected as too many
    c.advance(30_000);
    let finishProbe: (v: string) => void = () => {};
    const probe = breaker.execute(() => new Promise<string>((resolve) => (finishProbe = resolve)));
    await expect(breaker.execute(() => 'x')).rejects.toThrow('too many requests');
    finishProbe('ok');
    await probe;

    e = await scrape(registry);
    expect(requests(e, 'rejected_too_many')).toBe(1);
    expect(change(e, 'open', 'half-open')).toBe(1);
    expect(change(e, 'half-open', 'closed')).toBe(1);
    expect(state(e)).toBe(0);
    for (const family of [
      'circuit_breaker_state',
      'circuit_breaker_requests_total',
      'circuit_breaker_state_changes_total',
      h,
      'retry_attempts_total',
    ]) {
      expect(e.help.get(family), family).toBeTruthy();
    }
  });

  it('shows half-open (1) when the open timeout has passed without any traffic', async () => {
    const c = clock();
    const breaker = breakerWith(c);
    const registry = new Registry();
    createMetrics({ registry }).observe(breaker);
    for (let i = 0; i < 2; i++) await breaker.tryExecute(() => Promise.reject(new Error('503')));
    let e = await scrape(registry);
    expect(state(e)).toBe(2);

    c.advance(29_999);
    expect(state(await scrape(registry))).toBe(2);
    c.advance(1);
    e = await scrape(registry);
    expect(state(e)).toBe(1);
    // the transition the scrape itself triggered is counted in the same scrape
    expect(change(e, 'open', 'half-open')).toBe(1);
  });

  it('stop() keeps the counts and stops counting', async () => {
    const c = clock();
    const breaker = breakerWith(c);
    const registry = new Registry();
    const stop = createMetrics({ registry }).observe(breaker);
    await breaker.execute(() => 1);
    stop();
    await breaker.execute(() => 1);
    for (let i = 0; i < 2; i++) await breaker.tryExecute(() => Promise.reject(new Error('503')));
    await breaker.tryExecute(() => 1);
    const e = await scrape(registry);
    expect(requests(e, 'success')).toBe(1);
    expect(requests(e, 'failure')).toBe(0);
    expect(requests(e, 'rejected_open')).toBe(0);
    expect(change(e, 'closed', 'open')).toBe(0);
    expect(state(e)).toBeUndefined();
  });

  it('observing 100 breakers and stopping disposes every subscription', async () => {
    // counts live subscriptions through the breaker's public on* methods and their disposers
    let live = 0;
    class CountedBreaker extends CircuitBreaker {
      #count(dispose: Disposer): Disposer {
        live++;
        let disposed = false;
        return () => {
          if (!disposed) live--;
          disposed = true;
          dispose();
        };
      }
      override onStateChange(l: Parameters<CircuitBreaker['onStateChange']>[0]): Disposer {
        return this.#count(super.onStateChange(l));
      }
      override onSuccess(l: Parameters<CircuitBreaker['onSuccess']>[0]): Disposer {
        return this.#count(super.onSuccess(l));
      }
      override onFailure(l: Parameters<CircuitBreaker['onFailure']>[0]): Disposer {
        return this.#count(super.onFailure(l));
      }
      override onExclusion(l: Parameters<CircuitBreaker['onExclusion']>[0]): Disposer {
        return this.#count(super.onExclusion(l));
      }
      override onReject(l: Parameters<CircuitBreaker['onReject']>[0]): Disposer {
        return this.#count(super.onReject(l));
      }
    }
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const c = clock();
    const breakers = Array.from(
      { length: 100 },
      (_, i) => new CountedBreaker({ name: `svc:${i}`, now: c.now }),
    );
    const stops = breakers.map((b) => metrics.observe(b));
    expect(live).toBe(500);
    for (const stop of stops) stop();
    expect(live).toBe(0);
    // and by behaviour: calls after stop() reach no listener of ours
    await Promise.all(breakers.map((b) => b.execute(() => 1)));
    const e = await scrape(registry);
    expect(e.samples.filter((s) => s.name === 'circuit_breaker_requests_total' && s.value !== 0)).toEqual([]);
    expect(e.samples.filter((s) => s.name === 'circuit_breaker_state')).toEqual([]);
  });

  it('does not keep breakers alive that the app dropped without stop()', async () => {
    // expose gc() in this worker, whatever flags vitest started it with
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    // in a function of its own, so that no binding of this test's frame holds the last breaker
    const observeAndDrop = async (i: number): Promise<WeakRef<CircuitBreaker>> => {
      const b = new CircuitBreaker({ name: `svc:${i}` });
      metrics.observe(b); // its stop function is dropped too
      await b.execute(() => 1);
      return new WeakRef(b);
    };
    const refs: WeakRef<CircuitBreaker>[] = [];
    for (let i = 0; i < 100; i++) refs.push(await observeAndDrop(i));
    expect((await scrape(registry)).samples.filter((s) => s.name === 'circuit_breaker_state')).toHaveLength(
      100,
    );

    for (let i = 0; i < 10 && refs.some((r) => r.deref() !== undefined); i++) {
      await new Promise((resolve) => setImmediate(resolve)); // a WeakRef target lives until the job ends
      gc();
    }
    expect(refs.flatMap((r, i) => (r.deref() === undefined ? [] : [i]))).toEqual([]);
    const e = await scrape(registry);
    expect(e.samples.filter((s) => s.name === 'circuit_breaker_state')).toEqual([]);
    // their counts stay: the series are keyed by name, not by breaker object
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'svc:7', result: 'success' })).toBe(1);
  });

  it('counts a TwoStepCircuitBreaker the same way', async () => {
    const c = clock();
    const breaker = new TwoStepCircuitBreaker({
      name: 'email:ses',
      readyToTrip: (counts) => counts.consecutiveFailures >= 1,
      now: c.now,
    });
    const registry = new Registry();
    createMetrics({ registry }).observe(breaker);
    const done = breaker.allow();
    c.advance(5);
    done();
    breaker.allow()(new Error('503'));
    expect(() => breaker.allow()).toThrow('circuit breaker is open');
    const e = await scrape(registry);
    expect(requests(e, 'success')).toBe(1);
    expect(requests(e, 'failure')).toBe(1);
    expect(requests(e, 'rejected_open')).toBe(1);
    expect(state(e)).toBe(2);
    expect(
      sample(e, 'circuit_breaker_request_duration_seconds_sum', { service: 'email:ses', result: 'success' }),
    ).toBeCloseTo(0.005, 9);
  });
});
