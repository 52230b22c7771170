import { ProviderError, TimeoutError, TooManyRequestsError } from '@tracks/breaker';
import { describe, expect, it, onTestFinished } from 'vitest';
import { decodePayload, encodePayload } from './codec.js';
import { memoryDriver } from './memory-driver.js';
import { createOutbox } from './outbox.js';

// Counts the timers started and neither fired nor cleared since the call (unref'd timers are
// invisible to process.getActiveResourcesInfo(), so it cannot tell).
function trackTimers(): () => number {
  const pending = new Set<unknown>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle = realSet(
      (...a: unknown[]) => {
        pending.delete(handle);
        fn(...a);
      },
      ms,
      ...args,
    );
    pending.add(handle);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
    pending.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout;
  onTestFinished(() => {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  });
  return () => pending.size;
}
const until = async (condition: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

describe('createOutbox', () => {
  it('delivers an enqueue at once when started, without waiting for the poll interval', async () => {
    const received: number[] = [];
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: { email: (m: { n: number }) => void received.push(m.n) },
      pollIntervalMs: 60_000,
    });
    outbox.start();
    const startedAt = Date.now();
    await outbox.enqueue('email', { n: 1 });
    await until(() => received.length === 1);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    await outbox.stop();
  });

  it('leaves no timer behind after stop()', async () => {
    const timers = trackTimers();
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: { email: async (_m: { n: number }) => new Promise((resolve) => setTimeout(resolve, 5)) },
      pollIntervalMs: 10,
    });
    outbox.start();
    await outbox.enqueue('email', { n: 1 }, { notBefore: Date.now() + 60_000 });
    await outbox.enqueue('email', { n: 2 });
    await until(async () => (await outbox.stats()).delivered === 1);
    expect(timers()).toBeGreaterThan(0); // the wake-up for the job due in a minute
    await outbox.stop();
    expect(timers()).toBe(0);
    await outbox.stop(); // idempotent
    expect(() => outbox.start()).toThrow(/stopped/);
  });

  it('aborts the handler at the end of its lease and counts the attempt as ambiguous', async () => {
    const signals: AbortSignal[] = [];
    const time = 0;
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: {
        email: (_m: { n: number }, ctx) => {
          signals.push(ctx.signal);
          // a send that ignores its signal and never answers
          return new Promise(() => {});
        },
      },
      leaseMs: 20,
      now: () => time,
      retry: { backoff: () => 1_000 },
    });
    const failed: string[] = [];
    outbox.on('failed', (e) => failed.push(e.outcome));
    const { id } = await outbox.enqueue('email', { n: 1 });
    await outbox.tick();
    expect(signals[0]?.aborted).toBe(true);
    expect(failed).toEqual(['ambiguous']);
    expect(await outbox.get(id)).toMatchObject({ state: 'pending', attempts: 1, ambiguous: 1, runAt: 1_000 });
  });

  it('counts a timeout after the request left as ambiguous and reports it with the delivery', async () => {
    let time = 0;
    let calls = 0;
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: {
        email: (_m: { n: number }) => {
          if (++calls === 1) throw new TimeoutError(5_000);
        },
      },
      now: () => time,
      retry: { backoff: () => 0 },
    });
    const events: unknown[] = [];
    outbox.on('failed', (e) => events.push(['failed', e.outcome, e.attempt]));
    outbox.on('delivered', (e) => events.push(['delivered', e.attempts, e.ambiguous]));
    await outbox.enqueue('email', { n: 1 });
    await outbox.tick();
    time += 1;
    await outbox.tick();
    expect(events).toEqual([
      ['failed', 'ambiguous', 1],
      ['delivered', 2, 1],
    ]);
  });

  it('dead-letters provider-scoped auth failures (retrying cannot help) and retries unknown errors', async () => {
    const time = 0;
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: {
        auth: (_m: object) => {
          throw new ProviderError({ kind: 'auth', provider: 'fake', operation: 'send' });
        },
        bug: (_m: object) => {
          throw new Error('socket hang up');
        },
      },
      now: () => time,
    });
    const a = await outbox.enqueue('auth', {});
    const b = await outbox.enqueue('bug', {});
    await outbox.tick();
    expect(await outbox.get(a.id)).toMatchObject({ state: 'dead', deadReason: 'permanent' });
    expect(await outbox.get(b.id)).toMatchObject({ state: 'pending', lastError: 'Error: socket hang up' });
  });

  it('waits briefly after a half-open breaker’s busy probe slot, the whole queue with it', async () => {
    let time = 0;
    let calls = 0;
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: {
        email: (_m: object) => {
          calls++;
          // the hint is the probe's timeout: an upper bound, far longer than the probe takes
          if (time < 500) throw new TooManyRequestsError({ breaker: 'email:fake', retryAfterMs: 120_000 });
        },
      },
      concurrency: 2,
      now: () => time,
      retry: { backoff: () => 500, maxAttempts: 1 },
    });
    const deferred: number[] = [];
    outbox.on('deferred', (e) => deferred.push(e.retryInMs));
    for (let n = 0; n < 10; n++) await outbox.enqueue('email', {});
    expect(await outbox.tick()).toBe(2);
    expect(await outbox.tick()).toBe(0); // paused: the other eight are not run into the same rejection
    expect(deferred).toEqual([500, 500]);
    time = 500;
    while ((await outbox.tick()) > 0) {}
    expect(calls).toBe(12);
    expect(await outbox.stats()).toMatchObject({ delivered: 10, dead: 0 });
  });

  it('refuses bad options with a message that names them', () => {
    const driver = memoryDriver();
    const handlers = { email: () => {} };
    expect(() => createOutbox({ driver, handlers: {} })).toThrow(/at least one handler/);
    expect(() => createOutbox({ driver, handlers, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createOutbox({ driver, handlers, leaseMs: -1 })).toThrow(/leaseMs/);
    expect(() => createOutbox({ driver, handlers, retry: { maxAttempts: 1.5 } })).toThrow(/maxAttempts/);
    expect(() => createOutbox({ driver: {} as never, handlers })).toThrow(/driver/);
    expect(() => createOutbox({ driver, handlers: { email: 42 as never } })).toThrow(/handlers.email/);
    const outbox = createOutbox({ driver, handlers });
    expect(() => outbox.on('nope' as never, () => {})).toThrow(/unknown event/);
  });

  it('returns a disposer from on()', async () => {
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: { email: (_m: object) => {} },
      now: () => 0,
    });
    let count = 0;
    const dispose = outbox.on('delivered', () => count++);
    await outbox.enqueue('email', {});
    await outbox.tick();
    dispose();
    dispose();
    await outbox.enqueue('email', {});
    await outbox.tick();
    expect(count).toBe(1);
  });

  it('rejects payloads JSON cannot hold', async () => {
    const outbox = createOutbox({ driver: memoryDriver(), handlers: { email: (_m: unknown) => {} } });
    await expect(outbox.enqueue('email', { n: 1n })).rejects.toThrow(/cannot be stored as JSON/);
    await expect(outbox.enqueue('email', undefined)).rejects.toThrow(/cannot be stored as JSON/);
  });
});

