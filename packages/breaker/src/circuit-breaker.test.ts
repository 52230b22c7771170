import { describe, expect, it } from 'vitest';
import type { StateChangeEvent } from './breaker-events.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { isOpenStateError, isTooManyRequestsError } from './rejections.js';
import type { Settings } from './settings.js';
import { type Counts, State } from './state.js';
import { TwoStepCircuitBreaker } from './two-step.js';

// Ports of sony/gobreaker v2's gobreaker_test.go. gobreaker's pseudoSleep moves the breaker's
// expiry back; here the injected clock moves forward, which is the same thing seen from inside.

const failure = new Error('fail');
const excluded = new Error('excluded');

function clock(start = 1_000_000) {
  const c = {
    t: start,
    now: () => c.t,
    sleep: (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

function counts(partial: Partial<Counts> = {}): Counts {
  return {
    requests: 0,
    totalSuccesses: 0,
    totalFailures: 0,
    totalExclusions: 0,
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    ...partial,
  };
}

const succeed = (cb: CircuitBreaker) => cb.execute(() => true).then(() => undefined);
const fail = (cb: CircuitBreaker) =>
  cb
    .execute(() => Promise.reject(failure))
    .then(
      () => {
        throw new Error('expected the call to fail');
      },
      (error: unknown) => {
        if (error !== failure) throw error;
      },
    );
const exclude = (cb: CircuitBreaker) =>
  cb
    .execute(() => Promise.reject(excluded))
    .then(
      () => {
        throw new Error('expected the call to fail');
      },
      (error: unknown) => {
        if (error !== excluded) throw error;
      },
    );

/** A call that stays in flight until `finish()` is called. */
function pending(cb: CircuitBreaker) {
  let finish!: () => void;
  const gate = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const result = cb.execute(() => gate.then(() => true));
  return { finish, result };
}

function ratioTrip(c: Counts): boolean {
  const requests = c.requests - c.totalExclusions;
  return requests >= 3 && c.totalFailures / requests >= 0.6;
}

function custom(now: () => number, changes: StateChangeEvent[] = []): CircuitBreaker {
  return new CircuitBreaker({
    name: 'cb',
    maxRequests: 3,
    interval: 30_000,
    timeout: 90_000,
    readyToTrip: ratioTrip,
    onStateChange: (name, from, to) => changes.push({ name, from, to }),
    isExcluded: (error) => error === excluded,
    now,
  });
}

function rolling(now: () => number, changes: StateChangeEvent[] = []): CircuitBreaker {
  return new CircuitBreaker({
    name: 'rw',
    maxRequests: 3,
    interval: 30_000,
    bucketPeriod: 3_000,
    timeout: 90_000,
    readyToTrip: ratioTrip,
    onStateChange: (name, from, to) => changes.push({ name, from, to }),
    isExcluded: (error) => error === excluded,
    now,
  });
}

describe('CircuitBreaker (gobreaker TestNewCircuitBreaker)', () => {
  it('starts closed with empty counts and gobreaker defaults', () => {
    const c = clock();
    const cb = new CircuitBreaker({ now: c.now });
    expect(cb.name).toBe('');
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    const s = cb.snapshot();
    expect(s.expiry).toBeNull();
    expect(s.buckets).toEqual([]);
  });

  it('sizes a rolling window as ceil(interval / bucketPeriod) buckets', () => {
    const c = clock();
    expect(rolling(c.now).snapshot().buckets).toHaveLength(10);
    expect(
      new CircuitBreaker({ interval: 10_000, bucketPeriod: 3_000, now: c.now }).snapshot().buckets,
    ).toHaveLength(4);
    expect(custom(c.now).snapshot().expiry).toBe(c.t + 30_000);
    expect(rolling(c.now).snapshot().expiry).toBeNull();
  });

  it('treats negative durations and maxRequests as gobreaker does (timeout 60 s, never cleared, 1 probe)', async () => {
    const c = clock();
    const cb = new CircuitBreaker({
      name: 'ncb',
      interval: -30_000,
      timeout: -90_000,
      maxRequests: -1,
      now: c.now,
    });
    expect(cb.snapshot().expiry).toBeNull();
    for (let i = 0; i < 6; i++) await fail(cb);
    expect(cb.state).toBe(State.Open);
    expect(cb.snapshot().expiry).toBe(c.t + 60_000);
    c.sleep(60_000);
    expect(cb.state).toBe(State.HalfOpen);
    const probe = pending(cb);
    await expect(cb.execute(() => 1)).rejects.toSatisfy(isTooManyRequestsError);
    probe.finish();
    await probe.result;
    expect(cb.state).toBe(State.Closed);
  });
});

describe('CircuitBreaker (gobreaker TestDefaultCircuitBreaker)', () => {
  it('opens after more than five consecutive failures and recovers through half-open', async () => {
    const c = clock();
    const cb = new CircuitBreaker({ now: c.now });
    for (let i = 0; i < 5; i++) await fail(cb);
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts({ requests: 5, totalFailures: 5, consecutiveFailures: 5 }));

    await succeed(cb);
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(
      counts({ requests: 6, totalSuccesses: 1, totalFailures: 5, consecutiveSuccesses: 1 }),
    );

    await fail(cb);
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(
      counts({ requests: 7, totalSuccesses: 1, totalFailures: 6, consecutiveFailures: 1 }),
    );

    for (let i = 0; i < 5; i++) await fail(cb); // 6 consecutive failures
    expect(cb.state).toBe(State.Open);
    expect(cb.counts).toEqual(counts());
    expect(cb.snapshot().expiry).not.toBeNull();

    await expect(succeed(cb)).rejects.toSatisfy(isOpenStateError);
    await expect(fail(cb)).rejects.toSatisfy(isOpenStateError);
    expect(cb.counts).toEqual(counts());

    c.sleep(59_000);
    expect(cb.state).toBe(State.Open);
    c.sleep(2_000); // over timeout
    expect(cb.state).toBe(State.HalfOpen);
    expect(cb.snapshot().expiry).toBeNull();

    await fail(cb); // half-open to open
    expect(cb.state).toBe(State.Open);
    expect(cb.counts).toEqual(counts());

    c.sleep(60_000);
    expect(cb.state).toBe(State.HalfOpen);
    await succeed(cb); // half-open to closed
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    expect(cb.snapshot().expiry).toBeNull();
  });

  it('counts a synchronous throw as a failure and rethrows it unchanged (gobreaker TestPanicInRequest)', async () => {
    const cb = new CircuitBreaker({ now: clock().now });
    const thrown = { not: 'an Error' };
    await expect(
      cb.execute(() => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(cb.counts).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));
  });
});

describe('CircuitBreaker (gobreaker TestCustomCircuitBreaker)', () => {
  it('clears its fixed window, trips on a failure ratio, and keeps exclusions neutral', async () => {
    const c = clock();
    const changes: StateChangeEvent[] = [];
    const cb = custom(c.now, changes);
    expect(cb.name).toBe('cb');

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
    expect(cb.state).toBe(State.Closed);
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
    expect(changes.at(-1)).toEqual({ name: 'cb', from: State.Closed, to: State.Open });

    c.sleep(90_000);
    expect(cb.state).toBe(State.HalfOpen);
    expect(changes.at(-1)).toEqual({ name: 'cb', from: State.Open, to: State.HalfOpen });

    // exclusions are neutral in half-open: they free the slot they held
    for (let i = 0; i < 4; i++) await exclude(cb);
    expect(cb.state).toBe(State.HalfOpen);

    await fail(cb); // the first real failure re-opens
    expect(cb.state).toBe(State.Open);
    expect(cb.counts).toEqual(counts());
    expect(changes.at(-1)).toEqual({ name: 'cb', from: State.HalfOpen, to: State.Open });

    c.sleep(90_000);
    expect(cb.state).toBe(State.HalfOpen);
    await succeed(cb);
    await succeed(cb);
    expect(cb.state).toBe(State.HalfOpen);
    expect(cb.counts).toEqual(counts({ requests: 2, totalSuccesses: 2, consecutiveSuccesses: 2 }));

    const third = pending(cb); // 3 consecutive successes once it completes
    expect(cb.counts).toEqual(counts({ requests: 3, totalSuccesses: 2, consecutiveSuccesses: 2 }));
    await expect(succeed(cb)).rejects.toSatisfy(isTooManyRequestsError); // over maxRequests
    third.finish();
    await third.result;
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    expect(cb.snapshot().expiry).not.toBeNull();
    expect(changes.at(-1)).toEqual({ name: 'cb', from: State.HalfOpen, to: State.Closed });
  });
});

describe('CircuitBreaker (gobreaker TestRollingWindowCircuitBreaker)', () => {
  it('rolls its buckets, drops the oldest, and trips on the rolling ratio', async () => {
    const c = clock();
    const changes: StateChangeEvent[] = [];
    const cb = rolling(c.now, changes);
    const bucket = (offset: number) => {
      const s = cb.snapshot();
      return s.buckets[s.buckets.length - 1 + offset];
    };

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
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(first);
    expect(bucket(0)).toEqual(first);

    c.sleep(3_000);
    await succeed(cb);
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(
      counts({
        requests: 16,
        totalSuccesses: 6,
        totalFailures: 5,
        consecutiveSuccesses: 1,
        totalExclusions: 5,
      }),
    );
    expect(bucket(-1)).toEqual(first);
    expect(bucket(0)).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));

    c.sleep(2_000);
    await succeed(cb);
    await exclude(cb);
    expect(cb.counts).toEqual(
      counts({
        requests: 18,
        totalSuccesses: 7,
        totalFailures: 5,
        consecutiveSuccesses: 2,
        totalExclusions: 6,
      }),
    );
    expect(bucket(-1)).toEqual(first);
    expect(bucket(0)).toEqual(
      counts({ requests: 3, totalSuccesses: 2, consecutiveSuccesses: 2, totalExclusions: 1 }),
    );

    const ageBefore = cb.snapshot().age; // snapshot() applies due transitions, so read it first
    c.sleep(2_000);
    await exclude(cb);
    expect(cb.snapshot().age).toBeGreaterThan(ageBefore);
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
    expect(bucket(-2)).toEqual(first);
    expect(bucket(-1)).toEqual(
      counts({ requests: 3, totalSuccesses: 2, consecutiveSuccesses: 2, totalExclusions: 1 }),
    );
    expect(bucket(0)).toEqual(
      counts({ requests: 2, totalSuccesses: 1, consecutiveSuccesses: 1, totalExclusions: 1 }),
    );

    c.sleep(2_000);
    await fail(cb);
    expect(cb.counts).toEqual(
      counts({
        requests: 21,
        totalSuccesses: 8,
        totalFailures: 6,
        consecutiveFailures: 1,
        totalExclusions: 7,
      }),
    );
    expect(bucket(-3)).toEqual(first);
    expect(bucket(0)).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));

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
    for (let i = 0; i < 5; i++) {
      await fail(cb);
      expect(cb.counts).toEqual(
        counts({
          requests: 20 + i,
          totalSuccesses: 9,
          totalFailures: 9 + i,
          consecutiveFailures: 3 + i,
          totalExclusions: 2,
        }),
      );
    }
    expect(cb.state).toBe(State.Closed);
    await fail(cb); // failure rate 14/23 > 0.6
    expect(cb.state).toBe(State.Open);
    expect(changes.at(-1)).toEqual({ name: 'rw', from: State.Closed, to: State.Open });

    c.sleep(90_000);
    expect(cb.state).toBe(State.HalfOpen);
    await succeed(cb);
    await succeed(cb);
    expect(cb.counts).toEqual(counts({ requests: 2, totalSuccesses: 2, consecutiveSuccesses: 2 }));
    const third = pending(cb);
    await expect(succeed(cb)).rejects.toSatisfy(isTooManyRequestsError);
    third.finish();
    await third.result;
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    expect(cb.snapshot().expiry).toBeNull();
    expect(changes.at(-1)).toEqual({ name: 'rw', from: State.HalfOpen, to: State.Closed });
  });

  it('drops the result of a call whose bucket rolled out while it ran', async () => {
    const c = clock();
    const cb = rolling(c.now);
    const slow = pending(cb);
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
    c.sleep(3_000);
    await succeed(cb);
    slow.finish();
    await slow.result;
    const s = cb.snapshot();
    expect(s.buckets.at(-2)).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));
    expect(s.buckets.at(-1)).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));
    expect(cb.counts.totalSuccesses).toBe(2);
  });
});

