import {
  isOpenStateError,
  isTooManyRequestsError,
  OpenStateError,
  resilience,
  State,
  type StateChangeEvent,
} from '@tracks/breaker';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDistributedBreaker } from './index.js';
import {
  breakerFactory,
  clock,
  counts,
  exclude,
  excluded,
  fail,
  failure,
  pending,
  ratioTrip,
  scriptCalls,
  shared,
  succeed,
} from './test/helpers.js';
import { describeWithRedis, RedisServer, redisMissing } from './test/redis-server.js';

// The gobreaker v2 scenarios of packages/breaker/src/circuit-breaker.test.ts, run against the
// distributed breaker over a real redis-server: same state machine, state kept in Redis.

let server: RedisServer;
let redis: Redis;
let make: ReturnType<typeof breakerFactory>;

beforeAll(async () => {
  if (redisMissing !== undefined) return;
  server = await RedisServer.start();
  redis = server.client();
  make = breakerFactory(redis);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.kill();
});

function custom(now: () => number, changes?: StateChangeEvent[]) {
  return make(
    {
      name: `cb:${Math.random().toString(36).slice(2)}`,
      maxRequests: 3,
      interval: 30_000,
      timeout: 90_000,
      readyToTrip: ratioTrip,
      isExcluded: (error) => error === excluded,
      now,
    },
    changes,
  );
}

function rolling(now: () => number, changes?: StateChangeEvent[]) {
  return make(
    {
      maxRequests: 3,
      interval: 30_000,
      bucketPeriod: 3_000,
      timeout: 90_000,
      readyToTrip: ratioTrip,
      isExcluded: (error) => error === excluded,
      now,
    },
    changes,
  );
}

describeWithRedis('DistributedCircuitBreaker (gobreaker TestNewCircuitBreaker)', () => {
  it('treats negative durations and maxRequests as gobreaker does (timeout 60 s, never cleared, 1 probe)', async () => {
    const c = clock();
    const cb = make({ interval: -30_000, timeout: -90_000, maxRequests: -1, now: c.now });
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    await succeed(cb);
    expect((await shared(redis, cb)).expiry).toBeNull();
    for (let i = 0; i < 6; i++) await fail(cb);
    expect(cb.state).toBe(State.Open);
    expect((await shared(redis, cb)).expiry).toBe(c.t + 60_000);
    c.sleep(60_000);
    expect(cb.state).toBe(State.HalfOpen);
    const probe = pending(cb);
    await probe.started;
    await expect(cb.execute(() => 1)).rejects.toSatisfy(isTooManyRequestsError);
    probe.finish();
    await probe.result;
    expect(cb.state).toBe(State.Closed);
  });
});

describeWithRedis('DistributedCircuitBreaker (gobreaker TestDefaultCircuitBreaker)', () => {
  it('opens after more than five consecutive failures and recovers through half-open', async () => {
    const c = clock();
    const cb = make({ now: c.now });
    for (let i = 0; i < 5; i++) await fail(cb);
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts({ requests: 5, totalFailures: 5, consecutiveFailures: 5 }));

    await succeed(cb);
    expect(cb.counts).toEqual(
      counts({ requests: 6, totalSuccesses: 1, totalFailures: 5, consecutiveSuccesses: 1 }),
    );
    await fail(cb);
    expect(cb.counts).toEqual(
      counts({ requests: 7, totalSuccesses: 1, totalFailures: 6, consecutiveFailures: 1 }),
    );

    for (let i = 0; i < 5; i++) await fail(cb); // 6 consecutive failures
    expect(cb.state).toBe(State.Open);
    expect(cb.counts).toEqual(counts());
    expect((await shared(redis, cb)).expiry).toBe(c.t + 60_000);

    await expect(succeed(cb)).rejects.toSatisfy(isOpenStateError);
    await expect(fail(cb)).rejects.toSatisfy(isOpenStateError);

    c.sleep(59_000);
    expect(cb.state).toBe(State.Open);
    c.sleep(2_000); // over timeout
    expect(cb.state).toBe(State.HalfOpen);

    await fail(cb); // half-open to open
    expect(cb.state).toBe(State.Open);
    expect(cb.counts).toEqual(counts());

    c.sleep(60_000);
    expect(cb.state).toBe(State.HalfOpen);
    await succeed(cb); // half-open to closed
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    expect((await shared(redis, cb)).expiry).toBeNull();
  });

  it('counts a synchronous throw as a failure and rethrows it unchanged (gobreaker TestPanicInRequest)', async () => {
    const cb = make({ now: clock().now });
    const thrown = { not: 'an Error' };
    await expect(
      cb.execute(() => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(cb.counts).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));
  });
});

