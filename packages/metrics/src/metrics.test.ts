import { Emitter } from '@tracks/breaker';
import { type OpenMetricsContentType, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, isAbortGiveUp } from './metrics.js';
import type { GiveUpEvent, ObservablePolicy, RetryEvent } from './observable.js';
import { FakeBreaker, FakeRegistry, parseExposition, sample } from './test-helpers.js';

const scrape = async (registry: Registry) => parseExposition(await registry.metrics());

const FAMILIES = {
  circuit_breaker_state: 'gauge',
  circuit_breaker_requests_total: 'counter',
  circuit_breaker_state_changes_total: 'counter',
  circuit_breaker_request_duration_seconds: 'histogram',
  retry_attempts_total: 'counter',
} as const;

function driveEveryKind(b: FakeBreaker): void {
  b.successes.emit({ name: b.name, state: 'closed', durationMs: 3 });
  b.successes.emit({ name: b.name, state: 'closed', durationMs: 40 });
  b.failures.emit({ name: b.name, state: 'closed', error: new Error('x'), durationMs: 700 });
  b.exclusions.emit({ name: b.name, state: 'closed', error: new Error('bad address'), durationMs: 20 });
  b.stateChanges.emit({ name: b.name, from: 'closed', to: 'open' });
  b.state = 'open';
  b.rejections.emit({ name: b.name, reason: 'open' });
  b.rejections.emit({ name: b.name, reason: 'open' });
  b.stateChanges.emit({ name: b.name, from: 'open', to: 'half-open' });
  b.state = 'half-open';
  b.rejections.emit({ name: b.name, reason: 'too-many-requests' });
}