describe('CircuitBreaker rolling window: a late failure', () => {
  it('asks readyToTrip even when the failure’s bucket has rolled out, as gobreaker’s onFailure does', () => {
    // found by the property test: after a roll the counts alone meet the ratio, and the next
    // closed-state failure — even one that no longer counts — is what asks
    const c = clock(0);
    const cb = new TwoStepCircuitBreaker({
      interval: 1_000,
      bucketPeriod: 100,
      readyToTrip: (x) => x.requests >= 1 && x.totalFailures / x.requests >= 0.3,
      now: c.now,
    });
    const late = cb.allow();
    cb.allow()();
    cb.allow()();
    c.sleep(500);
    cb.allow()(failure);
    expect(cb.counts).toEqual(
      counts({ requests: 4, totalSuccesses: 2, totalFailures: 1, consecutiveFailures: 1 }),
    );
    expect(cb.state).toBe(State.Closed);
    c.sleep(500); // the first bucket rolls out: 1 request, 1 failure left
    expect(cb.state).toBe(State.Closed); // counts, like gobreaker's Counts(), apply no time
    expect(cb.counts).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));
    late(failure);
    expect(cb.state).toBe(State.Open);
  });
});

describe('CircuitBreaker (gobreaker TestGeneration)', () => {
  it('ignores the result of a call admitted in an older generation', async () => {
    const c = clock();
    const cb = custom(c.now);
    c.sleep(29_000);
    await succeed(cb);
    const slow = pending(cb);
    c.sleep(500);
    expect(cb.counts).toEqual(counts({ requests: 2, totalSuccesses: 1, consecutiveSuccesses: 1 }));
    c.sleep(500); // over interval
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    slow.finish();
    await slow.result;
    expect(cb.counts).toEqual(counts());
  });

  it('ignores a late failure from before a state change', async () => {
    const c = clock();
    const cb = new CircuitBreaker({ now: c.now });
    let rejectSlow!: (e: unknown) => void;
    const slow = cb.execute(
      () =>
        new Promise((_, reject) => {
          rejectSlow = reject;
        }),
    );
    for (let i = 0; i < 6; i++) await fail(cb);
    c.sleep(60_001);
    expect(cb.state).toBe(State.HalfOpen);
    rejectSlow(failure);
    await expect(slow).rejects.toBe(failure);
    expect(cb.state).toBe(State.HalfOpen);
  });
});

