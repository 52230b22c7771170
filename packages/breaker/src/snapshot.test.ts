import { describe, expect, it } from 'vitest';
import type { StateChangeEvent } from './breaker-events.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { isTooManyRequestsError } from './rejections.js';
import type { BreakerSnapshot } from './snapshot.js';
import { State } from './state.js';

const failure = new Error('fail');

function setup(settings = {}) {
  const c = { t: 50_000 };
  const make = () =>
    new CircuitBreaker({
      name: 'email:ses',
      interval: 10_000,
      bucketPeriod: 1_000,
      timeout: 30_000,
      readyToTrip: (x) => x.totalFailures >= 3,
      now: () => c.t,
      ...settings,
    });
  return { c, make };
}

describe('CircuitBreaker.snapshot()', () => {
  it('is complete plain JSON: state, generation, counts, buckets, age, start, expiry, isolated', async () => {
    const { c, make } = setup();
    const cb = make();
    await cb.execute(() => 1);
    c.t += 1_500;
    await cb.execute(() => Promise.reject(failure)).catch(() => {});
    const s = cb.snapshot();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s).toMatchObject({
      version: 1,
      name: 'email:ses',
      state: 'closed',
      age: 1,
      start: 50_000,
      expiry: null,
      isolated: false,
      counts: { requests: 2, totalSuccesses: 1, totalFailures: 1, consecutiveFailures: 1 },
    });
    expect(s.buckets).toHaveLength(10);
    expect(s.buckets.at(-2)).toMatchObject({ requests: 1, totalSuccesses: 1 });
    expect(s.buckets.at(-1)).toMatchObject({ requests: 1, totalFailures: 1 });
  });

  it('records the open period’s end', async () => {
    const { c, make } = setup({ readyToTrip: () => true });
    const cb = make();
    await cb.execute(() => Promise.reject(failure)).catch(() => {});
    expect(cb.snapshot()).toMatchObject({ state: 'open', expiry: c.t + 30_000, start: c.t });
  });
});

describe('CircuitBreaker.restore()', () => {
  it('moves an open breaker to another instance, which rejects until the same moment', async () => {
    const { c, make } = setup({ readyToTrip: () => true });
    const a = make();
    await a.execute(() => Promise.reject(failure)).catch(() => {});
    const b = make();
    const changes: StateChangeEvent[] = [];
    b.onStateChange((e) => changes.push(e));
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(changes).toEqual([{ name: 'email:ses', from: 'closed', to: 'open' }]);
    c.t += 29_999;
    expect(b.state).toBe(State.Open);
    await expect(b.execute(() => 1)).rejects.toMatchObject({ retryAfterMs: 1 });
    c.t += 1;
    expect(b.state).toBe(State.HalfOpen);
  });

  it('ignores calls admitted before the restore', async () => {
    const { make } = setup();
    const cb = make();
    const empty = cb.snapshot();
    let finish!: () => void;
    const slow = cb.execute(() => new Promise<void>((r) => (finish = r)));
    cb.restore(empty);
    finish();
    await slow;
    expect(cb.counts.totalSuccesses).toBe(0);
    expect(cb.snapshot().generation).toBeGreaterThan(empty.generation);
  });

  it('lets probes admitted elsewhere free their slots after probeTimeout', async () => {
    const { c, make } = setup({ readyToTrip: () => true, maxRequests: 1, probeTimeout: 2_000 });
    const a = make();
    await a.execute(() => Promise.reject(failure)).catch(() => {});
    c.t += 30_000;
    void a.execute(() => new Promise(() => {})); // a probe that hangs in process A
    const b = make();
    b.restore(a.snapshot());
    await expect(b.execute(() => 1)).rejects.toSatisfy(isTooManyRequestsError);
    c.t += 2_000;
    await expect(b.execute(() => 1)).resolves.toBe(1);
    expect(b.state).toBe(State.Closed);
  });

  it('rejects malformed snapshots with a TypeError and changes nothing', async () => {
    const { make } = setup();
    const cb = make();
    await cb.execute(() => 1);
    const good = cb.snapshot();
    const bad: [string, unknown][] = [
      ['not an object', 'open'],
      ['unknown version', { ...good, version: 2 }],
      ['unknown state', { ...good, state: 'ajar' }],
      ['negative count', { ...good, counts: { ...good.counts, requests: -1 } }],
      ['fractional generation', { ...good, generation: 1.5 }],
      ['wrong number of buckets', { ...good, buckets: good.buckets.slice(1) }],
      ['buckets that do not add up', { ...good, counts: { ...good.counts, requests: 5, totalSuccesses: 1 } }],
      ['more outcomes than requests', { ...good, counts: { ...good.counts, requests: 0 } }],
      ['open without expiry', { ...good, state: 'open', expiry: null }],
      ['isolated but closed', { ...good, isolated: true }],
      ['infinite start', { ...good, start: Number.POSITIVE_INFINITY }],
    ];
    for (const [why, snapshot] of bad) {
      expect(() => cb.restore(snapshot as BreakerSnapshot), why).toThrow(TypeError);
    }
    expect(cb.snapshot()).toEqual(good);
  });

  it('does not let a future-dated snapshot (another host’s clock ahead) hold the breaker longer', async () => {
    const { c, make } = setup({ timeout: 1_000, readyToTrip: () => true });
    const ahead = make();
    c.t += 3_600_000; // the other process's clock runs an hour ahead
    await ahead.execute(() => Promise.reject(failure)).catch(() => {});
    const snapshot = ahead.snapshot();
    c.t -= 3_600_000;
    const cb = make();
    cb.restore(snapshot);
    const rejection = await cb.execute(() => 1).catch((e: unknown) => e);
    expect((rejection as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(1_000);
    c.t += 1_000;
    expect(cb.state).toBe(State.HalfOpen);
    expect(cb.snapshot().start).toBeLessThanOrEqual(c.t);
  });

  it('clears a restored fixed window after its interval, whatever the snapshot’s times say', async () => {
    for (const change of [{ start: 1e12, expiry: 1e12 + 10_000 }, { expiry: null }]) {
      const { c, make } = setup({ bucketPeriod: 0 });
      const source = make();
      await source.execute(() => Promise.reject(failure)).catch(() => {});
      const cb = make();
      cb.restore({ ...source.snapshot(), ...change });
      expect(cb.counts.totalFailures).toBe(1);
      c.t += 10_000;
      expect(cb.state).toBe(State.Closed);
      expect(cb.counts.totalFailures, JSON.stringify(change)).toBe(0);
    }
  });

  it('rolls a restored rolling window from the local clock when the snapshot’s start is ahead', async () => {
    const { c, make } = setup();
    const source = make();
    await source.execute(() => Promise.reject(failure)).catch(() => {});
    const cb = make();
    cb.restore({ ...source.snapshot(), start: c.t + 3_600_000 });
    expect(cb.counts.totalFailures).toBe(1);
    c.t += 10_000; // a whole window later
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts.totalFailures).toBe(0);
  });
});