describe('payload codec', () => {
  it('round-trips bytes (Uint8Array and Buffer) and plain JSON', () => {
    const value = { a: [1, 'x', null], bytes: new Uint8Array([1, 2, 3]), buffer: Buffer.from('hé') };
    const back = decodePayload(encodePayload(value)) as typeof value;
    expect(back.a).toEqual([1, 'x', null]);
    expect(back.bytes).toEqual(new Uint8Array([1, 2, 3]));
    expect(Buffer.from(back.buffer).toString()).toBe('hé');
  });
});

describe('the outbox as @tracks/metrics observes it', () => {
  it('fits ObservableOutbox: a name, on(outcome) returning a disposer, stats() of numbers', async () => {
    // the shape metrics.observeOutbox() takes, restated here: the outbox must not import metrics
    interface ObservableOutbox {
      readonly name?: string;
      on(event: 'delivered' | 'failed' | 'dead', listener: (event: unknown) => void): () => void;
      stats(): Readonly<Record<string, unknown>> | PromiseLike<Readonly<Record<string, unknown>>>;
    }
    const outbox: ObservableOutbox = createOutbox({
      name: 'email',
      driver: memoryDriver(),
      handlers: { email: (_m: object) => {} },
      now: () => 0,
    });
    const seen: unknown[] = [];
    const dispose = outbox.on('delivered', (e) => seen.push(e));
    await (outbox as unknown as { enqueue(q: string, p: object): Promise<unknown> }).enqueue('email', {});
    await (outbox as unknown as { tick(): Promise<number> }).tick();
    dispose();
    expect(seen).toMatchObject([{ name: 'email', queue: 'email', outcome: 'delivered' }]);
    const stats = await outbox.stats();
    expect(Object.values(stats).every((v) => typeof v === 'number')).toBe(true);
    expect(outbox.name).toBe('email');
  });
});