describe('CircuitBreaker (gobreaker TestCustomIsSuccessful)', () => {
  it('counts errors that isSuccessful accepts as successes', async () => {
    const c = clock();
    const cb = new CircuitBreaker({ isSuccessful: () => true, now: c.now });
    for (let i = 0; i < 5; i++) await fail(cb);
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts({ requests: 5, totalSuccesses: 5, consecutiveSuccesses: 5 }));

    const strict = new CircuitBreaker({ isSuccessful: (error) => error === undefined, now: c.now });
    for (let i = 0; i < 6; i++) await fail(strict);
    expect(strict.state).toBe(State.Open);
  });
});

describe('CircuitBreaker (gobreaker TestExcludeAndIsSuccessfulCombination)', () => {
  it('asks isExcluded first, then isSuccessful', async () => {
    const asked: string[] = [];
    const cb = new CircuitBreaker({
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
    expect(cb.counts).toEqual(counts({ requests: 3, totalExclusions: 3 }));
    for (let i = 0; i < 3; i++) await succeed(cb);
    expect(cb.counts).toEqual(
      counts({ requests: 6, totalSuccesses: 3, consecutiveSuccesses: 3, totalExclusions: 3 }),
    );
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
    expect(asked.slice(0, 4)).toEqual(['isExcluded', 'isExcluded', 'isExcluded', 'isExcluded']);
    expect(asked.slice(-2)).toEqual(['isExcluded', 'isSuccessful']);
  });
});

describe('CircuitBreaker (gobreaker TestCircuitBreakerInParallel)', () => {
  it('counts every one of many overlapping calls', async () => {
    const cb = custom(clock().now);
    const calls: Promise<unknown>[] = [];
    for (let r = 0; r < 10; r++) {
      for (let i = 0; i < 1000; i++) calls.push(i % 2 === 0 ? succeed(cb) : exclude(cb));
    }
    await Promise.all(calls);
    expect(cb.counts).toEqual(
      counts({ requests: 10_000, totalSuccesses: 5000, consecutiveSuccesses: 5000, totalExclusions: 5000 }),
    );
  });

  it('keeps a rolling window consistent under overlapping calls and clock steps', async () => {
    const c = clock();
    const cb = rolling(c.now);
    const calls: Promise<unknown>[] = [];
    for (let j = 0; j < 1200; j++) {
      if (j % 100 === 0) c.sleep(1_000);
      const call = j % 3 === 0 ? succeed(cb) : j % 3 === 1 ? fail(cb) : exclude(cb);
      calls.push(
        call.catch((e: unknown) =>
          isOpenStateError(e) || isTooManyRequestsError(e) ? undefined : Promise.reject(e),
        ),
      );
    }
    await Promise.all(calls);
    const s = cb.snapshot();
    const sum = (key: keyof Counts) => s.buckets.reduce((total, b) => total + b[key], 0);
    if (s.state === State.Closed) expect(sum('requests')).toBe(s.counts.requests);
    expect(() => cb.restore(s)).not.toThrow();
  });
});

describe('TwoStepCircuitBreaker (gobreaker TestTwoStepCircuitBreaker)', () => {
  it('follows the same state machine through allow() and done()', () => {
    const c = clock();
    const tscb = new TwoStepCircuitBreaker({ name: 'tscb', now: c.now });
    const succeed2 = () => tscb.allow()();
    const fail2 = () => tscb.allow()(failure);
    expect(tscb.name).toBe('tscb');

    for (let i = 0; i < 5; i++) fail2();
    expect(tscb.state).toBe(State.Closed);
    expect(tscb.counts).toEqual(counts({ requests: 5, totalFailures: 5, consecutiveFailures: 5 }));
    succeed2();
    expect(tscb.counts).toEqual(
      counts({ requests: 6, totalSuccesses: 1, totalFailures: 5, consecutiveSuccesses: 1 }),
    );
    fail2();
    expect(tscb.counts).toEqual(
      counts({ requests: 7, totalSuccesses: 1, totalFailures: 6, consecutiveFailures: 1 }),
    );

    for (let i = 0; i < 5; i++) fail2();
    expect(tscb.state).toBe(State.Open);
    expect(tscb.counts).toEqual(counts());
    expect(succeed2).toThrow('circuit breaker is open');
    expect(fail2).toThrow('circuit breaker is open');
    expect(tscb.counts).toEqual(counts());

    c.sleep(59_000);
    expect(tscb.state).toBe(State.Open);
    c.sleep(2_000);
    expect(tscb.state).toBe(State.HalfOpen);
    fail2();
    expect(tscb.state).toBe(State.Open);
    c.sleep(60_000);
    expect(tscb.state).toBe(State.HalfOpen);
    succeed2();
    expect(tscb.state).toBe(State.Closed);
    expect(tscb.counts).toEqual(counts());
  });

  it('takes done(null) as a success, so a Node-style (error) => done(error) callback works', () => {
    const cb = new TwoStepCircuitBreaker({
      now: clock().now,
      readyToTrip: (x) => x.consecutiveFailures >= 1,
    });
    cb.allow()(null);
    cb.allow()(undefined);
    expect(cb.counts).toEqual(counts({ requests: 2, totalSuccesses: 2, consecutiveSuccesses: 2 }));
    expect(cb.state).toBe(State.Closed);
  });

  it('counts done() once, even when called twice', () => {
    const tscb = new TwoStepCircuitBreaker({ now: clock().now });
    const done = tscb.allow();
    done(failure);
    done(failure);
    done();
    expect(tscb.counts).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));
  });

  it('classifies done(error) with isExcluded and isSuccessful', () => {
    const tscb = new TwoStepCircuitBreaker({
      now: clock().now,
      isExcluded: (e) => e === excluded,
      isSuccessful: (e) => e === 'fine',
    });
    tscb.allow()(excluded);
    tscb.allow()('fine');
    tscb.allow()(failure);
    expect(tscb.counts).toEqual(
      counts({
        requests: 3,
        totalExclusions: 1,
        totalSuccesses: 1,
        totalFailures: 1,
        consecutiveFailures: 1,
      }),
    );
  });
});

