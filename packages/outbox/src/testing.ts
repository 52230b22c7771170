import {
  CircuitBreaker,
  consecutiveFailures,
  OpenStateError,
  ProviderError,
  TimeoutError,
} from '@tracks/breaker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutboxDriver } from './driver.js';
import {
  createOutbox,
  type DeliveryContext,
  type Handler,
  type Outbox,
  type OutboxOptions,
} from './outbox.js';

/** How the contract suite gets at a driver. */
export interface OutboxDriverHarness {
  /** Opens a fresh, empty store and returns a driver on it (called before each test). */
  open(): OutboxDriver | Promise<OutboxDriver>;
  /**
   * Another driver on the same store as the last `open()`: a second worker process. The suite
   * closes it.
   * @default the driver from `open()` itself (for stores that live in one object and can still be
   * read after `close()`, as the memory driver)
   */
  reopen?(): OutboxDriver | Promise<OutboxDriver>;
  /** Removes what `open()` created (called after each test, once the drivers are closed). */
  cleanup?(): void | Promise<void>;
}

interface Message {
  to: string;
  n: number;
  bytes?: Uint8Array;
}

/**
 * The behaviour every outbox driver must have, as a vitest suite: enqueue and delivery,
 * idempotency keys and their retention, `notBefore`, a store shared by two workers, lease expiry
 * after a worker dies, the backoff
 * schedule, dead letters and retrying them by hand, open-breaker waits that use up no attempts,
 * `stop()` draining, and an outage: every accepted message delivered at least once, none lost,
 * duplicates only from ambiguous attempts, and counted. Time is an injected clock driven with
 * `tick()`: nothing sleeps.
 *
 * @example
 * // sqlite.contract.test.ts
 * describeOutboxDriverContract('sqliteDriver', {
 *   open: () => sqliteDriver({ path: (file = tempFile()) }),
 *   reopen: () => sqliteDriver({ path: file }),
 *   cleanup: () => rmSync(dir, { recursive: true, force: true }),
 * });
 */
