import { isOpenStateError, State } from '@tracks/breaker';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDistributedBreaker, isStoreTimeoutError, type StoreErrorEvent } from './index.js';
import { clock, uniqueName } from './test/helpers.js';
import { describeWithRedis, RedisServer, redisMissing } from './test/redis-server.js';

// Redis slow, then gone, then back: calls never wait on it beyond storeTimeout, fall back to the
// local state, and the breaker resynchronises once Redis answers. Real but short timeouts (tens
// of ms): what is measured here is waiting on a socket.

let server: RedisServer;
let redis: Redis;
let admin: Redis;
let patient: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  if (redisMissing !== undefined) return;
  process.on('unhandledRejection', onUnhandled);
  server = await RedisServer.start();
  redis = server.client();
  admin = server.client();
  patient = server.client([], true);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  redis?.disconnect();
  admin?.disconnect();
  patient?.disconnect();
  await server?.kill();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T | unknown }> {
  const started = performance.now();
  const result = await fn().catch((error: unknown) => error);
  return { ms: performance.now() - started, result };
}

describeWithRedis('DistributedCircuitBreaker when Redis is slow', () => {
  it('waits at most storeTimeout, reports the store error, and serves the call locally', async () => {
    const c = clock();
    const cb = createDistributedBreaker(redis, {
      name: uniqueName('slow'),
      storeTimeout: 150,
      storeRetryInterval: 0,
      now: c.now,
    });
    const errors: StoreErrorEvent[] = [];
    cb.onStoreError((e) => errors.push(e));
    await expect(cb.execute(() => 1)).resolves.toBe(1);
    expect(cb.degraded).toBe(false);

    await admin.client('PAUSE', 600, 'ALL');
    const slow = await timed(() => cb.execute(() => 2));
    expect(slow.result).toBe(2);
    expect(slow.ms).toBeGreaterThanOrEqual(140); // it waited for Redis: the budget, no more
    expect(slow.ms).toBeLessThan(450);
    expect(cb.degraded).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.name).toBe(cb.name);
    expect(isStoreTimeoutError(errors[0]!.error)).toBe(true);

    // while degraded, calls do not wait for Redis at all (Redis is still paused)
    const local = await timed(() => cb.execute(() => 3));
    expect(local.result).toBe(3);
    expect(local.ms).toBeLessThan(100);

    await pause(600); // the pause ends
    // the next calls check Redis in the background; one of them finds it answering again
    for (let i = 0; i < 50 && cb.degraded; i++) {
      await cb.execute(() => 4);
      await pause(10);
    }
    expect(cb.degraded).toBe(false);
    expect(await cb.refresh()).toBe(State.Closed);
  });
});

describeWithRedis('DistributedCircuitBreaker when Redis turns slow during a call', () => {
  it('waits for the outcome only what the admission left of the budget', async () => {
    const cb = createDistributedBreaker(redis, {
      name: uniqueName('mid'),
      storeTimeout: 150,
      now: clock().now,
    });
    const errors: StoreErrorEvent[] = [];
    cb.onStoreError((e) => errors.push(e));
    await cb.refresh();
    let admittedAt = 0;
    const call = await timed(() =>
      cb.execute(async () => {
        admittedAt = performance.now();
        await admin.client('PAUSE', 600, 'ALL'); // Redis stalls after the admission
        return 'sent';
      }),
    );
    const afterCall = performance.now();
    expect(call.result).toBe('sent');
    // admission + outcome waits stayed within one budget (plus scheduling), well short of the
    // 600 ms stall
    expect(call.ms).toBeLessThan(450);
    expect(afterCall - admittedAt).toBeLessThan(450);
    await pause(200); // the recording's own budget runs out in the background and says so
    expect(errors).toHaveLength(1);
    expect(cb.degraded).toBe(true);
    await pause(450); // the pause ends before the next test
  });
});

describeWithRedis('DistributedCircuitBreaker when Redis dies and comes back', () => {
  it('keeps calls flowing with bounded latency, then adopts the shared state, with no unhandled rejection', async () => {
    const name = uniqueName('outage');
    const settings = {
      name,
      storeTimeout: 30,
      storeRetryInterval: 20,
      timeout: 60_000,
      readyToTrip: () => true,
    };
    // a patient client: without the budget, a call would wait for its 50 reconnection attempts
    const cb = createDistributedBreaker(patient, settings);
    const errors: StoreErrorEvent[] = [];
    cb.onStoreError((e) => errors.push(e));
    const changes: string[] = [];
    cb.onStateChange((e) => changes.push(`${e.from}>${e.to}`));

    for (let i = 0; i < 20; i++) await expect(cb.execute(() => i)).resolves.toBe(i);
    expect(cb.degraded).toBe(false);

    await server.kill();
    let worst = 0;
    for (let i = 0; i < 30; i++) {
      const call = await timed(() => cb.execute(() => i));
      expect(call.result).toBe(i); // the provider works; only Redis is gone
      worst = Math.max(worst, call.ms);
      await pause(2);
    }
    expect(worst).toBeLessThan(500); // 30 ms budget, plus a loaded machine's scheduling; unbounded: ~1 s
    expect(cb.degraded).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    expect(cb.state).toBe(State.Closed);

    await server.restart();
    // another instance trips the shared breaker once Redis is back (a fresh, empty Redis)
    const other = createDistributedBreaker(admin, { ...settings, storeTimeout: 2_000 });
    for (let i = 0; i < 100 && (await other.refresh()) !== State.Closed; i++) await pause(20);
    await other.execute(() => Promise.reject(new Error('provider down'))).catch(() => undefined);
    expect(other.state).toBe(State.Open);

    // this instance resynchronises within a few of its calls
    let rejected = false;
    for (let i = 0; i < 100 && !rejected; i++) {
      const call = await timed(() => cb.execute(() => 'flowing'));
      expect(call.ms).toBeLessThan(500);
      rejected = isOpenStateError(call.result);
      await pause(10);
    }
    expect(rejected).toBe(true);
    expect(cb.degraded).toBe(false);
    expect(cb.state).toBe(State.Open);
    expect(changes.at(-1)).toBe('closed>open');
    await pause(50); // late replies of commands that outlived their budget settle now
    expect(unhandled).toEqual([]);
  });
});

describeWithRedis('DistributedCircuitBreaker while Redis is down', () => {
  it('trips and rejects on its local state, and reports each failed resync', async () => {
    const c = clock();
    const dead = server.client();
    const cb = createDistributedBreaker(dead, {
      name: uniqueName('down'),
      storeTimeout: 20,
      storeRetryInterval: 1_000,
      readyToTrip: (x) => x.consecutiveFailures >= 2,
      now: c.now,
    });
    const errors: StoreErrorEvent[] = [];
    cb.onStoreError((e) => errors.push(e));
    dead.disconnect(); // no reconnection: every command fails at once
    const boom = new Error('provider down');
    await expect(cb.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    await expect(cb.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(cb.state).toBe(State.Open);
    await expect(cb.execute(() => 1)).rejects.toSatisfy(isOpenStateError);
    expect(errors).toHaveLength(1); // one failure to reach Redis; no resync attempted yet
    c.sleep(1_000);
    await expect(cb.execute(() => 1)).rejects.toSatisfy(isOpenStateError);
    await pause(5);
    expect(errors).toHaveLength(2); // the background resync failed too, and said so
  });
});