describe('CircuitBreaker settings', () => {
  const bad: [string, Settings][] = [
    ['NaN timeout', { timeout: Number.NaN }],
    ['infinite interval', { interval: Number.POSITIVE_INFINITY }],
    ['string bucketPeriod', { bucketPeriod: '10' as unknown as number }],
    ['fractional maxRequests', { maxRequests: 1.5 }],
    ['NaN probeTimeout', { probeTimeout: Number.NaN }],
    ['readyToTrip not a function', { readyToTrip: true as unknown as () => boolean }],
    ['isExcluded not a function', { isExcluded: 'yes' as unknown as () => boolean }],
    ['isSuccessful not a function', { isSuccessful: 1 as unknown as () => boolean }],
    ['onStateChange not a function', { onStateChange: {} as unknown as () => void }],
    ['now not a function', { now: 5 as unknown as () => number }],
    ['name not a string', { name: 5 as unknown as string }],
    ['too many buckets', { interval: 1e9, bucketPeriod: 1 }],
  ];
  it.each(bad)('rejects %s with a TypeError', (_, settings) => {
    expect(() => new CircuitBreaker(settings)).toThrow(TypeError);
    expect(() => new TwoStepCircuitBreaker(settings)).toThrow(TypeError);
  });

  it('names the breaker and the setting in the message', () => {
    expect(() => new CircuitBreaker({ name: 'email:ses', timeout: Number.NaN })).toThrow(
      'circuit breaker "email:ses": setting "timeout" must be a finite number of ms, got NaN',
    );
  });

  it('accepts undefined for every setting', () => {
    expect(
      () => new CircuitBreaker({ name: undefined, timeout: undefined, readyToTrip: undefined }),
    ).not.toThrow();
  });
});

