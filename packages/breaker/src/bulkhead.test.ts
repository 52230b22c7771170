import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Bulkhead, BulkheadRejectedError, isBulkheadRejection } from './bulkhead.js';

function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Bulkhead', () => {
  it('never runs more than limit calls at once under 1000 concurrent calls', async () => {
    const bulkhead = new Bulkhead({ limit: 10, queue: 1000 });
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        bulkhead.execute(async () => {
          running++;
          peak = Math.max(peak, running);
          await tick();
          running--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(10);
    expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(bulkhead.running).toBe(0);
    expect(bulkhead.queued).toBe(0);
  });

  it('rejects at once what fits neither the slots nor the queue', async () => {
    const bulkhead = new Bulkhead({ limit: 10, queue: 100 });
    const gate = deferred();
    const calls = Array.from({ length: 1000 }, () => bulkhead.execute(() => gate.promise));
    expect(bulkhead.running).toBe(10);
    expect(bulkhead.queued).toBe(100);
    const early = await Promise.allSettled(calls.slice(110));
    expect(early.every((r) => r.status === 'rejected' && isBulkheadRejection(r.reason))).toBe(true);
    gate.resolve();
    const settled = await Promise.allSettled(calls.slice(0, 110));
    expect(settled.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(bulkhead.running).toBe(0);
  });

  it('runs queued calls first in, first out', async () => {
    const bulkhead = new Bulkhead({ limit: 1, queue: 5 });
    const order: number[] = [];
    const gate = deferred();
    const first = bulkhead.execute(() => gate.promise);
    const rest = [1, 2, 3].map((n) => bulkhead.execute(async () => void order.push(n)));
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([1, 2, 3]);
  });

  it('a waiting call leaves the queue when its signal aborts, and frees its place', async () => {
    const bulkhead = new Bulkhead({ limit: 1, queue: 1 });
    const gate = deferred();
    const running = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const waiting = bulkhead.execute(
      async () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    expect(bulkhead.queued).toBe(1);
    controller.abort(new Error('caller left'));
    await expect(waiting).rejects.toThrow('caller left');
    expect(bulkhead.queued).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // the freed place takes a new waiter
    const next = bulkhead.execute(async () => 'next');
    gate.resolve();
    await running;
    await expect(next).resolves.toBe('next');
    expect(ran).toBe(false);
    expect(bulkhead.running).toBe(0);
  });

  it('frees the slot when fn throws synchronously or rejects', async () => {
    const bulkhead = new Bulkhead({ limit: 1 });
    await expect(
      bulkhead.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(bulkhead.execute(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
    await expect(bulkhead.execute(() => 'value')).resolves.toBe('value');
    expect(bulkhead.running).toBe(0);
  });

  it('without a queue rejects the call beyond the limit with a message that explains', async () => {
    const bulkhead = new Bulkhead({ limit: 2 });
    const gate = deferred();
    const calls = [bulkhead.execute(() => gate.promise), bulkhead.execute(() => gate.promise)];
    const error = await bulkhead.execute(async () => 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect((error as BulkheadRejectedError).message).toBe(
      'bulkhead is full: 2 calls running and 0 queued; this call was not started',
    );
    gate.resolve();
    await Promise.all(calls);
  });

  it('the lower-level waiter gives up its place or its slot exactly once', async () => {
    const bulkhead = new Bulkhead({ limit: 1, queue: 2 });
    expect(bulkhead.tryAcquire()).toBe(true);
    expect(bulkhead.tryAcquire()).toBe(false);
    const a = bulkhead.enqueue()!;
    const b = bulkhead.enqueue()!;
    expect(bulkhead.enqueue()).toBeUndefined();
    a.release();
    a.release();
    expect(bulkhead.queued).toBe(1);
    bulkhead.release();
    await b.ready;
    expect(bulkhead.running).toBe(1);
    b.release();
    b.release();
    expect(bulkhead.running).toBe(0);
  });

  it('keeps its queue small after many cancelled waiters', async () => {
    const bulkhead = new Bulkhead({ limit: 1, queue: Number.POSITIVE_INFINITY });
    bulkhead.tryAcquire();
    for (let i = 0; i < 5000; i++) bulkhead.enqueue()!.release();
    const last = bulkhead.enqueue()!;
    bulkhead.release();
    await last.ready;
    last.release();
    expect(bulkhead.running).toBe(0);
    expect(bulkhead.queued).toBe(0);
  });

  it('compacts its queue under live waiters, keeping their order', async () => {
    const bulkhead = new Bulkhead({ limit: 1, queue: Number.POSITIVE_INFINITY });
    bulkhead.tryAcquire();
    for (let i = 0; i < 3000; i++) bulkhead.enqueue()!.release();
    const first = bulkhead.enqueue()!;
    const second = bulkhead.enqueue()!;
    const order: string[] = [];
    void first.ready.then(() => order.push('first'));
    void second.ready.then(() => order.push('second'));
    bulkhead.release();
    await first.ready;
    first.release();
    await second.ready;
    second.release();
    expect(order).toEqual(['first', 'second']);
    expect(bulkhead.running).toBe(0);
    expect(bulkhead.queued).toBe(0);
  });

  it('rejects bad options with a TypeError', () => {
    expect(() => new Bulkhead({ limit: 0 })).toThrow(TypeError);
    expect(() => new Bulkhead({ limit: 1.5 })).toThrow(TypeError);
    expect(() => new Bulkhead({ limit: 1, queue: -1 })).toThrow(TypeError);
  });
});