describeWithRedis('DistributedCircuitBreaker (gobreaker TestCustomCircuitBreaker)', () => {
  it('clears its fixed window, trips on a failure ratio, and keeps exclusions neutral', async () => {
    const c = clock();
    const changes: StateChangeEvent[] = [];
    const cb = custom(c.now, changes);

    for (let i = 0; i < 5; i++) {
      await succeed(cb);
      await fail(cb);
      await exclude(cb);
    }
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(
      counts({
        requests: 15,
        totalSuccesses: 5,
        totalFailures: 5,
        consecutiveFailures: 1,
        totalExclusions: 5,
      }),
    );

    c.sleep(29_000);
    await succeed(cb);
    expect(cb.counts).toEqual(
      counts({
        requests: 16,
        totalSuccesses: 6,
        totalFailures: 5,
        consecutiveSuccesses: 1,
        totalExclusions: 5,
      }),
    );

    c.sleep(1_000); // over interval
    await fail(cb);
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));

    await succeed(cb);
    await fail(cb); // failure ratio 2/3 >= 0.6
    expect(cb.state).toBe(State.Open);
    expect(cb.counts).toEqual(counts());
    expect(changes.at(-1)).toEqual({ name: cb.name, from: State.Closed, to: State.Open });

    c.sleep(90_000);
    expect(cb.state).toBe(State.HalfOpen);
    expect(changes.at(-1)).toEqual({ name: cb.name, from: State.Open, to: State.HalfOpen });

    // exclusions are neutral in half-open: they free the slot they held
    for (let i = 0; i < 4; i++) await exclude(cb);
    expect(cb.state).toBe(State.HalfOpen);

    await fail(cb); // the first real failure re-opens
    expect(cb.state).toBe(State.Open);
    expect(changes.at(-1)).toEqual({ name: cb.name, from: State.HalfOpen, to: State.Open });

    c.sleep(90_000);
    expect(cb.state).toBe(State.HalfOpen);
    await succeed(cb);
    await succeed(cb);
    expect(cb.state).toBe(State.HalfOpen);
    expect(cb.counts).toEqual(counts({ requests: 2, totalSuccesses: 2, consecutiveSuccesses: 2 }));

    const third = pending(cb); // 3 consecutive successes once it completes
    await third.started;
    expect(cb.counts).toEqual(counts({ requests: 3, totalSuccesses: 2, consecutiveSuccesses: 2 }));
    await expect(succeed(cb)).rejects.toSatisfy(isTooManyRequestsError); // over maxRequests
    third.finish();
    await third.result;
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    expect((await shared(redis, cb)).expiry).toBe(c.t + 30_000);
    expect(changes.map((e) => `${e.from}>${e.to}`)).toEqual([
      'closed>open',
      'open>half-open',
      'half-open>open',
      'open>half-open',
      'half-open>closed',
    ]);
  });
});