describe('createMetrics', () => {
  it('registers every family with HELP and TYPE, in the given registry only', async () => {
    const registry = new Registry();
    createMetrics({ registry });
    const e = await scrape(registry);
    for (const [name, type] of Object.entries(FAMILIES)) {
      expect(e.type.get(name), name).toBe(type);
      expect(e.help.get(name)?.length ?? 0, name).toBeGreaterThan(20);
    }
    // the store and outbox families appear only once something is observed
    expect(e.type.has('circuit_breaker_store_errors_total')).toBe(false);
    expect(e.type.has('outbox_jobs')).toBe(false);
  });

  it('counts each kind of call under its result label and state changes under from/to', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const b = new FakeBreaker('email:ses');
    metrics.observe(b);
    driveEveryKind(b);
    const e = await scrape(registry);
    const req = (result: string) =>
      sample(e, 'circuit_breaker_requests_total', { service: 'email:ses', result });
    expect(req('success')).toBe(2);
    expect(req('failure')).toBe(1);
    expect(req('excluded')).toBe(1);
    expect(req('rejected_open')).toBe(2);
    expect(req('rejected_too_many')).toBe(1);
    const changes = e.samples
      .filter((s) => s.name === 'circuit_breaker_state_changes_total')
      .map((s) => `${s.labels.service} ${s.labels.from}->${s.labels.to} ${s.value}`);
    expect(changes.sort()).toEqual([
      'email:ses closed->half-open 0',
      'email:ses closed->open 1',
      'email:ses half-open->closed 0',
      'email:ses half-open->open 0',
      'email:ses open->closed 0',
      'email:ses open->half-open 1',
    ]);
    expect(sample(e, 'circuit_breaker_state', { service: 'email:ses' })).toBe(1);
  });

  it('exposes every result at zero as soon as a breaker is observed', async () => {
    const registry = new Registry();
    createMetrics({ registry }).observe(new FakeBreaker('sms:twilio'));
    const e = await scrape(registry);
    for (const result of ['success', 'failure', 'excluded', 'rejected_open', 'rejected_too_many']) {
      expect(sample(e, 'circuit_breaker_requests_total', { service: 'sms:twilio', result })).toBe(0);
    }
    expect(sample(e, 'circuit_breaker_state', { service: 'sms:twilio' })).toBe(0);
  });

  it('records durations of admitted calls in seconds, cumulative buckets, sum and count', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, buckets: [0.01, 0.1, 1] });
    const b = new FakeBreaker('storage:s3');
    metrics.observe(b);
    driveEveryKind(b);
    b.successes.emit({ name: b.name, state: 'closed', durationMs: 5000 }); // past the last bound
    b.successes.emit({ name: b.name, state: 'closed', durationMs: 10 }); // on a bound: le is inclusive
    const e = await scrape(registry);
    const name = 'circuit_breaker_request_duration_seconds';
    const success = (le: string) =>
      sample(e, `${name}_bucket`, { service: 'storage:s3', result: 'success', le });
    expect([success('0.01'), success('0.1'), success('1'), success('+Inf')]).toEqual([2, 3, 3, 4]);
    expect(sample(e, `${name}_count`, { service: 'storage:s3', result: 'success' })).toBe(4);
    expect(sample(e, `${name}_sum`, { service: 'storage:s3', result: 'success' })).toBeCloseTo(5.053, 9);
    expect(sample(e, `${name}_bucket`, { service: 'storage:s3', result: 'failure', le: '0.1' })).toBe(0);
    expect(sample(e, `${name}_bucket`, { service: 'storage:s3', result: 'failure', le: '1' })).toBe(1);
    expect(sample(e, `${name}_count`, { service: 'storage:s3', result: 'excluded' })).toBe(1);
    // rejected calls were never admitted, so they have no duration series
    expect(e.samples.some((s) => s.name.startsWith(name) && s.labels.result?.startsWith('rejected'))).toBe(
      false,
    );
    // prom-client's JSON view agrees with the text
    const json = await registry.getSingleMetric(name)?.get();
    expect(json?.values).toContainEqual({
      labels: { le: 1, service: 'storage:s3', result: 'success' },
      value: 3,
      metricName: `${name}_bucket`,
      exemplar: undefined,
    });
  });

  it('ignores a missing or invalid duration but still counts the call', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const b = new FakeBreaker('a');
    metrics.observe(b);
    b.failures.emit({ name: 'a', state: 'closed', error: 1 });
    b.successes.emit({ name: 'a', state: 'closed', durationMs: Number.NaN });
    const e = await scrape(registry);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'a', result: 'failure' })).toBe(1);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'a', result: 'success' })).toBe(1);
    // no duration yet: no histogram series rather than an empty one next to a non-zero count
    expect(e.samples.some((s) => s.name.startsWith('circuit_breaker_request_duration_seconds'))).toBe(false);
  });

  it('with durations: false registers no histogram and still counts', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, durations: false });
    const b = new FakeBreaker('a');
    metrics.observe(b);
    driveEveryKind(b);
    const e = await scrape(registry);
    expect(e.type.has('circuit_breaker_request_duration_seconds')).toBe(false);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'a', result: 'success' })).toBe(2);
  });

  it('reads the state at scrape time, not only from state-change events', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const b = new FakeBreaker('a');
    metrics.observe(b);
    b.state = 'open'; // no event: only the getter knows
    expect(sample(await scrape(registry), 'circuit_breaker_state', { service: 'a' })).toBe(2);
    b.state = 'half-open';
    expect(sample(await scrape(registry), 'circuit_breaker_state', { service: 'a' })).toBe(1);
  });

  it('keeps scraping when a breaker state getter throws', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const broken = new FakeBreaker('broken');
    Object.defineProperty(broken, 'state', {
      get() {
        throw new Error('boom');
      },
    });
    metrics.observe(broken);
    metrics.observe(new FakeBreaker('fine'));
    const e = await scrape(registry);
    expect(sample(e, 'circuit_breaker_state', { service: 'broken' })).toBeUndefined();
    expect(sample(e, 'circuit_breaker_state', { service: 'fine' })).toBe(0);
  });

  it('applies the prefix to every family', async () => {
    const registry = new Registry();
    createMetrics({ registry, prefix: 'app_' }).observe(new FakeBreaker('a'));
    const e = await scrape(registry);
    expect([...e.type.keys()].sort()).toEqual(
      Object.keys(FAMILIES)
        .map((n) => `app_${n}`)
        .sort(),
    );
  });

  it('rejects bad buckets and things that are neither breakers nor registries', () => {
    const registry = new Registry();
    expect(() => createMetrics({ registry, buckets: [1, 0.5] })).toThrow(TypeError);
    expect(() => createMetrics({ registry, buckets: [0, 1] })).toThrow(TypeError);
    const metrics = createMetrics({ registry });
    expect(() => metrics.observe({} as never)).toThrow(TypeError);
  });

  it('refuses a second set of families in the same registry unless prefixed', () => {
    const registry = new Registry();
    createMetrics({ registry });
    expect(() => createMetrics({ registry })).toThrow(/already been registered/);
    expect(() => createMetrics({ registry, prefix: 'other_' })).not.toThrow();
  });

  it('works with an OpenMetrics registry', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const metrics = createMetrics({ registry });
    const b = new FakeBreaker('a');
    metrics.observe(b);
    b.successes.emit({ name: 'a', state: 'closed', durationMs: 1 });
    const text = await registry.metrics();
    expect(text).toContain('circuit_breaker_requests_total{service="a",result="success"} 1');
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);
  });
});

