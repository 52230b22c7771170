import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { constantBackoff } from './backoff.js';
import { Bulkhead, isBulkheadRejection } from './bulkhead.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { ProviderError } from './errors.js';
import {
  asPolicy,
  type Breaker,
  type ExecuteContext,
  isPolicy,
  type PolicyGiveUpEvent,
  type PolicyRetryEvent,
  type PolicySuccessEvent,
  resilience,
} from './policy.js';
import { consecutiveFailures, presets } from './presets.js';
import { isOpenStateError } from './rejections.js';
import { State } from './state.js';
import { isTimeoutError, TimeoutError } from './timeout.js';
import { activeTimerHandles, trackTimers } from './timers.test-helper.js';

function virtualTime(start = 1_000_000) {
  let time = start;
  const waits: number[] = [];
  return {
    waits,
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
    sleep: async (ms: number) => {
      waits.push(ms);
      time += ms;
    },
  };
}

const transient = (message = 'transient') =>
  new ProviderError({ kind: 'transient', provider: 'test', operation: 'send', message });

/** A structural breaker that admits everything and records what it was asked to run. */
function spyBreaker(name = 'spy'): Breaker & { calls: number; outcomes: unknown[] } {
  return {
    name,
    state: State.Closed,
    calls: 0,
    outcomes: [],
    async execute<R>(fn: () => R | PromiseLike<R>): Promise<R> {
      this.calls++;
      try {
        const value = await fn();
        this.outcomes.push('ok');
        return value;
      } catch (error) {
        this.outcomes.push(error);
        throw error;
      }
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('resilience', () => {
  it("puts retry outside the breaker: retry waits for an open breaker's retryAfterMs", async () => {
    const clock = virtualTime();
    const breaker = new CircuitBreaker({
      name: 'email:test',
      now: clock.now,
      timeout: 10_000,
      readyToTrip: consecutiveFailures(2),
    });
    const retries: PolicyRetryEvent[] = [];
    const policy = resilience({
      breaker,
      retry: { ...clock, backoff: constantBackoff(100), maxRetries: 5, maxElapsed: 60_000 },
    });
    policy.onRetry((event) => retries.push(event));
    let calls = 0;
    const result = await policy.execute(async () => {
      calls++;
      if (calls <= 2) throw transient(`failure ${calls}`);
      return 'recovered';
    });
    expect(result).toBe('recovered');
    // two failures open the breaker; the third attempt is rejected without a call and
    // waits the 9.9 s until the breaker admits a probe, which succeeds
    expect(calls).toBe(3);
    expect(clock.waits).toEqual([100, 100, 9900]);
    expect(isOpenStateError(retries[2]?.error)).toBe(true);
    expect(retries.map((r) => [r.name, r.attempt, r.delayMs])).toEqual([
      ['email:test', 1, 100],
      ['email:test', 2, 100],
      ['email:test', 3, 9900],
    ]);
    expect(breaker.state).toBe(State.Closed);
  });

  it('gives up at once when the open breaker will not admit a probe within maxElapsed', async () => {
    const clock = virtualTime();
    const breaker = new CircuitBreaker({
      now: clock.now,
      timeout: 120_000,
      readyToTrip: consecutiveFailures(1),
    });
    const policy = resilience({ breaker, retry: { ...clock, backoff: constantBackoff(100) } });
    const fn = vi.fn(async () => {
      throw transient();
    });
    const error = await policy.execute(fn).catch((e: unknown) => e);
    expect(isOpenStateError(error)).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.waits).toEqual([100]);
  });

  it('makes one breaker call per attempt', async () => {
    const clock = virtualTime();
    const breaker = spyBreaker();
    const policy = resilience({ breaker, retry: { ...clock, backoff: constantBackoff(1) } });
    let calls = 0;
    await policy.execute(async () => {
      if (++calls < 3) throw transient();
      return calls;
    });
    expect(breaker.calls).toBe(3);
    expect(breaker.outcomes).toHaveLength(3);
    expect(breaker.outcomes[2]).toBe('ok');
  });

  it('a bulkhead rejection never reaches the breaker', async () => {
    const breaker = new CircuitBreaker({ readyToTrip: consecutiveFailures(1) });
    const policy = resilience({ breaker, retry: false, bulkhead: { limit: 1 } });
    let release: () => void = () => {};
    const first = policy.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const rejected = await policy.execute(async () => 'never').catch((e: unknown) => e);
    expect(isBulkheadRejection(rejected)).toBe(true);
    expect(breaker.counts.requests).toBe(1);
    expect(breaker.counts.totalFailures).toBe(0);
    expect(breaker.state).toBe(State.Closed);
    release();
    await first;
    expect(breaker.counts.totalSuccesses).toBe(1);
  });

  it('frees the bulkhead slot or queue place when the breaker rejects', async () => {
    const breaker = new CircuitBreaker({ readyToTrip: consecutiveFailures(1), timeout: 60_000 });
    const bulkhead = new Bulkhead({ limit: 1, queue: 1 });
    const policy = resilience({ breaker, retry: false, bulkhead });
    await expect(policy.execute(() => Promise.reject(transient()))).rejects.toThrow('transient');
    expect(breaker.state).toBe(State.Open);
    await expect(policy.execute(async () => 1)).rejects.toThrow('circuit breaker is open');
    expect(bulkhead.running).toBe(0);
    expect(bulkhead.tryAcquire()).toBe(true);
    // a queued call rejected by the breaker leaves the queue
    await expect(policy.execute(async () => 1)).rejects.toThrow('circuit breaker is open');
    expect(bulkhead.queued).toBe(0);
    bulkhead.release();
  });

  it('frees the bulkhead slot when a hand-written breaker throws synchronously', async () => {
    const bulkhead = new Bulkhead({ limit: 1 });
    const broken: Breaker = {
      name: 'broken',
      state: State.Closed,
      execute: () => {
        throw new Error('breaker bug');
      },
    };
    const policy = resilience({ breaker: broken, retry: false, bulkhead });
    await expect(policy.execute(async () => 1)).rejects.toThrow('breaker bug');
    expect(bulkhead.running).toBe(0);
  });

  it('keeps 1000 concurrent calls within the bulkhead limit, each through the breaker', async () => {
    const breaker = spyBreaker();
    const policy = resilience({ breaker, retry: false, timeout: 10_000, bulkhead: { limit: 8, queue: 992 } });
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        policy.execute(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setImmediate(resolve));
          running--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(8);
    expect(results[999]).toBe(999);
    expect(breaker.calls).toBe(1000);
    const overflow = await Promise.allSettled(
      Array.from({ length: 1001 }, () => policy.execute(() => new Promise((r) => setImmediate(r)))),
    );
    expect(overflow.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(breaker.calls).toBe(2000);
  });

  it("cuts each attempt's timeout to what is left of maxElapsed", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const policy = resilience({
      breaker: false,
      timeout: 10_000,
      retry: { maxElapsed: 3000, backoff: constantBackoff(100) },
    });
    const signals: AbortSignal[] = [];
    const call = policy
      .execute(({ signal, attempt }) => {
        signals.push(signal);
        if (attempt === 1) {
          vi.setSystemTime(Date.now() + 2000);
          return Promise.reject(transient());
        }
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(signals).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(899);
    expect(signals[1]?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await call;
    // 2 s spent by the first attempt, 0.1 s waiting: 0.9 s left for the second, then none
    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(900);
    expect(signals[1]?.reason).toBe(error);
    expect(signals).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with TimeoutError when fn ignores its signal, and counts it against the breaker', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const breaker = new CircuitBreaker({ name: 'sms:test' });
    const policy = resilience({ breaker, retry: false, timeout: 250 });
    const call = policy.execute(() => new Promise(() => {})).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(250);
    expect(await call).toBeInstanceOf(TimeoutError);
    expect(breaker.counts.totalFailures).toBe(1);
  });

  it('a signal first read after the deadline is already aborted with the TimeoutError', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const policy = resilience({ breaker: false, retry: false, timeout: 100 });
    let ctx: ExecuteContext | undefined;
    const call = policy
      .execute((c) => {
        ctx = c;
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    const error = await call;
    // the attempt's AbortController is created lazily, on this first read
    expect(ctx?.signal.aborted).toBe(true);
    expect(ctx?.signal.reason).toBe(error);
  });

  it("uses the retry options' signal when a call passes none, and shares a Bulkhead between policies", async () => {
    const shutdown = new AbortController();
    const bulkhead = new Bulkhead({ limit: 1 });
    const a = resilience({ breaker: false, bulkhead, retry: { signal: shutdown.signal } });
    const b = resilience({ breaker: false, bulkhead, retry: false });
    let release: () => void = () => {};
    const held = a.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(b.execute(async () => 1)).rejects.toSatisfy(isBulkheadRejection);
    shutdown.abort(new Error('shutting down'));
    await expect(held).rejects.toThrow('shutting down');
    // an abandoned call frees its slot at once: fn was told to stop through its signal
    expect(bulkhead.running).toBe(0);
    release();
    await expect(b.execute(async () => 2)).resolves.toBe(2);
    await expect(a.execute(async () => 1)).rejects.toThrow('shutting down');
  });

  it('does not retry an ambiguous timeout of a non-idempotent call, unless retryAmbiguous', async () => {
    const clock = virtualTime();
    const timeout = new ProviderError({ kind: 'timeout', provider: 'test', operation: 'send' });
    const make = () => vi.fn(async () => Promise.reject(timeout));

    const sends = resilience({ breaker: false, idempotent: false, retry: clock });
    const once = make();
    await expect(sends.execute(once)).rejects.toBe(timeout);
    expect(once).toHaveBeenCalledTimes(1);
    const ourTimeout = vi.fn(async () => Promise.reject(new TimeoutError(5)));
    await expect(sends.execute(ourTimeout)).rejects.toBeInstanceOf(TimeoutError);
    expect(ourTimeout).toHaveBeenCalledTimes(1);
    // a transient error of a send is still retried: the request never left
    let calls = 0;
    await sends.execute(async () => {
      if (++calls === 1) throw transient();
    });
    expect(calls).toBe(2);

    const reads = resilience({ breaker: false, retry: clock });
    const read = make();
    await expect(reads.execute(read)).rejects.toBe(timeout);
    expect(read).toHaveBeenCalledTimes(4);
    const override = make();
    await expect(reads.execute(override, { idempotent: false })).rejects.toBe(timeout);
    expect(override).toHaveBeenCalledTimes(1);

    const ambiguous = resilience({ breaker: false, idempotent: false, retryAmbiguous: true, retry: clock });
    const retried = make();
    await expect(ambiguous.execute(retried)).rejects.toBe(timeout);
    expect(retried).toHaveBeenCalledTimes(4);
  });

  it('a message-scoped error is neither retried nor counted by the breaker', async () => {
    const clock = virtualTime();
    const policy = resilience({ breaker: { name: 'email:test' }, retry: clock });
    const invalid = new ProviderError({ kind: 'invalid', provider: 'test', operation: 'send', field: 'to' });
    const fn = vi.fn(async () => Promise.reject(invalid));
    await expect(policy.execute(fn)).rejects.toBe(invalid);
    expect(fn).toHaveBeenCalledTimes(1);
    const breaker = policy.breaker as CircuitBreaker;
    expect(breaker.counts).toMatchObject({ totalFailures: 0, totalSuccesses: 0, totalExclusions: 1 });
  });

  it('keeps the settings’ own isExcluded beside the taxonomy', async () => {
    const policy = resilience({ retry: false, breaker: { isExcluded: (e) => e === 'ignore me' } });
    await expect(policy.execute(() => Promise.reject('ignore me'))).rejects.toBe('ignore me');
    await expect(
      policy.execute(() =>
        Promise.reject(new ProviderError({ kind: 'permanent', provider: 'p', operation: 'o' })),
      ),
    ).rejects.toThrow();
    await expect(policy.execute(() => Promise.reject(new Error('counts')))).rejects.toThrow();
    expect((policy.breaker as CircuitBreaker).counts).toMatchObject({ totalExclusions: 2, totalFailures: 1 });
  });

  it('reports retries, give-ups and successes with the name, and stops after dispose', async () => {
    const clock = virtualTime();
    const optionRetries = vi.fn();
    const policy = resilience({
      breaker: { name: 'storage:test' },
      retry: { ...clock, backoff: constantBackoff(50), onRetry: optionRetries },
    });
    const retries: PolicyRetryEvent[] = [];
    const giveUps: PolicyGiveUpEvent[] = [];
    const successes: PolicySuccessEvent[] = [];
    const disposers = [
      policy.onRetry((e) => retries.push(e)),
      policy.onGiveUp((e) => giveUps.push(e)),
      policy.onSuccess((e) => successes.push(e)),
    ];
    let calls = 0;
    await policy.execute(async () => {
      if (++calls < 3) throw transient();
      clock.advance(7);
      return 'ok';
    });
    expect(successes).toEqual([{ name: 'storage:test', attempts: 3, durationMs: 107 }]);
    expect(retries).toHaveLength(2);
    expect(optionRetries).toHaveBeenCalledWith({ attempt: 1, delayMs: 50, error: expect.any(ProviderError) });
    const failure = transient('for good');
    await expect(policy.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(giveUps).toEqual([{ name: 'storage:test', attempts: 4, error: failure, aborted: false }]);
    for (const dispose of disposers) dispose();
    await policy.execute(async () => 1);
    await expect(policy.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(successes).toHaveLength(1);
    expect(giveUps).toHaveLength(1);
  });

  it('reports events without retry too, and prefers the name option', async () => {
    const policy = resilience({ name: 'ledger', retry: false, breaker: false });
    const successes: PolicySuccessEvent[] = [];
    const giveUps: PolicyGiveUpEvent[] = [];
    policy.onSuccess((e) => successes.push(e));
    policy.onGiveUp((e) => giveUps.push(e));
    await policy.execute(async () => 1);
    await expect(policy.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(successes.map((e) => [e.name, e.attempts])).toEqual([['ledger', 1]]);
    expect(giveUps.map((e) => [e.name, e.attempts])).toEqual([['ledger', 1]]);
  });

  it('tells an aborted call from an exhausted one in onGiveUp, with and without retry', async () => {
    const clock = virtualTime();
    const giveUps: [string, number, boolean][] = [];
    for (const retry of [clock, false] as const) {
      const policy = resilience({ name: retry ? 'retry' : 'once', retry, breaker: false });
      policy.onGiveUp((e) => giveUps.push([e.name, e.attempts, e.aborted]));
      const controller = new AbortController();
      await expect(
        policy.execute(
          async () => {
            controller.abort(new Error('caller left'));
            throw transient();
          },
          { signal: controller.signal },
        ),
      ).rejects.toThrow('caller left');
      await expect(
        policy.execute(() => Promise.reject(new Error('bad')), { idempotent: true }),
      ).rejects.toThrow();
    }
    expect(giveUps).toEqual([
      ['retry', 1, true],
      ['retry', 4, false],
      ['once', 1, true],
      ['once', 1, false],
    ]);
  });

  it('a throwing listener does not change the outcome', async () => {
    const clock = virtualTime();
    const policy = resilience({ breaker: false, retry: clock });
    policy.onRetry(() => {
      throw new Error('listener bug');
    });
    policy.onSuccess(() => {
      throw new Error('listener bug');
    });
    let calls = 0;
    await expect(
      policy.execute(async () => {
        if (++calls === 1) throw transient();
        return 'fine';
      }),
    ).resolves.toBe('fine');
  });

  it('hands each attempt its number and a signal, and runs sync functions', async () => {
    const clock = virtualTime();
    const policy = resilience({ breaker: false, retry: clock, timeout: 5000 });
    const seen: [number, boolean][] = [];
    const value = await policy.execute(({ attempt, signal }) => {
      seen.push([attempt, signal.aborted]);
      if (attempt < 2) throw transient();
      return 'sync value';
    });
    expect(value).toBe('sync value');
    expect(seen).toEqual([
      [1, false],
      [2, false],
    ]);
    const bare = resilience({ breaker: false, retry: false });
    await expect(bare.execute(({ signal }) => signal instanceof AbortSignal)).resolves.toBe(true);
    await expect(
      bare.execute(() => {
        throw new Error('sync throw');
      }),
    ).rejects.toThrow('sync throw');
  });

  it('ends a wait when the caller aborts, rejecting with the reason, leaving no timer or listener', async () => {
    const before = activeTimerHandles();
    const timers = trackTimers();
    const controller = new AbortController();
    const policy = resilience({
      breaker: false,
      timeout: 30_000,
      retry: { backoff: constantBackoff(60_000), maxElapsed: Number.POSITIVE_INFINITY },
    });
    policy.onRetry(() => queueMicrotask(() => controller.abort(new Error('client went away'))));
    const call = policy.execute(() => Promise.reject(transient()), { signal: controller.signal });
    await expect(call).rejects.toThrow('client went away');
    timers.restore();
    expect(timers.pending()).toBe(0);
    expect(activeTimerHandles()).toBeLessThanOrEqual(before);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects at once, calling nothing, when the caller has already aborted', async () => {
    const breaker = spyBreaker();
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(
      resilience({ breaker }).execute(async () => 1, { signal: controller.signal }),
    ).rejects.toThrow('gone');
    expect(breaker.calls).toBe(0);
  });

  it('aborts the running attempt when the caller aborts, and does not count it against the breaker', async () => {
    const controller = new AbortController();
    const policy = resilience({ breaker: {}, retry: false, timeout: 30_000 });
    let seen: AbortSignal | undefined;
    const call = policy.execute(
      ({ signal }) => {
        seen = signal;
        return new Promise(() => {});
      },
      { signal: controller.signal },
    );
    controller.abort();
    const error = await call.catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(seen?.aborted).toBe(true);
    expect((policy.breaker as CircuitBreaker).counts).toMatchObject({ totalFailures: 0, totalExclusions: 1 });
  });

  it('leaves no listener on a long-lived caller signal after many calls', async () => {
    const controller = new AbortController();
    const policy = resilience({ timeout: 10_000 });
    for (let i = 0; i < 1000; i++) {
      await policy.execute(({ signal }) => Promise.resolve(signal.aborted), { signal: controller.signal });
    }
    await policy.execute(async () => 1, { signal: controller.signal }).catch(() => {});
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('creates a CircuitBreaker by default and from settings, none with false, and exposes it', () => {
    expect(resilience().breaker).toBeInstanceOf(CircuitBreaker);
    const named = resilience({ name: 'email:x' }).breaker;
    expect(named?.name).toBe('email:x');
    expect(resilience({ breaker: { name: 'sms:y' } }).breaker?.name).toBe('sms:y');
    expect(resilience({ breaker: false }).breaker).toBeUndefined();
    const shared = new CircuitBreaker({ name: 'shared' });
    expect(resilience({ breaker: shared }).breaker).toBe(shared);
    const structural = spyBreaker('redis:email:ses');
    expect(resilience({ breaker: structural }).breaker).toBe(structural);
  });

  it('rejects bad options with a TypeError', () => {
    expect(() => resilience({ timeout: -1 })).toThrow(TypeError);
    expect(() => resilience({ idempotent: 'yes' as never })).toThrow(TypeError);
    expect(() => resilience({ bulkhead: { limit: 0 } })).toThrow(TypeError);
    expect(() => resilience({ retry: { maxRetries: -2 } })).toThrow(TypeError);
    expect(() => resilience({ breaker: 'email' as never })).toThrow(TypeError);
    expect(() => resilience({ breaker: { maxRequests: 1.5 } })).toThrow(TypeError);
  });
});

describe('asPolicy', () => {
  it('returns a policy as it is', () => {
    const policy = resilience();
    expect(asPolicy(policy, { breaker: presets.email })).toBe(policy);
  });

  it('gives options without a breaker the default breaker settings', async () => {
    const policy = asPolicy({ retry: false }, { breaker: { ...presets.email, name: 'email:ses' } });
    expect(policy.breaker?.name).toBe('email:ses');
    expect(asPolicy(undefined, { breaker: { ...presets.sms, name: 'sms:twilio' } }).breaker?.name).toBe(
      'sms:twilio',
    );
    // the email preset trips at >= 30 % failures of >= 5 calls
    for (let i = 0; i < 3; i++) await policy.execute(async () => 'ok');
    for (let i = 0; i < 2; i++) await policy.execute(() => Promise.reject(transient())).catch(() => {});
    expect(policy.breaker?.state).toBe(State.Open);
  });

  it('respects an explicit breaker, or none', () => {
    const own = new CircuitBreaker({ name: 'mine' });
    expect(asPolicy({ breaker: own }, { breaker: presets.email }).breaker).toBe(own);
    expect(asPolicy({ breaker: false }, { breaker: presets.email }).breaker).toBeUndefined();
    expect(asPolicy({}).breaker).toBeInstanceOf(CircuitBreaker);
    expect(() => asPolicy(42 as never)).toThrow(TypeError);
  });
});

describe('isPolicy', () => {
  it('recognises policies structurally, and not breakers or options', () => {
    expect(isPolicy(resilience())).toBe(true);
    const handWritten = {
      execute: async () => 1,
      breaker: undefined,
      onRetry: () => () => {},
      onGiveUp: () => () => {},
      onSuccess: () => () => {},
    };
    expect(isPolicy(handWritten)).toBe(true);
    expect(isPolicy(new CircuitBreaker())).toBe(false);
    expect(isPolicy({ retry: false })).toBe(false);
    expect(isPolicy(null)).toBe(false);
  });
});