describeWithRedis('DistributedCircuitBreaker (gobreaker TestRollingWindowCircuitBreaker)', () => {
  it('rolls its buckets, drops the oldest, and trips on the rolling ratio', async () => {
    const c = clock();
    const changes: StateChangeEvent[] = [];
    const cb = rolling(c.now, changes);
    const bucket = async (offset: number) => (await shared(redis, cb)).bucket(10, offset);

    for (let i = 0; i < 5; i++) {
      await succeed(cb);
      await fail(cb);
      await exclude(cb);
    }
    const first = counts({
      requests: 15,
      totalSuccesses: 5,
      totalFailures: 5,
      consecutiveFailures: 1,
      totalExclusions: 5,
    });
    expect(cb.counts).toEqual(first);
    expect(await bucket(0)).toEqual(first);

    c.sleep(3_000);
    await succeed(cb);
    expect(cb.counts).toEqual(
      counts({
        requests: 16,
        totalSuccesses: 6,
        totalFailures: 5,
        consecutiveSuccesses: 1,
        totalExclusions: 5,
      }),
    );
    expect(await bucket(-1)).toEqual(first);
    expect(await bucket(0)).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));

    c.sleep(2_000);
    await succeed(cb);
    await exclude(cb);
    expect(await bucket(0)).toEqual(
      counts({ requests: 3, totalSuccesses: 2, consecutiveSuccesses: 2, totalExclusions: 1 }),
    );

    c.sleep(2_000);
    await exclude(cb);
    await succeed(cb);
    expect(cb.counts).toEqual(
      counts({
        requests: 20,
        totalSuccesses: 8,
        totalFailures: 5,
        consecutiveSuccesses: 3,
        totalExclusions: 7,
      }),
    );
    expect(await bucket(-2)).toEqual(first);

    c.sleep(2_000);
    await fail(cb);
    for (let i = 0; i < 6; i++) {
      // fill all the buckets
      c.sleep(3_000);
      await succeed(cb);
      await fail(cb);
      expect(cb.counts).toEqual(
        counts({
          requests: 23 + 2 * i,
          totalSuccesses: 9 + i,
          totalFailures: 7 + i,
          consecutiveFailures: 1,
          totalExclusions: 7,
        }),
      );
    }

    c.sleep(3_000); // the first bucket rolls out
    await fail(cb);
    expect(cb.counts).toEqual(
      counts({
        requests: 19,
        totalSuccesses: 9,
        totalFailures: 8,
        consecutiveFailures: 2,
        totalExclusions: 2,
      }),
    );
    for (let i = 0; i < 5; i++) await fail(cb);
    expect(cb.state).toBe(State.Closed);
    await fail(cb); // failure rate 14/23 > 0.6
    expect(cb.state).toBe(State.Open);
    expect(changes.at(-1)).toEqual({ name: cb.name, from: State.Closed, to: State.Open });

    c.sleep(90_000);
    expect(cb.state).toBe(State.HalfOpen);
    await succeed(cb);
    await succeed(cb);
    const third = pending(cb);
    await third.started;
    await expect(succeed(cb)).rejects.toSatisfy(isTooManyRequestsError);
    third.finish();
    await third.result;
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    expect(await bucket(0)).toEqual(counts());
  });

  it('drops the result of a call whose bucket rolled out while it ran', async () => {
    const c = clock();
    const cb = rolling(c.now);
    const slow = pending(cb);
    await slow.started;
    c.sleep(30_000); // a whole window later
    await succeed(cb);
    slow.finish();
    await slow.result;
    expect(cb.counts).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));
  });

  it('lands a result in the bucket its call started in', async () => {
    const c = clock();
    const cb = rolling(c.now);
    const slow = pending(cb);
    await slow.started;
    c.sleep(3_000);
    await succeed(cb);
    slow.finish();
    await slow.result;
    const s = await shared(redis, cb);
    expect(s.bucket(10, -1)).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));
    expect(s.bucket(10, 0)).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));
    expect(cb.counts.totalSuccesses).toBe(2);
  });
});

