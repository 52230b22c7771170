import { describe, expect, it, vi } from 'vitest';
import { constantBackoff, exponentialBackoff } from './backoff.js';
import { ProviderError } from './errors.js';
import { openStateError } from './rejections.js';
import { type GiveUpEvent, type RetryEvent, type RetryOptions, retry, sleep } from './retry.js';
import { parseRetryAfter } from './retry-after.js';
import { TimeoutError } from './timeout.js';
import { activeTimerHandles, trackTimers } from './timers.test-helper.js';

/** A virtual clock whose sleep advances time at once and records every wait. */
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

function transient(n = 0): ProviderError {
  return new ProviderError({
    kind: 'transient',
    provider: 'test',
    operation: 'send',
    message: `transient ${n}`,
  });
}

function failing(times: number, error: (n: number) => unknown = transient) {
  let calls = 0;
  return vi.fn(async () => {
    calls++;
    if (calls <= times) throw error(calls);
    return `ok after ${calls}`;
  });
}

const noJitter = exponentialBackoff({ jitter: 'none' });

describe('retry', () => {
  it("follows the seed's 1 s, 2 s, 4 s, 8 s schedule without jitter", async () => {
    const clock = virtualTime();
    const retries: RetryEvent[] = [];
    const fn = failing(4);
    const result = await retry(fn, {
      ...clock,
      maxRetries: 4,
      backoff: noJitter,
      onRetry: (event) => retries.push(event),
    });
    expect(result).toBe('ok after 5');
    expect(clock.waits).toEqual([1000, 2000, 4000, 8000]);
    expect(retries.map(({ attempt, delayMs }) => [attempt, delayMs])).toEqual([
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 8000],
    ]);
    expect((retries[0]!.error as Error).message).toBe('transient 1');
  });

  it('by default retries 3 times with full jitter, then throws the last error unwrapped', async () => {
    const clock = virtualTime();
    const errors: ProviderError[] = [];
    const gaveUp: GiveUpEvent[] = [];
    const fn = vi.fn(async () => {
      const error = transient(errors.length + 1);
      errors.push(error);
      throw error;
    });
    const error = await retry(fn, {
      now: clock.now,
      sleep: clock.sleep,
      onGiveUp: (e) => gaveUp.push(e),
    }).catch((e: unknown) => e);
    expect(fn).toHaveBeenCalledTimes(4);
    expect(error).toBe(errors[3]);
    expect(gaveUp).toEqual([{ attempts: 4, error: errors[3], aborted: false }]);
    expect(clock.waits).toHaveLength(3);
    clock.waits.forEach((wait, i) => {
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThanOrEqual(1000 * 2 ** i);
    });
  });

  it('follows an exact jittered schedule with an injected random source', async () => {
    const clock = virtualTime();
    const samples = [0.5, 0.25, 0.75];
    const backoff = exponentialBackoff({ random: () => samples.shift() ?? 0 });
    await expect(retry(failing(3), { ...clock, backoff })).resolves.toBe('ok after 4');
    // full jitter: 0.5 × 1 s, 0.25 × 2 s, 0.75 × 4 s
    expect(clock.waits).toEqual([500, 500, 3000]);
    const equal = exponentialBackoff({ jitter: 'equal', random: () => 0.5 });
    const clock2 = virtualTime();
    await retry(failing(3), { ...clock2, backoff: equal });
    expect(clock2.waits).toEqual([750, 1500, 3000]);
  });

  it('hands each attempt its number and the signal', async () => {
    const clock = virtualTime();
    const controller = new AbortController();
    const seen: [number, AbortSignal][] = [];
    await retry(
      async ({ attempt, signal }) => {
        seen.push([attempt, signal]);
        if (attempt < 3) throw transient();
        return attempt;
      },
      { ...clock, signal: controller.signal },
    );
    expect(seen.map(([n]) => n)).toEqual([1, 2, 3]);
    expect(seen.every(([, signal]) => signal === controller.signal)).toBe(true);
    const orphan = await retry(async ({ signal }) => signal.aborted, clock);
    expect(orphan).toBe(false);
  });

  it('waits at least retryAfterMs, in both forms of Retry-After', async () => {
    const clock = virtualTime(Date.parse('2026-01-01T00:00:00Z'));
    const headers = ['3', 'Thu, 01 Jan 2026 00:00:10 GMT'];
    const fn = vi.fn(async () => {
      const header = headers.shift();
      if (header === undefined) return 'done';
      throw new ProviderError({
        kind: 'throttled',
        provider: 'test',
        operation: 'send',
        retryAfterMs: parseRetryAfter(header, clock.now()),
      });
    });
    await retry(fn, { ...clock, backoff: noJitter });
    // 3 s from the delay form; the date is 10 s after the start, and 3 s have passed
    expect(clock.waits).toEqual([3000, 7000]);
  });

  it('keeps the backoff when it is longer than retryAfterMs', async () => {
    const clock = virtualTime();
    const fn = failing(2, () => Object.assign(new Error('slow down'), { retryAfterMs: 10 }));
    await retry(fn, { ...clock, backoff: constantBackoff(500) });
    expect(clock.waits).toEqual([500, 500]);
  });

  it('gives up at once, without sleeping, when retryAfterMs does not fit maxElapsed', async () => {
    const clock = virtualTime();
    const error = new ProviderError({
      kind: 'throttled',
      provider: 'test',
      operation: 'send',
      retryAfterMs: 45_000,
    });
    const gaveUp = vi.fn();
    const fn = vi.fn(async () => {
      throw error;
    });
    await expect(retry(fn, { ...clock, onGiveUp: gaveUp })).rejects.toBe(error);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.waits).toEqual([]);
    expect(gaveUp).toHaveBeenCalledWith({ attempts: 1, error, aborted: false });
  });

  it('stops when the attempts and waits use up maxElapsed', async () => {
    const clock = virtualTime();
    const fn = vi.fn(async () => {
      clock.advance(10_000);
      throw transient();
    });
    await expect(retry(fn, { ...clock, backoff: noJitter, maxRetries: 10 })).rejects.toBeInstanceOf(
      ProviderError,
    );
    // fails at 10 s, waits 1 s; fails at 21 s, waits 2 s; fails at 33 s: no budget left
    expect(fn).toHaveBeenCalledTimes(3);
    expect(clock.waits).toEqual([1000, 2000]);
  });

  it('does not start a wait that would end exactly at the budget', async () => {
    const clock = virtualTime();
    const fn = failing(10);
    await expect(
      retry(fn, { ...clock, backoff: noJitter, maxElapsed: 7000, maxRetries: 10 }),
    ).rejects.toThrow();
    expect(clock.waits).toEqual([1000, 2000]);
  });

  it("never retries an open breaker's rejection before its retryAfterMs", async () => {
    const clock = virtualTime();
    const fn = failing(1, () => openStateError('email:ses', 2500));
    await retry(fn, { ...clock, backoff: constantBackoff(0) });
    expect(clock.waits).toEqual([2500]);
  });

  it('gives up at once on an open breaker whose retryAfterMs exceeds the budget', async () => {
    const clock = virtualTime();
    const rejection = openStateError('email:ses', 120_000);
    const fn = vi.fn(async () => {
      throw rejection;
    });
    await expect(retry(fn, clock)).rejects.toBe(rejection);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.waits).toEqual([]);
  });

  it('never retries message-scoped invalid or permanent errors, whatever retryIf says', async () => {
    const clock = virtualTime();
    for (const kind of ['invalid', 'permanent'] as const) {
      const error = new ProviderError({ kind, provider: 'test', operation: 'send', retryable: true });
      const fn = vi.fn(async () => {
        throw error;
      });
      await expect(retry(fn, { ...clock, retryIf: () => true })).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    }
  });

  it('does not retry what isRetryable refuses, and retries unknown errors', async () => {
    const clock = virtualTime();
    const auth = new ProviderError({ kind: 'auth', provider: 'test', operation: 'send' });
    const authFn = vi.fn(async () => {
      throw auth;
    });
    await expect(retry(authFn, clock)).rejects.toBe(auth);
    expect(authFn).toHaveBeenCalledTimes(1);
    const unknown = failing(2, () => new Error('ECONNRESET'));
    await expect(retry(unknown, clock)).resolves.toBe('ok after 3');
    const thrownString = failing(1, () => 'plain string');
    await expect(retry(thrownString, clock)).resolves.toBe('ok after 2');
  });

  it('asks retryIf with the error and the attempt', async () => {
    const clock = virtualTime();
    const retryIf = vi.fn((_error: unknown, attempt: number) => attempt < 2);
    const fn = failing(5);
    await expect(retry(fn, { ...clock, retryIf })).rejects.toThrow('transient 2');
    expect(retryIf.mock.calls.map(([, attempt]) => attempt)).toEqual([1, 2]);
  });

  it('retries timeouts (they are idempotent by default)', async () => {
    const clock = virtualTime();
    const fn = failing(1, () => new TimeoutError(100));
    await expect(retry(fn, clock)).resolves.toBe('ok after 2');
  });

  it('makes one attempt with maxRetries 0, and rethrows non-Error values as they are', async () => {
    const clock = virtualTime();
    const value = { code: 42 };
    const fn = vi.fn(async () => {
      throw value;
    });
    await expect(retry(fn, { ...clock, maxRetries: 0 })).rejects.toBe(value);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('ends a wait at once when the signal aborts, rejecting with its reason, leaving no timer', async () => {
    const before = activeTimerHandles();
    const timers = trackTimers();
    const controller = new AbortController();
    const reason = new Error('request cancelled');
    const gaveUp = vi.fn();
    const started = Date.now();
    const call = retry(failing(5), {
      signal: controller.signal,
      backoff: constantBackoff(60_000),
      maxElapsed: Number.POSITIVE_INFINITY,
      onRetry: () => queueMicrotask(() => controller.abort(reason)),
      onGiveUp: gaveUp,
    });
    await expect(call).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(gaveUp).toHaveBeenCalledWith({ attempts: 1, error: reason, aborted: true });
    timers.restore();
    expect(timers.pending()).toBe(0);
    expect(activeTimerHandles()).toBeLessThanOrEqual(before);
  });

  it('does not call fn when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    const fn = vi.fn(async () => 1);
    await expect(retry(fn, { signal: controller.signal })).rejects.toThrow('too late');
    expect(fn).not.toHaveBeenCalled();
  });

  it('stops after an attempt during which the signal aborted', async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      controller.abort('stop');
      throw new Error('aborted by the SDK');
    });
    const gaveUp = vi.fn();
    await expect(
      retry(fn, { signal: controller.signal, sleep: async () => {}, onGiveUp: gaveUp }),
    ).rejects.toBe('stop');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(gaveUp).toHaveBeenCalledWith({ attempts: 1, error: 'stop', aborted: true });
  });

  it('an injected sleep that ignores the signal still cannot outrun an abort', async () => {
    const controller = new AbortController();
    const fn = failing(5);
    const lazySleep = async () => controller.abort('stop');
    await expect(retry(fn, { signal: controller.signal, sleep: lazySleep })).rejects.toBe('stop');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('leaves no timer after real waits of a few ms', async () => {
    const before = activeTimerHandles();
    const timers = trackTimers();
    await expect(retry(failing(2), { backoff: constantBackoff(2) })).resolves.toBe('ok after 3');
    await expect(retry(failing(9), { backoff: constantBackoff(1) })).rejects.toThrow();
    timers.restore();
    expect(timers.pending()).toBe(0);
    expect(activeTimerHandles()).toBeLessThanOrEqual(before);
  });

  it('a throwing observer does not change the outcome', async () => {
    const clock = virtualTime();
    const boom = () => {
      throw new Error('observer bug');
    };
    await expect(retry(failing(1), { ...clock, onRetry: boom, onGiveUp: boom })).resolves.toBe('ok after 2');
    await expect(retry(failing(9), { ...clock, onRetry: boom, onGiveUp: boom })).rejects.toThrow(
      'transient 4',
    );
  });

  it('rejects bad options with a TypeError', async () => {
    const bad: RetryOptions[] = [
      { maxRetries: -1 },
      { maxRetries: 1.5 },
      { maxElapsed: Number.NaN },
      { backoff: 5 as never },
      { sleep: 'no' as never },
    ];
    for (const options of bad) {
      await expect(retry(async () => 1, options)).rejects.toBeInstanceOf(TypeError);
    }
  });
});

describe('sleep', () => {
  it('waits, and rejects at once with the reason on abort', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    await expect(sleep(0)).resolves.toBeUndefined();
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort('bye');
    await expect(waiting).rejects.toBe('bye');
    await expect(sleep(10, controller.signal)).rejects.toBe('bye');
  });
});
