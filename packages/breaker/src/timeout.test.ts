import { getEventListeners, setMaxListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { linkSignal, onAbort } from './abort.js';
import { isTimeoutError, TimeoutError, withTimeout } from './timeout.js';
import { activeTimerHandles, trackTimers } from './timers.test-helper.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('withTimeout', () => {
  it('resolves with what fn resolves and leaves no timer behind', async () => {
    const before = activeTimerHandles();
    const timers = trackTimers();
    await expect(withTimeout(async () => 42, 10_000)).resolves.toBe(42);
    timers.restore();
    expect(timers.pending()).toBe(0);
    expect(activeTimerHandles()).toBeLessThanOrEqual(before);
  });

  it('(the timer tracker itself sees a timer left running)', () => {
    const timers = trackTimers();
    const handle = setTimeout(() => {}, 10_000);
    expect(timers.pending()).toBe(1);
    clearTimeout(handle);
    expect(timers.pending()).toBe(0);
  });

  it('rejects with TimeoutError at the deadline even if fn ignores its signal', async () => {
    vi.useFakeTimers();
    let seen: AbortSignal | undefined;
    const call = withTimeout((signal) => {
      seen = signal;
      return new Promise<never>(() => {});
    }, 5000);
    const outcome = call.catch((error: unknown) => error);
    vi.advanceTimersByTime(4999);
    expect(seen?.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).kind).toBe('timeout');
    expect((error as TimeoutError).timeoutMs).toBe(5000);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with TimeoutError on a real deadline of tens of ms', async () => {
    const started = Date.now();
    await expect(withTimeout(() => new Promise(() => {}), 20)).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it("aborts fn's signal and rejects with the reason when the caller aborts", async () => {
    vi.useFakeTimers();
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const call = withTimeout(
      (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      },
      5000,
      { signal: caller.signal },
    );
    const reason = new Error('shutting down');
    caller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(seen?.reason).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('does not call fn when the caller has already aborted', async () => {
    const caller = new AbortController();
    caller.abort(new Error('gone'));
    const fn = vi.fn(async () => 1);
    await expect(withTimeout(fn, 1000, { signal: caller.signal })).rejects.toThrow('gone');
    expect(fn).not.toHaveBeenCalled();
  });

  it('clears the timer as soon as fn settles, either way', async () => {
    vi.useFakeTimers();
    const ok = withTimeout(async () => 'ok', 60_000);
    expect(vi.getTimerCount()).toBe(1);
    await ok;
    expect(vi.getTimerCount()).toBe(0);
    const failed = withTimeout(async () => {
      throw new Error('boom');
    }, 60_000);
    await expect(failed).rejects.toThrow('boom');
    expect(vi.getTimerCount()).toBe(0);
    const sync = withTimeout(() => {
      throw new Error('sync');
    }, 60_000);
    await expect(sync).rejects.toThrow('sync');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears the timer and the caller hook when a foreign thenable’s then throws', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const broken = {
      // biome-ignore lint/suspicious/noThenProperty: a broken foreign thenable is what this tests
      then() {
        throw new Error('broken thenable');
      },
    } as unknown as PromiseLike<never>;
    const call = withTimeout(() => broken, 60_000, { signal: controller.signal });
    await expect(call).rejects.toThrow('broken thenable');
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('ignores what fn does after the deadline', async () => {
    vi.useFakeTimers();
    let finish: (value: string) => void = () => {};
    const call = withTimeout(() => new Promise<string>((resolve) => (finish = resolve)), 100);
    vi.advanceTimersByTime(100);
    finish('late');
    await expect(call).rejects.toBeInstanceOf(TimeoutError);
  });

  it('sets no timer for an infinite deadline', async () => {
    vi.useFakeTimers();
    const call = withTimeout(async () => 1, Number.POSITIVE_INFINITY);
    expect(vi.getTimerCount()).toBe(0);
    await expect(call).resolves.toBe(1);
  });

  it('rejects a bad deadline with a TypeError', () => {
    expect(() => withTimeout(async () => 1, -1)).toThrow(TypeError);
    expect(() => withTimeout(async () => 1, Number.NaN)).toThrow(TypeError);
  });

  it('leaves no listener on a long-lived caller signal after many calls', async () => {
    const caller = new AbortController();
    // 100 calls in flight at once hold 100 listeners: more than Node's warning threshold
    setMaxListeners(200, caller.signal);
    for (let i = 0; i < 2000; i++) {
      await withTimeout((signal) => Promise.resolve(signal.aborted), 10_000, { signal: caller.signal });
    }
    await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        withTimeout(
          async () => {
            if (i % 2) throw new Error('odd');
          },
          10_000,
          { signal: caller.signal },
        ),
      ),
    );
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
  it('lets the signals it made be collected while the caller signal lives on', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const caller = new AbortController();
    const refs: WeakRef<AbortSignal>[] = [];
    for (let i = 0; i < 2000; i++) {
      await withTimeout(
        (signal) => {
          if (i % 100 === 0) refs.push(new WeakRef(signal));
          return Promise.resolve(i);
        },
        10_000,
        { signal: caller.signal },
      );
    }
    // let the settled promises and their closures go before collecting; under a loaded parallel
    // run one collection pass may leave a ref (seen once in the full suite), so allow a few
    const alive = () => refs.filter((ref) => ref.deref() !== undefined).length;
    for (let pass = 0; pass < 5 && (pass < 2 || alive() > 0); pass++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    expect(alive()).toBe(0);
    expect(caller.signal.aborted).toBe(false);
  });
});

describe('TimeoutError', () => {
  it('is recognised across package copies by its brand', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('tracks.TimeoutError')]: true });
    expect(isTimeoutError(foreign)).toBe(true);
    expect(isTimeoutError(new Error('timeout'))).toBe(false);
    expect(isTimeoutError(null)).toBe(false);
    expect(new TimeoutError(250).message).toMatch(/250 ms/);
  });
});

describe('linkSignal', () => {
  it('aborts with the parent and its reason', () => {
    const parent = new AbortController();
    const child = linkSignal(parent.signal);
    parent.abort('why');
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe('why');
  });

  it('aborts on its own without touching the parent, and unhooks', () => {
    const parent = new AbortController();
    const child = linkSignal(parent.signal);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    child.abort('mine');
    expect(child.signal.reason).toBe('mine');
    expect(parent.signal.aborted).toBe(false);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });

  it('unlink removes the hook, so thousands of children leave nothing on the parent', () => {
    const parent = new AbortController();
    for (let i = 0; i < 5000; i++) linkSignal(parent.signal).unlink();
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    const child = linkSignal(parent.signal);
    child.unlink();
    child.unlink();
    parent.abort();
    expect(child.signal.aborted).toBe(false);
  });

  it('starts aborted under an aborted parent, and works without one', () => {
    const parent = new AbortController();
    parent.abort('early');
    expect(linkSignal(parent.signal).signal.reason).toBe('early');
    const orphan = linkSignal(undefined);
    orphan.abort('x');
    expect(orphan.signal.reason).toBe('x');
  });
});

describe('onAbort', () => {
  it('calls the listener once, at once for an aborted signal', () => {
    const listener = vi.fn();
    const controller = new AbortController();
    onAbort(controller.signal, listener);
    controller.abort('a');
    controller.abort('b');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener).toHaveBeenCalledWith('a');
    const late = vi.fn();
    onAbort(controller.signal, late);
    expect(late).toHaveBeenCalledWith('a');
  });
});