describe('observe', () => {
  it('stop() keeps the counts but stops counting and drops the state series', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const b = new FakeBreaker('a');
    const stop = metrics.observe(b);
    b.successes.emit({ name: 'a', state: 'closed', durationMs: 1 });
    stop();
    stop(); // twice is harmless
    b.successes.emit({ name: 'a', state: 'closed', durationMs: 1 });
    b.rejections.emit({ name: 'a', reason: 'open' });
    const e = await scrape(registry);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'a', result: 'success' })).toBe(1);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'a', result: 'rejected_open' })).toBe(0);
    expect(sample(e, 'circuit_breaker_state', { service: 'a' })).toBeUndefined();
    expect(b.listenerCount).toBe(0);
  });

  it('counts a breaker observed twice once, until the last observation stops', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const b = new FakeBreaker('a');
    const first = metrics.observe(b);
    const second = metrics.observe(b);
    expect(b.listenerCount).toBe(5);
    b.successes.emit({ name: 'a', state: 'closed' });
    first();
    b.successes.emit({ name: 'a', state: 'closed' });
    expect(
      sample(await scrape(registry), 'circuit_breaker_requests_total', { service: 'a', result: 'success' }),
    ).toBe(2);
    second();
    expect(b.listenerCount).toBe(0);
  });

  it('follows a registry: breakers present, and those created later', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const breakers = new FakeRegistry();
    breakers.get('email:ses');
    metrics.observe(breakers);
    const later = breakers.get('sms:twilio');
    later.failures.emit({ name: later.name, state: 'closed', error: 1 });
    const e = await scrape(registry);
    expect(sample(e, 'circuit_breaker_state', { service: 'email:ses' })).toBe(0);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'sms:twilio', result: 'failure' })).toBe(1);
  });

  it('observing 100 breakers through a registry and stopping leaves no listener behind', () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const breakers = new FakeRegistry();
    for (let i = 0; i < 50; i++) breakers.get(`svc:${i}`);
    const stop = metrics.observe(breakers);
    for (let i = 50; i < 100; i++) breakers.get(`svc:${i}`);
    expect(breakers.breakers.every((b) => b.listenerCount === 5)).toBe(true);
    expect(breakers.created.size).toBe(1);
    stop();
    expect(breakers.breakers.map((b) => b.listenerCount)).toEqual(new Array(100).fill(0));
    expect(breakers.created.size).toBe(0);
    // a breaker created after stop() is not picked up
    expect(breakers.get('svc:late').listenerCount).toBe(0);
  });

  it('metrics.stop() detaches every observation at once', () => {
    const metrics = createMetrics({ registry: new Registry() });
    const a = new FakeBreaker('a');
    const breakers = new FakeRegistry();
    breakers.get('b');
    metrics.observe(a);
    metrics.observe(breakers);
    const policy = fakePolicy('a');
    metrics.observeRetry(policy);
    metrics.stop();
    expect(a.listenerCount + breakers.breakers[0]!.listenerCount + breakers.created.size).toBe(0);
    expect(policy.retries.size + policy.giveUps.size + policy.successes.size).toBe(0);
  });
});