describeWithRedis('DistributedCircuitBreaker (gobreaker TestGeneration)', () => {
  it('ignores the result of a call admitted in an older generation', async () => {
    const c = clock();
    const cb = custom(c.now);
    await cb.refresh(); // the shared window starts when the key is first used
    c.sleep(29_000);
    await succeed(cb);
    const slow = pending(cb);
    await slow.started;
    c.sleep(1_000); // over interval
    expect(await cb.refresh()).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    slow.finish();
    await slow.result;
    expect(cb.counts).toEqual(counts());
  });

  it('ignores a late failure from before a state change', async () => {
    const c = clock();
    const cb = make({ now: c.now });
    let rejectSlow!: (e: unknown) => void;
    let started!: () => void;
    const admitted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const slow = cb.execute(
      () =>
        new Promise((_, reject) => {
          rejectSlow = reject;
          started();
        }),
    );
    await admitted;
    for (let i = 0; i < 6; i++) await fail(cb);
    c.sleep(60_001);
    expect(cb.state).toBe(State.HalfOpen);
    rejectSlow(failure);
    await expect(slow).rejects.toBe(failure);
    expect(await cb.refresh()).toBe(State.HalfOpen);
  });
});

describeWithRedis(
  'DistributedCircuitBreaker (gobreaker TestCustomIsSuccessful, TestExcludeAndIsSuccessfulCombination)',
  () => {
    it('counts errors that isSuccessful accepts as successes', async () => {
      const c = clock();
      const cb = make({ isSuccessful: () => true, now: c.now });
      for (let i = 0; i < 5; i++) await fail(cb);
      expect(cb.state).toBe(State.Closed);
      expect(cb.counts).toEqual(counts({ requests: 5, totalSuccesses: 5, consecutiveSuccesses: 5 }));
      const strict = make({ isSuccessful: (error) => error === undefined, now: c.now });
      for (let i = 0; i < 6; i++) await fail(strict);
      expect(strict.state).toBe(State.Open);
    });

    it('asks isExcluded first, then isSuccessful', async () => {
      const asked: string[] = [];
      const cb = make({
        isExcluded: (error) => {
          asked.push('isExcluded');
          return error === excluded;
        },
        isSuccessful: () => {
          asked.push('isSuccessful');
          return false;
        },
        now: clock().now,
      });
      for (let i = 0; i < 3; i++) await exclude(cb);
      for (let i = 0; i < 3; i++) await succeed(cb);
      for (let i = 0; i < 2; i++) await fail(cb);
      expect(cb.counts).toEqual(
        counts({
          requests: 8,
          totalSuccesses: 3,
          totalFailures: 2,
          consecutiveFailures: 2,
          totalExclusions: 3,
        }),
      );
      expect(asked.slice(0, 3)).toEqual(['isExcluded', 'isExcluded', 'isExcluded']);
      expect(asked.slice(-2)).toEqual(['isExcluded', 'isSuccessful']);
    });
  },
);

describeWithRedis('DistributedCircuitBreaker (gobreaker TestCircuitBreakerInParallel)', () => {
  it('counts every one of many overlapping calls', async () => {
    // a burst of 1000 concurrent calls queues for longer than the default 50 ms budget
    const cb = make({ now: clock().now, isExcluded: (error) => error === excluded, storeTimeout: 10_000 });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) calls.push(i % 2 === 0 ? succeed(cb) : exclude(cb));
    await Promise.all(calls);
    expect(await cb.refresh()).toBe(State.Closed);
    expect(cb.counts).toEqual(
      counts({ requests: 1000, totalSuccesses: 500, consecutiveSuccesses: 500, totalExclusions: 500 }),
    );
  });

  it('trips once when many instances fail at once, with one compare-and-set', async () => {
    const c = clock();
    const name = `burst:${Math.random().toString(36).slice(2)}`;
    const changes: StateChangeEvent[] = [];
    const instances = Array.from({ length: 4 }, () => {
      const cb = createDistributedBreaker(redis, {
        name,
        storeTimeout: 2_000,
        readyToTrip: (x) => x.totalFailures >= 3,
        now: c.now,
      });
      cb.onStateChange((e) => changes.push(e));
      return cb;
    });
    await succeed(instances[0]!);
    const before = (await shared(redis, instances[0]!)).generation;
    await Promise.all(instances.flatMap((cb) => [fail(cb), fail(cb)]));
    const after = await shared(redis, instances[0]!);
    expect(after.state).toBe('open');
    // opened once: one generation for the trip, none for the compare-and-sets that lost
    expect(after.generation).toBe(before + 1);
    for (const cb of instances) expect(await cb.refresh()).toBe(State.Open);
    expect(changes.filter((e) => e.to === State.Open)).toHaveLength(4); // each instance saw it once
    expect(changes.filter((e) => e.to !== State.Open)).toHaveLength(0);
  });
});