describe('CircuitBreaker.execute', () => {
  it('accepts synchronous functions, thenables and non-Error throwables', async () => {
    const cb = new CircuitBreaker({ now: clock().now });
    await expect(cb.execute(() => 42)).resolves.toBe(42);
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is what this line tests
      then: (resolve: (v: string) => void) => resolve('then'),
    } as unknown as PromiseLike<string>;
    await expect(cb.execute(() => thenable)).resolves.toBe('then');
    await expect(cb.execute(() => Promise.reject('a string'))).rejects.toBe('a string');
    await expect(
      cb.execute(() => {
        throw undefined;
      }),
    ).rejects.toBeUndefined();
    expect(cb.counts).toEqual(
      counts({ requests: 4, totalSuccesses: 2, totalFailures: 2, consecutiveFailures: 2 }),
    );
  });

  it('has counted the call by the time the caller resumes', async () => {
    const cb = new CircuitBreaker({ now: clock().now });
    await cb.execute(() => Promise.resolve('v'));
    expect(cb.counts.totalSuccesses).toBe(1);
    await cb.execute(() => Promise.reject(failure)).catch(() => {});
    expect(cb.counts.totalFailures).toBe(1);
  });

  it('leaves a failure nobody handled unhandled, as `fn()` alone would', async () => {
    // Recording the outcome must not count as handling the caller's rejection: a caller who
    // forgets to await still learns of the failure through 'unhandledRejection'.
    const cb = new CircuitBreaker({ now: clock().now });
    const seen: unknown[] = [];
    const record = (reason: unknown) => seen.push(reason);
    const vitestListeners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', record);
    try {
      const thenable = {
        // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is what this line tests
        then: (_: unknown, reject: (e: unknown) => void) => reject('thenable'),
      } as unknown as PromiseLike<never>;
      void cb.execute(() => Promise.reject(failure));
      void cb.execute(() => thenable);
      void cb.execute(() => {
        throw excluded;
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('unhandledRejection', record);
      for (const listener of vitestListeners) process.on('unhandledRejection', listener);
    }
    expect(new Set(seen)).toEqual(new Set([failure, 'thenable', excluded]));
    expect(cb.counts.totalFailures).toBe(3);
  });

  it('rejects a non-function without counting it', async () => {
    const cb = new CircuitBreaker({ now: clock().now });
    await expect(cb.execute(42 as unknown as () => number)).rejects.toThrow(TypeError);
    expect(cb.counts).toEqual(counts());
  });

  it('reads the clock once per call on the success and rejection paths', async () => {
    let reads = 0;
    let t = 0;
    const cb = new CircuitBreaker({
      interval: 10_000,
      bucketPeriod: 1_000,
      readyToTrip: (c) => c.consecutiveFailures >= 1,
      now: () => {
        reads++;
        return t;
      },
    });
    reads = 0;
    for (let i = 0; i < 10; i++) await cb.execute(() => i);
    expect(reads).toBe(10);
    await cb.execute(() => Promise.reject(failure)).catch(() => {});
    reads = 0;
    t += 1;
    for (let i = 0; i < 10; i++) await cb.execute(() => i).catch(() => {});
    expect(reads).toBe(10);
  });

  it('does not read the clock for a closed breaker without a window, unless observed', async () => {
    let reads = 0;
    const cb = new CircuitBreaker({
      now: () => {
        reads++;
        return 0;
      },
    });
    reads = 0;
    for (let i = 0; i < 10; i++) await cb.execute(() => i);
    expect(reads).toBe(0);
    const durations: number[] = [];
    cb.onSuccess((e) => durations.push(e.durationMs));
    await cb.execute(() => 1);
    expect(reads).toBe(2);
    expect(durations).toEqual([0]);
  });

  it('survives classifiers and readyToTrip that throw: the call’s own outcome still reaches the caller', async () => {
    const cb = new CircuitBreaker({
      now: clock().now,
      isExcluded: () => {
        throw new Error('classifier bug');
      },
      readyToTrip: () => {
        throw new Error('readyToTrip bug');
      },
    });
    await expect(cb.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(cb.counts.totalFailures).toBe(1);
    expect(cb.state).toBe(State.Closed);
  });
});

describe('CircuitBreaker with code of users that throws', () => {
  it('counts a call whose isSuccessful throws as a failure, and rethrows the call’s own error', async () => {
    const cb = new CircuitBreaker({
      now: clock().now,
      isSuccessful: () => {
        throw new Error('isSuccessful bug');
      },
    });
    await expect(cb.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(cb.counts).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));
  });

  it('changes state, and tells the other listeners, when a state-change listener throws', async () => {
    const seen: string[] = [];
    const cb = new CircuitBreaker({
      now: clock().now,
      readyToTrip: () => true,
      onStateChange: () => {
        throw new Error('setting bug');
      },
    });
    cb.onStateChange(() => {
      throw new Error('listener bug');
    });
    cb.onStateChange(({ from, to }) => seen.push(`${from}->${to}`));
    await expect(cb.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(cb.state).toBe(State.Open);
    expect(seen).toEqual(['closed->open']);
  });
});

describe('CircuitBreaker.tryExecute', () => {
  it('resolves a result object and never rejects', async () => {
    const c = clock();
    const cb = new CircuitBreaker({ now: c.now, readyToTrip: (x) => x.consecutiveFailures >= 1 });
    await expect(cb.tryExecute(() => 1)).resolves.toEqual({ ok: true, value: 1 });
    await expect(cb.tryExecute(() => Promise.reject(failure))).resolves.toEqual({
      ok: false,
      error: failure,
    });
    const rejected = await cb.tryExecute(() => 1);
    expect(rejected.ok).toBe(false);
    expect(isOpenStateError(!rejected.ok && rejected.error)).toBe(true);
    await expect(cb.tryExecute(null as unknown as () => number)).resolves.toMatchObject({ ok: false });
  });
});

describe('CircuitBreaker observers', () => {
  it('emits one event object of the documented shape per outcome, state change and rejection', async () => {
    const c = clock();
    const cb = new CircuitBreaker({
      name: 'email:ses',
      now: c.now,
      readyToTrip: (x) => x.consecutiveFailures >= 2,
      isExcluded: (e) => e === excluded,
      timeout: 1_000,
    });
    const events: unknown[] = [];
    cb.onStateChange((e) => events.push(['state', e]));
    cb.onSuccess((e) => events.push(['success', e]));
    cb.onFailure((e) => events.push(['failure', e]));
    cb.onExclusion((e) => events.push(['exclusion', e]));
    cb.onReject((e) => events.push(['reject', e]));
    await cb.execute(() => {
      c.sleep(25);
      return 'ok';
    });
    await exclude(cb);
    await fail(cb);
    await fail(cb);
    await cb.execute(() => 1).catch(() => {});
    c.sleep(1_000);
    const probe = pending(cb);
    await cb.execute(() => 1).catch(() => {});
    probe.finish();
    await probe.result;
    expect(events).toEqual([
      ['success', { name: 'email:ses', state: 'closed', durationMs: 25 }],
      ['exclusion', { name: 'email:ses', state: 'closed', error: excluded, durationMs: 0 }],
      ['failure', { name: 'email:ses', state: 'closed', error: failure, durationMs: 0 }],
      ['failure', { name: 'email:ses', state: 'closed', error: failure, durationMs: 0 }],
      ['state', { name: 'email:ses', from: 'closed', to: 'open' }],
      ['reject', { name: 'email:ses', reason: 'open' }],
      ['state', { name: 'email:ses', from: 'open', to: 'half-open' }],
      ['reject', { name: 'email:ses', reason: 'too-many-requests' }],
      ['success', { name: 'email:ses', state: 'half-open', durationMs: 0 }],
      ['state', { name: 'email:ses', from: 'half-open', to: 'closed' }],
    ]);
  });

  it('times failures and exclusions too, reading the clock only for a listener', async () => {
    let t = 0;
    let reads = 0;
    const cb = new CircuitBreaker({
      now: () => {
        reads++;
        return t;
      },
      isExcluded: (e) => e === excluded,
    });
    const slow = (error: Error) => () =>
      new Promise<never>((_, reject) => {
        t += 40;
        reject(error);
      });
    reads = 0;
    await cb.execute(slow(excluded)).catch(() => {});
    expect(reads).toBe(0); // no window, no listener: no clock
    const durations: unknown[] = [];
    cb.onFailure((e) => durations.push(['failure', e.durationMs]));
    await cb.execute(slow(excluded)).catch(() => {});
    cb.onExclusion((e) => durations.push(['exclusion', e.durationMs]));
    await cb.execute(slow(failure)).catch(() => {});
    await cb.execute(slow(excluded)).catch(() => {});
    const twoStep = new TwoStepCircuitBreaker({ now: () => t });
    twoStep.onFailure((e) => durations.push(['two-step', e.durationMs]));
    const done = twoStep.allow();
    t += 7;
    done(failure);
    expect(durations).toEqual([
      ['failure', 40],
      ['exclusion', 40],
      ['two-step', 7],
    ]);
  });

  it('reports no made-up duration for a call admitted before the first listener', async () => {
    // without a window the clock is read only for observers: such a call's start was never read
    const c = clock();
    const cb = new CircuitBreaker({ now: c.now });
    const early = pending(cb);
    const durations: number[] = [];
    cb.onSuccess((e) => durations.push(e.durationMs));
    c.sleep(30);
    const late = pending(cb);
    c.sleep(20);
    early.finish();
    late.finish();
    await Promise.all([early.result, late.result]);
    expect(durations).toEqual([Number.NaN, 20]);
  });

  it('stops calling a disposed listener, and a throwing listener breaks nothing', async () => {
    const cb = new CircuitBreaker({ now: clock().now });
    const seen: number[] = [];
    const dispose = cb.onSuccess(() => seen.push(1));
    cb.onSuccess(() => {
      throw new Error('listener bug');
    });
    cb.onSuccess(() => seen.push(3));
    await expect(cb.execute(() => 'v')).resolves.toBe('v');
    dispose();
    dispose();
    await cb.execute(() => 'v');
    expect(seen).toEqual([1, 3, 3]);
    expect(cb.counts.totalSuccesses).toBe(2);
  });

  it('ignores a throwing onStateChange setting', async () => {
    const cb = new CircuitBreaker({
      now: clock().now,
      readyToTrip: () => true,
      onStateChange: () => {
        throw new Error('setting bug');
      },
    });
    await expect(fail(cb)).resolves.toBeUndefined();
    expect(cb.state).toBe(State.Open);
  });

  it('rejects a listener that is not a function', () => {
    const cb = new CircuitBreaker({ now: clock().now });
    expect(() => cb.onFailure(1 as unknown as () => void)).toThrow(TypeError);
  });
});

describe('CircuitBreaker probeTimeout', () => {
  async function halfOpen(settings: Settings = {}) {
    const c = clock();
    const cb = new CircuitBreaker({
      maxRequests: 1,
      timeout: 1_000,
      readyToTrip: () => true,
      now: c.now,
      ...settings,
    });
    await fail(cb);
    c.sleep(1_000);
    expect(cb.state).toBe(State.HalfOpen);
    return { c, cb };
  }

  it('frees the slot of a probe that outlived probeTimeout and ignores its late outcome', async () => {
    const { c, cb } = await halfOpen({ probeTimeout: 5_000 });
    const hung = pending(cb);
    c.sleep(4_999);
    const busy = await cb.execute(() => 1).catch((e: unknown) => e);
    expect(isTooManyRequestsError(busy)).toBe(true);
    expect((busy as { retryAfterMs?: number }).retryAfterMs).toBe(1);
    c.sleep(1);
    const next = pending(cb); // admitted in the hung probe's place
    hung.finish();
    await hung.result;
    expect(cb.state).toBe(State.HalfOpen); // the late success did not close the breaker
    next.finish();
    await next.result;
    expect(cb.state).toBe(State.Closed);
  });

  it('defaults to the open timeout', async () => {
    const { c, cb } = await halfOpen();
    pending(cb);
    c.sleep(999);
    await expect(cb.execute(() => 1)).rejects.toSatisfy(isTooManyRequestsError);
    c.sleep(1);
    await expect(cb.execute(() => 1)).resolves.toBe(1);
  });

  it('holds the slot for as long as the probe runs when probeTimeout <= 0 (gobreaker)', async () => {
    const { c, cb } = await halfOpen({ probeTimeout: 0 });
    pending(cb);
    c.sleep(3_600_000);
    const busy = await cb.execute(() => 1).catch((e: unknown) => e);
    expect(isTooManyRequestsError(busy)).toBe(true);
    expect('retryAfterMs' in (busy as object)).toBe(false);
  });
});

describe('CircuitBreaker isolate() and reset()', () => {
  it('holds the breaker open whatever time passes, until reset()', async () => {
    const c = clock();
    const changes: StateChangeEvent[] = [];
    const cb = new CircuitBreaker({ name: 'x', timeout: 1_000, now: c.now });
    cb.onStateChange((e) => changes.push(e));
    await succeed(cb);
    cb.isolate();
    expect(cb.state).toBe(State.Open);
    c.sleep(10 * 60_000);
    expect(cb.state).toBe(State.Open);
    const error = await cb.execute(() => 1).catch((e: unknown) => e);
    expect(isOpenStateError(error)).toBe(true);
    expect((error as { retryAfterMs: number }).retryAfterMs).toBe(1_000);
    expect(cb.snapshot().isolated).toBe(true);
    cb.reset();
    expect(cb.state).toBe(State.Closed);
    expect(cb.counts).toEqual(counts());
    expect(changes.map((e) => `${e.from}->${e.to}`)).toEqual(['closed->open', 'open->closed']);
  });

  it('reset() clears a closed breaker’s counts and ignores calls admitted before it', async () => {
    const cb = new CircuitBreaker({ now: clock().now });
    await fail(cb);
    const slow = pending(cb);
    cb.reset();
    slow.finish();
    await slow.result;
    expect(cb.counts).toEqual(counts());
  });
});