function fakePolicy(breakerName?: string) {
  const retries = new Emitter<RetryEvent>();
  const giveUps = new Emitter<GiveUpEvent>();
  const successes = new Emitter<unknown>();
  const policy: ObservablePolicy & {
    retries: typeof retries;
    giveUps: typeof giveUps;
    successes: typeof successes;
  } = {
    retries,
    giveUps,
    successes,
    breaker: breakerName === undefined ? undefined : { name: breakerName },
    onRetry: (l) => retries.on(l),
    onGiveUp: (l) => giveUps.on(l),
    onSuccess: (l) => successes.on(l),
  };
  return policy;
}

describe('observeRetry', () => {
  it('counts retries, successes, exhausted and aborted give-ups under the breaker name', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const policy = fakePolicy('email:sendgrid');
    metrics.observeRetry(policy);
    policy.retries.emit({ attempt: 1, delayMs: 1000, error: new Error('503') });
    policy.retries.emit({ attempt: 2, delayMs: 2000, error: new Error('503') });
    policy.successes.emit({ attempts: 3 });
    policy.giveUps.emit({ attempts: 4, error: new Error('503') });
    const controller = new AbortController();
    controller.abort();
    policy.giveUps.emit({ attempts: 1, error: controller.signal.reason });
    const e = await scrape(registry);
    const outcome = (o: string) =>
      sample(e, 'retry_attempts_total', { service: 'email:sendgrid', outcome: o });
    expect([outcome('retry'), outcome('success'), outcome('exhausted'), outcome('aborted')]).toEqual([
      2, 1, 1, 1,
    ]);
  });

  it('needs a service name when the policy has no breaker', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    expect(() => metrics.observeRetry(fakePolicy())).toThrow(/pass \{ service \}/);
    const policy = fakePolicy();
    metrics.observeRetry(policy, { service: 'jobs' });
    policy.retries.emit({ attempt: 1, delayMs: 1, error: 1 });
    expect(
      sample(await scrape(registry), 'retry_attempts_total', { service: 'jobs', outcome: 'retry' }),
    ).toBe(1);
  });

  it('stop() detaches its three listeners and keeps the counts', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const policy = fakePolicy('a');
    const stop = metrics.observeRetry(policy);
    policy.successes.emit({});
    stop();
    policy.successes.emit({});
    expect(policy.retries.size + policy.giveUps.size + policy.successes.size).toBe(0);
    expect(sample(await scrape(registry), 'retry_attempts_total', { service: 'a', outcome: 'success' })).toBe(
      1,
    );
  });
});

describe('isAbortGiveUp', () => {
  it('is true for an AbortError or the caller signal timing out, false for other errors', () => {
    const aborted = new AbortController();
    aborted.abort();
    expect(isAbortGiveUp({ error: aborted.signal.reason })).toBe(true);
    expect(isAbortGiveUp({ error: Object.assign(new Error('aborted'), { name: 'AbortError' }) })).toBe(true);
    expect(isAbortGiveUp({ error: new DOMException('signal timed out', 'TimeoutError') })).toBe(true);
    // a policy's own attempt timeout is an Error named TimeoutError: the retries ran out
    expect(isAbortGiveUp({ error: Object.assign(new Error('late'), { name: 'TimeoutError' }) })).toBe(false);
    expect(isAbortGiveUp({ error: new Error('shutting down') })).toBe(false);
    expect(isAbortGiveUp({ error: 'AbortError' })).toBe(false);
    expect(isAbortGiveUp({ error: null })).toBe(false);
  });
});