describeWithRedis('DistributedCircuitBreaker probeTimeout', () => {
  async function halfOpen(settings: Record<string, unknown> = {}) {
    const c = clock();
    const cb = make({ maxRequests: 1, timeout: 1_000, readyToTrip: () => true, now: c.now, ...settings });
    await fail(cb);
    c.sleep(1_000);
    expect(cb.state).toBe(State.HalfOpen);
    return { c, cb };
  }

  it('frees the slot of a probe that outlived probeTimeout and ignores its late outcome', async () => {
    const { c, cb } = await halfOpen({ probeTimeout: 5_000 });
    const hung = pending(cb);
    await hung.started;
    c.sleep(4_999);
    const busy = await cb.execute(() => 1).catch((e: unknown) => e);
    expect(isTooManyRequestsError(busy)).toBe(true);
    expect((busy as { retryAfterMs?: number }).retryAfterMs).toBe(1);
    c.sleep(1);
    const next = pending(cb); // admitted in the hung probe's place
    await next.started;
    hung.finish();
    await hung.result;
    expect(await cb.refresh()).toBe(State.HalfOpen); // the late success did not close the breaker
    next.finish();
    await next.result;
    expect(cb.state).toBe(State.Closed);
  });

  it('holds the slot for as long as the probe runs when probeTimeout <= 0 (gobreaker)', async () => {
    const { c, cb } = await halfOpen({ probeTimeout: 0 });
    const hung = pending(cb);
    await hung.started;
    c.sleep(3_600_000);
    const busy = await cb.execute(() => 1).catch((e: unknown) => e);
    expect(isTooManyRequestsError(busy)).toBe(true);
    expect('retryAfterMs' in (busy as object)).toBe(false);
    hung.finish();
    await hung.result;
  });
});

describeWithRedis('DistributedCircuitBreaker isolate() and reset()', () => {
  it('holds every instance open whatever time passes, until reset() on any of them', async () => {
    const c = clock();
    const name = `iso:${Math.random().toString(36).slice(2)}`;
    const a = createDistributedBreaker(redis, { name, storeTimeout: 2_000, timeout: 1_000, now: c.now });
    const b = createDistributedBreaker(redis, { name, storeTimeout: 2_000, timeout: 1_000, now: c.now });
    await succeed(a);
    await a.isolate();
    expect(a.state).toBe(State.Open);
    c.sleep(10 * 60_000);
    expect(a.state).toBe(State.Open);
    const error = await b.execute(() => 1).catch((e: unknown) => e);
    expect(isOpenStateError(error)).toBe(true);
    expect((error as OpenStateError).retryAfterMs).toBe(1_000);
    await a.reset();
    c.sleep(1_000); // b asks Redis again after one open timeout
    await expect(b.execute(() => 2)).resolves.toBe(2);
    expect(b.state).toBe(State.Closed);
  });
});