export function describeOutboxDriverContract(name: string, harness: OutboxDriverHarness): void {
  describe(`${name} (outbox driver contract)`, () => {
    let driver: OutboxDriver;
    const extra: OutboxDriver[] = [];
    const outboxes: Outbox[] = [];
    let time: number;
    const now = (): number => time;

    const another = async (): Promise<OutboxDriver> => {
      if (harness.reopen === undefined) return driver;
      const d = await harness.reopen();
      extra.push(d);
      return d;
    };

    function make<H extends Record<string, Handler<never>>>(
      handlers: H,
      options: Partial<OutboxOptions<H>> = {},
    ): Outbox<H> {
      const outbox = createOutbox<H>({
        driver,
        handlers,
        now,
        concurrency: 8,
        leaseMs: 10_000,
        retry: { backoff: (attempt) => attempt * 1_000, maxAttempts: 5 },
        ...options,
      });
      outboxes.push(outbox as unknown as Outbox);
      return outbox;
    }

    beforeEach(async () => {
      time = 1_700_000_000_000;
      driver = await harness.open();
    });

    afterEach(async () => {
      for (const o of outboxes.splice(0)) await o.stop();
      for (const d of extra.splice(0)) await d.close();
      await driver.close();
      await harness.cleanup?.();
    });

    it('delivers an enqueued payload once, intact, and counts it', async () => {
      const received: Message[] = [];
      const contexts: DeliveryContext[] = [];
      const outbox = make({
        email: (msg: Message, ctx: DeliveryContext) => {
          received.push(msg);
          contexts.push(ctx);
        },
      });
      const delivered: string[] = [];
      outbox.on('delivered', (e) => delivered.push(e.id));
      const { id, duplicate } = await outbox.enqueue('email', {
        to: 'ann@example.com',
        n: 1,
        bytes: new Uint8Array([0, 1, 254, 255]),
      });
      expect(duplicate).toBe(false);
      expect(await outbox.stats()).toEqual({ pending: 1, inflight: 0, delivered: 0, dead: 0 });
      expect(await outbox.tick()).toBe(1);
      expect(received).toEqual([{ to: 'ann@example.com', n: 1, bytes: new Uint8Array([0, 1, 254, 255]) }]);
      expect(contexts[0]).toMatchObject({ id, queue: 'email', attempt: 1 });
      expect(contexts[0]?.signal.aborted).toBe(false);
      expect(delivered).toEqual([id]);
      expect(await outbox.tick()).toBe(0);
      expect(await outbox.stats()).toEqual({ pending: 0, inflight: 0, delivered: 1, dead: 0 });
      expect(await outbox.get(id)).toMatchObject({ id, state: 'delivered', attempts: 1 });
    });

    it('makes a job durable before enqueue resolves: a second connection sees it', async () => {
      const outbox = make({ email: (_m: Message) => {} });
      const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
      const other = await another();
      expect(await other.get(id)).toMatchObject({ id, queue: 'email', state: 'pending', attempts: 0 });
    });

    it('keeps one job per idempotency key while it exists and through the retention period', async () => {
      let calls = 0;
      const outbox = make(
        {
          email: (_m: Message) => {
            calls++;
          },
          sms: (_m: Message) => {},
        },
        { retentionMs: 60_000 },
      );
      const first = await outbox.enqueue(
        'email',
        { to: 'a@example.com', n: 1 },
        { idempotencyKey: 'order-1' },
      );
      const again = await outbox.enqueue(
        'email',
        { to: 'a@example.com', n: 2 },
        { idempotencyKey: 'order-1' },
      );
      expect(again).toEqual({ id: first.id, duplicate: true });
      const otherQueue = await outbox.enqueue('sms', { to: '+1', n: 1 }, { idempotencyKey: 'order-1' });
      expect(otherQueue.duplicate).toBe(false);
      await outbox.tick();
      expect(calls).toBe(1);
      time += 59_000;
      expect(
        await outbox.enqueue('email', { to: 'a@example.com', n: 3 }, { idempotencyKey: 'order-1' }),
      ).toEqual({ id: first.id, duplicate: true });
      await outbox.tick();
      expect(calls).toBe(1);
      time += 1_000; // retention over: the key is free again
      const later = await outbox.enqueue(
        'email',
        { to: 'a@example.com', n: 4 },
        { idempotencyKey: 'order-1' },
      );
      expect(later.duplicate).toBe(false);
      expect(later.id).not.toBe(first.id);
      await outbox.tick();
      expect(calls).toBe(2);
      expect(await outbox.get(first.id)).toBeUndefined(); // purged
    });

    it('holds a job until notBefore', async () => {
      const received: number[] = [];
      const outbox = make({ email: (m: Message) => void received.push(m.n) });
      await outbox.enqueue('email', { to: 'a@example.com', n: 1 }, { notBefore: new Date(time + 5_000) });
      await outbox.enqueue('email', { to: 'a@example.com', n: 2 }, { notBefore: time + 1_000 });
      await outbox.tick();
      expect(received).toEqual([]);
      time += 1_000;
      await outbox.tick();
      expect(received).toEqual([2]);
      time += 4_000;
      await outbox.tick();
      expect(received).toEqual([2, 1]);
    });

    it('delivers a dead worker’s job again once its lease expires, and ignores the dead worker’s late word', async () => {
      const received: number[] = [];
      const outbox = make({ email: (m: Message) => void received.push(m.n) }, { leaseMs: 10_000 });
      const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
      // a worker claims the job, then dies without a word
      const crashed = await another();
      const [held] = await crashed.claim({ queues: ['email'], limit: 10, now: time, leaseMs: 10_000 });
      expect(held).toMatchObject({ id, state: 'inflight', attempts: 1 });
      time += 9_999;
      expect(await outbox.tick()).toBe(0);
      expect(await outbox.stats()).toMatchObject({ inflight: 1, pending: 0 });
      time += 1;
      expect(await outbox.tick()).toBe(1);
      expect(received).toEqual([1]);
      expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 2 });
      // the dead worker's lease token is stale: its failure report changes nothing
      expect(
        await crashed.reschedule(id, held!.lease, {
          runAt: time,
          now: time,
          refund: false,
          ambiguous: false,
          error: 'late',
        }),
      ).toBe(false);
      expect(await crashed.bury(id, held!.lease, 'permanent', 'late', time)).toBe(false);
      expect(await outbox.get(id)).toMatchObject({ state: 'delivered' });
    });

    it('shares a store between workers: each job claimed by one of them, delivered once', async () => {
      const byWorker: Record<string, number[]> = { a: [], b: [] };
      const a = make({ email: (m: Message) => void byWorker.a?.push(m.n) }, { concurrency: 3 });
      const d = await another();
      const b = createOutbox({
        driver: d,
        handlers: { email: (m: Message) => void byWorker.b?.push(m.n) },
        now,
        concurrency: 3,
      });
      outboxes.push(b as unknown as Outbox);
      for (let n = 0; n < 30; n++) await (n % 2 === 0 ? a : b).enqueue('email', { to: 'a@example.com', n });
      for (let i = 0; i < 30; i++) {
        const [x, y] = await Promise.all([a.tick(), b.tick()]);
        if (x + y === 0) break;
      }
      const all = [...(byWorker.a ?? []), ...(byWorker.b ?? [])].sort((p, q) => p - q);
      expect(all).toEqual([...Array(30).keys()]);
      expect(byWorker.a?.length).toBeGreaterThan(0);
      expect(byWorker.b?.length).toBeGreaterThan(0);
      expect(await a.stats()).toEqual({ pending: 0, inflight: 0, delivered: 30, dead: 0 });
    });

    it('retries with the backoff schedule, honours retryAfterMs, and dead-letters after maxAttempts', async () => {
      const attempts: number[] = [];
      const outbox = make(
        {
          email: (_m: Message, ctx: DeliveryContext) => {
            attempts.push(time);
            throw ctx.attempt === 2
              ? new ProviderError({
                  kind: 'throttled',
                  provider: 'fake',
                  operation: 'send',
                  retryAfterMs: 7_000,
                })
              : new ProviderError({ kind: 'transient', provider: 'fake', operation: 'send' });
          },
        },
        { retry: { backoff: (attempt) => attempt * 1_000, maxAttempts: 4 } },
      );
      const failed: [number, number, string][] = [];
      const dead: string[] = [];
      outbox.on('failed', (e) => failed.push([e.attempt, e.retryInMs, e.outcome]));
      outbox.on('dead', (e) => dead.push(`${e.id} ${e.reason} ${e.attempts}`));
      const start = time;
      const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
      for (let i = 0; i < 40; i++) {
        await outbox.tick();
        time += 500;
      }
      // 1 s after attempt 1, 7 s (Retry-After) after attempt 2, 3 s after attempt 3
      expect(attempts.map((t) => t - start)).toEqual([0, 1_000, 8_000, 11_000]);
      expect(failed).toEqual([
        [1, 1_000, 'failed'],
        [2, 7_000, 'failed'],
        [3, 3_000, 'failed'],
      ]);
      expect(dead).toEqual([`${id} max-attempts 4`]);
      expect(await outbox.get(id)).toMatchObject({ state: 'dead', deadReason: 'max-attempts', attempts: 4 });
    });

    it('dead-letters a permanent failure at once; the dead letter is listed and retried by hand', async () => {
      let fail = true;
      const received: number[] = [];
      const outbox = make({
        email: (m: Message) => {
          if (fail && m.n === 1) {
            throw new ProviderError({ kind: 'invalid', provider: 'fake', operation: 'send', field: 'to' });
          }
          received.push(m.n);
        },
      });
      const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
      await outbox.enqueue('email', { to: 'b@example.com', n: 2 }, { notBefore: time + 60_000 });
      await outbox.tick();
      const dead = await outbox.list({ state: 'dead' });
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ id, state: 'dead', deadReason: 'permanent', attempts: 1 });
      expect(dead[0]?.payload).toEqual({ to: 'a@example.com', n: 1 });
      expect(dead[0]?.lastError).toMatch(/ProviderError/);
      expect(await outbox.stats()).toEqual({ pending: 1, inflight: 0, delivered: 0, dead: 1 });
      time += 3_600_000;
      expect(await outbox.tick()).toBe(1); // only the other job: the dead one stays dead
      expect(await outbox.list({ state: 'dead' })).toHaveLength(1);
      fail = false;
      expect(await outbox.retry(id)).toBe(true);
      expect(await outbox.retry(id)).toBe(false); // no longer dead
      await outbox.tick();
      expect(received).toContain(1);
      expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
    });

    it('waits for an open breaker without using up attempts, and pauses the whole queue', async () => {
      let open = true;
      const calls: number[] = [];
      const outbox = make(
        {
          email: (m: Message) => {
            calls.push(m.n);
            if (open) throw new OpenStateError({ breaker: 'email:fake', retryAfterMs: 30_000 });
          },
        },
        { retry: { backoff: () => 1_000, maxAttempts: 2 }, concurrency: 1 },
      );
      const deferred: number[] = [];
      outbox.on('deferred', (e) => deferred.push(e.retryInMs));
      const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
      await outbox.enqueue('email', { to: 'b@example.com', n: 2 });
      await outbox.tick();
      expect(calls).toEqual([1]);
      // the second job is not tried against the open breaker: the queue waits 30 s
      time += 29_999;
      expect(await outbox.tick()).toBe(0);
      expect(calls).toEqual([1]);
      // a long outage: many breaker waits, no dead letter
      for (let i = 0; i < 10; i++) {
        time += 30_000;
        await outbox.tick();
      }
      expect(deferred.length).toBeGreaterThan(5);
      expect(await outbox.get(id)).toMatchObject({ state: 'pending', attempts: 0 });
      expect((await outbox.stats()).dead).toBe(0);
      open = false;
      time += 30_000;
      await outbox.tick();
      await outbox.tick();
      expect((await outbox.stats()).delivered).toBe(2);
      expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
    });

    it('rejects an invalid payload at enqueue and stores nothing', async () => {
      const outbox = make({
        email: {
          deliver: (_m: Message) => {},
          validate: (m: Message) => {
            if (!m.to.includes('@')) throw new TypeError('to: not an address');
          },
        },
      });
      await expect(outbox.enqueue('email', { to: 'nobody', n: 1 })).rejects.toThrow('to: not an address');
      // @ts-expect-error an unknown queue
      await expect(outbox.enqueue('fax', { to: 'a@example.com', n: 1 })).rejects.toThrow(/no handler/);
      await expect(
        outbox.enqueue('email', { to: 'a@example.com', n: 1 }, { idempotencyKey: 'has space' }),
      ).rejects.toThrow(/idempotencyKey/);
      expect(await outbox.stats()).toEqual({ pending: 0, inflight: 0, delivered: 0, dead: 0 });
    });

    it('stop() lets the jobs in flight finish, records them, and leaves the rest pending', async () => {
      const outbox = createOutbox({
        driver,
        handlers: {
          email: async (_m: Message) => {
            started++;
            await new Promise((resolve) => setTimeout(resolve, 20));
            finished++;
          },
        },
        concurrency: 2,
        pollIntervalMs: 5,
      });
      let started = 0;
      let finished = 0;
      const ids: string[] = [];
      for (let n = 0; n < 6; n++) ids.push((await outbox.enqueue('email', { to: 'a@example.com', n })).id);
      outbox.start();
      while (started === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      await outbox.stop();
      expect(finished).toBe(started);
      expect(started).toBeGreaterThanOrEqual(1);
      expect(started).toBeLessThan(6);
      // a second connection (the outbox closed its driver); a one-object store is read directly
      const other = await another();
      const states = await Promise.all(ids.map(async (id) => (await other.get(id))?.state));
      expect(states.filter((s) => s === 'delivered')).toHaveLength(finished);
      expect(states.filter((s) => s === 'pending')).toHaveLength(6 - finished);
      await expect(outbox.enqueue('email', { to: 'a@example.com', n: 9 })).rejects.toThrow(/stopped/);
    });

    it('survives an outage: every accepted message delivered at least once, duplicates only from counted ambiguous attempts', async () => {
      const downUntil = time + 20_000;
      const breaker = new CircuitBreaker({
        name: 'email:fake',
        readyToTrip: consecutiveFailures(3),
        timeout: 5_000,
        now,
      });
      const providerLog: number[] = [];
      let calls = 0;
      const provider = async (m: Message): Promise<void> => {
        calls++;
        if (time < downUntil) {
          // every fourth call during the outage reaches the provider and times out on the way back
          if (calls % 4 === 0) {
            providerLog.push(m.n);
            throw new TimeoutError(5_000);
          }
          throw new ProviderError({ kind: 'transient', provider: 'fake', operation: 'send', status: 503 });
        }
        providerLog.push(m.n);
      };
      const outbox = make(
        { email: (m: Message) => breaker.execute(() => provider(m)) },
        {
          retry: { backoff: (attempt) => Math.min(8_000, attempt * 1_000), maxAttempts: 10 },
          concurrency: 10,
        },
      );
      let ambiguous = 0;
      let failed = 0;
      let deferred = 0;
      outbox.on('failed', (e) => (e.outcome === 'ambiguous' ? ambiguous++ : failed++));
      outbox.on('deferred', () => deferred++);
      const accepted: number[] = [];
      for (let n = 0; n < 60; n++) {
        await outbox.enqueue('email', { to: `r${n}@example.com`, n });
        accepted.push(n);
        if (n % 10 === 9) {
          await outbox.tick();
          time += 1_000;
        }
      }
      for (let i = 0; i < 400 && (await outbox.stats()).delivered < accepted.length; i++) {
        await outbox.tick();
        time += 500;
      }
      expect(await outbox.stats()).toEqual({ pending: 0, inflight: 0, delivered: 60, dead: 0 });
      expect(new Set(providerLog)).toEqual(new Set(accepted));
      const duplicates = providerLog.length - new Set(providerLog).size;
      expect(duplicates).toBeLessThanOrEqual(ambiguous);
      expect(ambiguous).toBeGreaterThan(0);
      expect(failed).toBeGreaterThan(0);
      expect(deferred).toBeGreaterThan(0); // the breaker opened and the outbox waited for it
      const jobs = await outbox.list({ state: 'delivered', limit: 1_000 });
      expect(jobs.reduce((sum, j) => sum + j.ambiguous, 0)).toBe(ambiguous);
    });
  });
}
