import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { ProviderError } from './errors.js';
import { consecutiveFailures, failureRatio, presets, serviceBreakers } from './presets.js';
import { BreakerRegistry } from './registry.js';
import { type Counts, State } from './state.js';

const counts = (c: Partial<Counts>): Counts => ({
  requests: 0,
  totalSuccesses: 0,
  totalFailures: 0,
  totalExclusions: 0,
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
  ...c,
});

const fail = (kind: 'transient' | 'auth' | 'invalid' | 'permanent', scope?: 'message' | 'provider') =>
  new ProviderError({ kind, provider: 'p', operation: 'o', ...(scope ? { scope } : {}) });

async function outcome(breaker: CircuitBreaker, error?: unknown): Promise<void> {
  await breaker.execute(() => (error === undefined ? 'ok' : Promise.reject(error))).catch(() => {});
}

describe('failureRatio', () => {
  it('trips at the ratio over completed calls, from minRequests completed calls', () => {
    const trip = failureRatio({ ratio: 0.3, minRequests: 10 });
    expect(trip(counts({ totalSuccesses: 7, totalFailures: 3 }))).toBe(true);
    expect(trip(counts({ totalSuccesses: 8, totalFailures: 2 }))).toBe(false);
    // 6 of 9 completed failed, but fewer than 10 completed: in-flight and excluded calls do not count
    expect(trip(counts({ requests: 20, totalSuccesses: 3, totalFailures: 6, totalExclusions: 11 }))).toBe(
      false,
    );
  });

  it('rejects bad options with a TypeError', () => {
    expect(() => failureRatio({ ratio: 0, minRequests: 1 })).toThrow(TypeError);
    expect(() => failureRatio({ ratio: 1.1, minRequests: 1 })).toThrow(TypeError);
    expect(() => failureRatio({ ratio: 0.5, minRequests: 0 })).toThrow(TypeError);
  });
});

describe('consecutiveFailures', () => {
  it('trips at n failures in a row', () => {
    const trip = consecutiveFailures(3);
    expect(trip(counts({ consecutiveFailures: 2 }))).toBe(false);
    expect(trip(counts({ consecutiveFailures: 3 }))).toBe(true);
    expect(() => consecutiveFailures(0)).toThrow(TypeError);
  });
});

describe('presets', () => {
  it("carry the seed's thresholds", () => {
    expect(presets.email).toMatchObject({ maxRequests: 5, interval: 30_000, timeout: 120_000 });
    expect(presets.sms).toMatchObject({ maxRequests: 3, interval: 30_000, timeout: 60_000 });
    expect(presets.storage).toMatchObject({ maxRequests: 10, interval: 30_000, timeout: 180_000 });
    expect(Object.isFrozen(presets.email)).toBe(true);
  });

  it('email trips at >= 30 % failures of >= 5 calls', async () => {
    const breaker = new CircuitBreaker(presets.email);
    for (let i = 0; i < 3; i++) await outcome(breaker);
    await outcome(breaker, fail('transient'));
    expect(breaker.state).toBe(State.Closed);
    await outcome(breaker, fail('transient'));
    expect(breaker.state).toBe(State.Open);
  });

  it('sms trips at 3 consecutive failures', async () => {
    const breaker = new CircuitBreaker(presets.sms);
    await outcome(breaker, fail('transient'));
    await outcome(breaker, fail('auth'));
    expect(breaker.state).toBe(State.Closed);
    await outcome(breaker, fail('permanent', 'provider'));
    expect(breaker.state).toBe(State.Open);
  });

  it('storage trips at >= 50 % failures of >= 10 calls', async () => {
    const breaker = new CircuitBreaker(presets.storage);
    for (let i = 0; i < 5; i++) await outcome(breaker);
    for (let i = 0; i < 4; i++) await outcome(breaker, fail('transient'));
    expect(breaker.state).toBe(State.Closed);
    await outcome(breaker, fail('transient'));
    expect(breaker.state).toBe(State.Open);
  });

  it('exclude message-scoped errors, so bad addresses never open a breaker', async () => {
    const breaker = new CircuitBreaker(presets.sms);
    for (let i = 0; i < 10; i++) await outcome(breaker, fail(i % 2 ? 'invalid' : 'permanent'));
    expect(breaker.state).toBe(State.Closed);
    expect(breaker.counts).toMatchObject({ totalExclusions: 10, totalFailures: 0 });
  });
});

describe('serviceBreakers', () => {
  it('returns email, sms and storage breakers from the presets', async () => {
    const breakers = serviceBreakers();
    expect(Object.keys(breakers)).toEqual(['email', 'sms', 'storage']);
    expect(breakers.email.name).toBe('email');
    for (let i = 0; i < 3; i++) await outcome(breakers.sms, fail('transient'));
    expect(breakers.sms.state).toBe(State.Open);
    expect(breakers.email.state).toBe(State.Closed);
  });

  it('reports state changes through the observer API and takes overrides', async () => {
    const changes: string[] = [];
    const breakers = serviceBreakers({
      sms: { name: 'sms:twilio', readyToTrip: consecutiveFailures(1) },
      onStateChange: ({ name, from, to }) => changes.push(`${name}: ${from} -> ${to}`),
    });
    await outcome(breakers.sms, fail('transient'));
    expect(changes).toEqual(['sms:twilio: closed -> open']);
  });

  it('creates its breakers in a registry when given one', () => {
    const registry = new BreakerRegistry();
    const created: string[] = [];
    registry.onCreate(({ name }) => created.push(name));
    const breakers = serviceBreakers({ registry });
    expect(created).toEqual(['email', 'sms', 'storage']);
    expect(registry.get('email')).toBe(breakers.email);
    expect(serviceBreakers({ registry }).sms).toBe(breakers.sms);
  });
});

describe('BreakerRegistry', () => {
  it('creates a breaker once per name and returns the same one after', () => {
    const registry = new BreakerRegistry({ timeout: 5000 });
    const a = registry.get('email:ses', presets.email);
    expect(registry.get('email:ses')).toBe(a);
    expect(registry.get('email:ses', { maxRequests: 99 })).toBe(a);
    expect(registry.has('email:ses')).toBe(true);
    expect(registry.has('sms:sns')).toBe(false);
    expect(a.name).toBe('email:ses');
  });

  it('lists every breaker and snapshots them by name', async () => {
    const registry = new BreakerRegistry();
    const ses = registry.get('email:ses', presets.email);
    registry.get('sms:sns', presets.sms);
    expect(registry.all().map((b) => b.name)).toEqual(['email:ses', 'sms:sns']);
    ses.isolate();
    const snapshot = registry.snapshot();
    expect(Object.keys(snapshot)).toEqual(['email:ses', 'sms:sns']);
    expect(snapshot['email:ses']?.state).toBe(State.Open);
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  });

  it('tells observers about breakers created later, until disposed', () => {
    const registry = new BreakerRegistry();
    const seen: string[] = [];
    const dispose = registry.onCreate(({ name, breaker }) => seen.push(`${name}=${breaker.state}`));
    registry.get('a');
    registry.get('a');
    dispose();
    registry.get('b');
    expect(seen).toEqual(['a=closed']);
  });

  it('rejects an empty name', () => {
    expect(() => new BreakerRegistry().get('')).toThrow(TypeError);
  });
});