describeWithRedis('DistributedCircuitBreaker across instances', () => {
  it('rejects locally while open: no round trip until the shared expiry', async () => {
    const c = clock();
    const name = `open:${Math.random().toString(36).slice(2)}`;
    const a = createDistributedBreaker(redis, {
      name,
      storeTimeout: 2_000,
      timeout: 10_000,
      readyToTrip: () => true,
      now: c.now,
    });
    const b = createDistributedBreaker(redis, {
      name,
      storeTimeout: 2_000,
      timeout: 10_000,
      readyToTrip: () => true,
      now: c.now,
    });
    await succeed(b); // b knows the breaker closed
    await fail(a); // a trips it
    // b learns of the trip in one round trip, and then stops asking
    const before = await scriptCalls(redis);
    await expect(b.execute(() => 1)).rejects.toBeInstanceOf(OpenStateError);
    const rejections: unknown[] = [];
    b.onReject((e) => rejections.push(e));
    for (let i = 0; i < 100; i++) await expect(b.execute(() => 1)).rejects.toSatisfy(isOpenStateError);
    expect((await scriptCalls(redis)) - before).toBe(1);
    expect(rejections).toHaveLength(100);
    const late = (await b.execute(() => 1).catch((e: unknown) => e)) as OpenStateError;
    expect(late.retryAfterMs).toBe(10_000);
    expect(late.breaker).toBe(name);
    expect(late.message).toBe('circuit breaker is open');
    c.sleep(10_000);
    await expect(b.execute(() => 3)).resolves.toBe(3); // the probe, admitted by Redis
    expect(a.state).toBe(State.HalfOpen); // a has not asked yet: its own clock says half-open
    expect(await a.refresh()).toBe(State.Closed);
  });

  it('costs one round trip before and one after each call', async () => {
    const cb = make({ now: clock().now });
    const before = await scriptCalls(redis);
    for (let i = 0; i < 10; i++) await succeed(cb);
    expect((await scriptCalls(redis)) - before).toBe(20);
  });

  it('shares one admission and one outcome script among the calls of one tick', async () => {
    const cb = make({ now: clock().now });
    await succeed(cb);
    const before = await scriptCalls(redis);
    await Promise.all(Array.from({ length: 16 }, () => succeed(cb)));
    expect((await scriptCalls(redis)) - before).toBe(2);
    expect(cb.counts).toEqual(counts({ requests: 17, totalSuccesses: 17, consecutiveSuccesses: 17 }));
  });

  it('admits only the free probe slots of a half-open batch', async () => {
    const c = clock();
    const cb = make({ maxRequests: 3, timeout: 1_000, readyToTrip: () => true, now: c.now });
    await fail(cb);
    c.sleep(1_000);
    const calls = Array.from({ length: 5 }, () => pending(cb));
    await Promise.all(calls.slice(0, 3).map((call) => call.started));
    const busy = await Promise.all(calls.slice(3).map((call) => call.result.catch((e: unknown) => e)));
    expect(busy.every(isTooManyRequestsError)).toBe(true);
    expect(cb.counts.requests).toBe(3);
    for (const call of calls.slice(0, 3)) call.finish();
    await Promise.all(calls.slice(0, 3).map((call) => call.result));
    expect(cb.state).toBe(State.Closed);
  });

  it('emits the local breaker’s events with the same shapes', async () => {
    const c = clock();
    const cb = make({
      readyToTrip: () => true,
      isExcluded: (e) => e === excluded,
      timeout: 5_000,
      now: c.now,
    });
    const events: unknown[] = [];
    cb.onSuccess((e) => events.push(['success', e]));
    cb.onFailure((e) => events.push(['failure', e]));
    cb.onExclusion((e) => events.push(['exclusion', e]));
    cb.onReject((e) => events.push(['reject', e]));
    cb.onStateChange((e) => events.push(['state', e]));
    await succeed(cb);
    await exclude(cb);
    await fail(cb);
    await expect(succeed(cb)).rejects.toSatisfy(isOpenStateError);
    const name = cb.name;
    expect(events).toEqual([
      ['success', { name, state: 'closed', durationMs: 0 }],
      ['exclusion', { name, state: 'closed', error: excluded }],
      ['failure', { name, state: 'closed', error: failure }],
      ['state', { name, from: 'closed', to: 'open' }],
      ['reject', { name, reason: 'open' }],
    ]);
  });

  it('works as the breaker of a resilience() policy', async () => {
    const cb = make({ now: clock().now, readyToTrip: () => true });
    const policy = resilience({ breaker: cb, retry: false });
    expect(policy.breaker).toBe(cb);
    await expect(policy.execute(async () => 'ok')).resolves.toBe('ok');
    await expect(policy.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    await expect(policy.execute(async () => 'no')).rejects.toSatisfy(isOpenStateError);
  });

  it('resolves tryExecute with a result object and never rejects', async () => {
    const cb = make({ now: clock().now });
    await expect(cb.tryExecute(() => 1)).resolves.toEqual({ ok: true, value: 1 });
    await expect(cb.tryExecute(() => Promise.reject(failure))).resolves.toEqual({
      ok: false,
      error: failure,
    });
    await expect(cb.execute(1 as unknown as () => number)).rejects.toBeInstanceOf(TypeError);
  });

  it('lets the key expire after keyTtl without use, and writes nothing but that key', async () => {
    const cb = make({ now: clock().now, keyTtl: 120_000 });
    await succeed(cb);
    const ttl = await redis.pttl(cb.key);
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
    const keys = await redis.keys(`*${cb.name}*`);
    expect(keys).toEqual([cb.key]);
  });

  it('ignores an outcome from before its key expired and was created anew', async () => {
    const c = clock();
    const cb = make({ timeout: 20, keyTtl: 40, now: c.now });
    const slow = pending(cb);
    await slow.started;
    await new Promise((resolve) => setTimeout(resolve, 80)); // Redis forgets the unused key
    expect(await redis.exists(cb.key)).toBe(0);
    c.sleep(80);
    slow.finish();
    await slow.result;
    // the outcome landed on a fresh key whose generation starts at the clock: not counted
    expect(await cb.refresh()).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
  });

  it('satisfies the structural shapes @tracks/metrics observes', () => {
    // the shapes of ObservableBreaker and ObservableStore in packages/metrics/src/observable.ts
    type Subscribe<E> = (listener: (event: E) => void) => () => void;
    const cb = make();
    const breaker: {
      readonly name: string;
      readonly state: 'closed' | 'half-open' | 'open';
      onStateChange: Subscribe<{ name: string; from: string; to: string }>;
      onSuccess: Subscribe<{ name: string; state: string; durationMs?: number }>;
      onFailure: Subscribe<{ name: string; state: string; error: unknown }>;
      onExclusion: Subscribe<{ name: string; state: string; error: unknown }>;
      onReject: Subscribe<{ name: string; reason: 'open' | 'too-many-requests' }>;
    } = cb;
    const store: { readonly name?: string; onStoreError: Subscribe<{ name?: string; error?: unknown }> } = cb;
    expect(typeof store.onStoreError(() => {})).toBe('function');
    expect(breaker.name).toBe(cb.name);
  });

  it('validates its name and store settings', () => {
    expect(() => createDistributedBreaker(redis, { name: '' })).toThrow(TypeError);
    expect(() => createDistributedBreaker(redis, { name: 'a b' })).toThrow(/name/);
    expect(() => createDistributedBreaker(redis, { name: 'x'.repeat(201) })).toThrow(TypeError);
    expect(() => createDistributedBreaker(redis, { name: 'ok', storeTimeout: 0 })).toThrow(/storeTimeout/);
    expect(() => createDistributedBreaker(redis, { name: 'ok', keyTtl: 1_000, timeout: 5_000 })).toThrow(
      /keyTtl/,
    );
    expect(() => createDistributedBreaker(redis, { name: 'ok', maxRequests: 1.5 })).toThrow(/maxRequests/);
    expect(() => createDistributedBreaker({} as never, { name: 'ok' })).toThrow(/ioredis/);
  });
});
