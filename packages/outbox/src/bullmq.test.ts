import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CircuitBreaker,
  consecutiveFailures,
  OpenStateError,
  ProviderError,
  TimeoutError,
} from '@tracks/breaker';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { type BullmqDriverOptions, bullmqDriver } from './bullmq-driver.js';
import type { OutboxDriver } from './driver.js';
import {
  createOutbox,
  type DeliveryContext,
  type Handler,
  type Outbox,
  type OutboxOptions,
} from './outbox.js';
import { describeWithRedis, RedisServer, redisMissing } from './test/redis-server.js';

// The outbox on BullMQ against a real redis-server. BullMQ times locks, delays and stalled
// checks with Date.now() on the client, so these tests run in real time with short locks (a few
// hundred ms at most) and bounded waits, instead of the contract suite's injected clock.

const here = dirname(fileURLToPath(import.meta.url));
let server: RedisServer | undefined;
let script: string | undefined;
let prefixes = 0;
let prefix = '';
const drivers: OutboxDriver[] = [];
const outboxes: Outbox[] = [];
const children: ChildProcess[] = [];

interface Message {
  to: string;
  n: number;
  bytes?: Uint8Array;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms until it holds or `ms` passed; returns whether it held. */
async function until(check: () => boolean | Promise<boolean>, ms = 3_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
}

function driver(options: Partial<BullmqDriverOptions> = {}): OutboxDriver {
  if (server === undefined) throw new Error('no redis-server');
  const d = bullmqDriver({
    connection: server.connection(),
    prefix,
    lockDurationMs: 200,
    stalledIntervalMs: 100,
    ...options,
  });
  drivers.push(d);
  return d;
}

function make<H extends Record<string, Handler<never>>>(
  handlers: H,
  options: Partial<OutboxOptions<H>> = {},
): Outbox<H> {
  const outbox = createOutbox<H>({
    driver: driver(),
    handlers,
    concurrency: 8,
    pollIntervalMs: 10,
    leaseMs: 5_000,
    retry: { backoff: (attempt) => attempt * 100, maxAttempts: 5 },
    ...options,
  });
  outboxes.push(outbox as unknown as Outbox);
  return outbox;
}

// the child runs this package's sources, bundled, with bullmq and ioredis left as imports; it
// goes under this package's node_modules so that those resolve as they do here
async function bundleChild(): Promise<string> {
  const out = join(here, '..', 'node_modules', '.cache', 'tracks-outbox-test');
  mkdirSync(out, { recursive: true });
  const outfile = join(out, `bullmq-worker-${process.pid}.mjs`);
  await build({
    entryPoints: [join(here, 'test', 'bullmq-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

type ChildMessage = { worker: string } & (
  | { ready: true }
  | { started: number; attempt: number }
  | { delivered: number }
  | { stopped: true }
);

function spawnWorker(worker: string, mode: 'deliver' | 'hang', log: ChildMessage[]): ChildProcess {
  if (script === undefined || server === undefined) throw new Error('not set up');
  const child = fork(script, [String(server.port), prefix, worker, mode], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (m: ChildMessage) => log.push(m));
  children.push(child);
  return child;
}

/** Stops a worker process's outbox; the process must then exit by itself: no open handles. */
async function stopWorker(child: ChildProcess): Promise<[number | null, string | null]> {
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  child.send('stop');
  const timeout = sleep(3_000).then(() => [null, 'still running 3 s after stop()'] as [null, string]);
  return Promise.race([exited, timeout]);
}

beforeAll(async () => {
  if (redisMissing !== undefined) return;
  [server, script] = await Promise.all([RedisServer.start(), bundleChild()]);
});

afterEach(async () => {
  for (const o of outboxes.splice(0)) await o.stop();
  for (const d of drivers.splice(0)) await d.close();
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = once(c, 'exit');
      c.kill('SIGKILL');
      await exited;
    }
  }
});

afterAll(async () => {
  await server?.stop();
  if (script !== undefined) rmSync(script, { force: true });
});

describeWithRedis('bullmqDriver', () => {
  beforeEach(() => {
    prefix = `t${process.pid}-${++prefixes}`; // each test its own BullMQ queues
  });

  it('delivers an enqueued payload once, intact, and counts it; a second connection sees it first', async () => {
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
    // durable once enqueue resolved: another process's driver reads it from Redis
    expect(await driver().get(id)).toMatchObject({ id, queue: 'email', state: 'pending', attempts: 0 });
    expect(await outbox.stats()).toEqual({ pending: 1, inflight: 0, delivered: 0, dead: 0 });
    expect(await outbox.tick()).toBe(1);
    expect(received).toEqual([{ to: 'ann@example.com', n: 1, bytes: new Uint8Array([0, 1, 254, 255]) }]);
    expect(contexts[0]).toMatchObject({ id, queue: 'email', attempt: 1 });
    expect(delivered).toEqual([id]);
    expect(await outbox.tick()).toBe(0);
    expect(await outbox.stats()).toEqual({ pending: 0, inflight: 0, delivered: 1, dead: 0 });
    expect(await outbox.get(id)).toMatchObject({ id, state: 'delivered', attempts: 1 });
    expect(await outbox.get('email.no-such-job')).toBeUndefined();
    expect(await outbox.get('not an id')).toBeUndefined();
  });

  it('keeps one job per idempotency key (the BullMQ jobId) while it exists and through the retention period', async () => {
    let skew = 0;
    let calls = 0;
    const outbox = make(
      {
        email: (_m: Message) => {
          calls++;
        },
        sms: (_m: Message) => {},
      },
      { retentionMs: 60_000, now: () => Date.now() + skew },
    );
    const first = await outbox.enqueue('email', { to: 'a@example.com', n: 1 }, { idempotencyKey: 'order-1' });
    expect(first.duplicate).toBe(false);
    expect(
      await outbox.enqueue('email', { to: 'a@example.com', n: 2 }, { idempotencyKey: 'order-1' }),
    ).toEqual({ id: first.id, duplicate: true });
    const otherQueue = await outbox.enqueue('sms', { to: '+1', n: 1 }, { idempotencyKey: 'order-1' });
    expect(otherQueue.duplicate).toBe(false);
    await outbox.tick();
    expect(calls).toBe(1);
    skew += 59_000; // delivered, still within retention: the key stays taken
    expect(
      await outbox.enqueue('email', { to: 'a@example.com', n: 3 }, { idempotencyKey: 'order-1' }),
    ).toEqual({ id: first.id, duplicate: true });
    await outbox.tick();
    expect(calls).toBe(1);
    skew += 1_000; // retention over: the key is free again (the jobId, derived from it, is reused)
    const later = await outbox.enqueue('email', { to: 'a@example.com', n: 4 }, { idempotencyKey: 'order-1' });
    expect(later.duplicate).toBe(false);
    expect(await outbox.get(later.id)).toMatchObject({ state: 'pending', payload: { n: 4 } });
    await outbox.tick();
    expect(calls).toBe(2);
    // purge removes delivered jobs whose retention ended
    skew += 60_000;
    await outbox.tick();
    expect(await outbox.get(later.id)).toBeUndefined();
    expect(await outbox.get(otherQueue.id)).toBeUndefined();
  });

  it('makes one job of one key enqueued at once through several connections', async () => {
    const a = make({ email: (_m: Message) => {} });
    const b = make({ email: (_m: Message) => {} });
    const results = await Promise.all(
      [a, b, a, b, a, b].map((o, n) =>
        o.enqueue('email', { to: 'a@example.com', n }, { idempotencyKey: 'race' }),
      ),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(await a.stats()).toEqual({ pending: 1, inflight: 0, delivered: 0, dead: 0 });
  });

  it('holds a job until notBefore', async () => {
    const received: [number, number][] = [];
    const outbox = make({ email: (m: Message) => void received.push([m.n, Date.now()]) });
    const start = Date.now();
    await outbox.enqueue('email', { to: 'a@example.com', n: 1 }, { notBefore: new Date(start + 250) });
    await outbox.enqueue('email', { to: 'a@example.com', n: 2 }, { notBefore: start + 100 });
    outbox.start();
    expect(await until(() => received.length === 2)).toBe(true);
    expect(received.map(([n]) => n)).toEqual([2, 1]);
    expect(received[0]?.[1]).toBeGreaterThanOrEqual(start + 100);
    expect(received[1]?.[1]).toBeGreaterThanOrEqual(start + 250);
    expect(received[1]?.[1]).toBeLessThan(start + 1_000);
  });

  it('delivers the job of a worker process killed mid-job again once its BullMQ lock expires', async () => {
    const log: ChildMessage[] = [];
    const received: { n: number; attempt: number }[] = [];
    const outbox = make({
      email: (m: Message, ctx: DeliveryContext) => void received.push({ n: m.n, attempt: ctx.attempt }),
    });
    const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 7 });
    const child = spawnWorker('doomed', 'hang', log);
    expect(await until(() => log.some((m) => 'started' in m))).toBe(true);
    expect(await outbox.get(id)).toMatchObject({ state: 'inflight', attempts: 1 });
    // while the child lives it renews its lock: nobody else gets the job, past the lock's length
    await sleep(400);
    expect(await outbox.tick()).toBe(0);
    expect(await outbox.get(id)).toMatchObject({ state: 'inflight' });
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    outbox.start(); // its worker runs the stalled check that hands the job back
    expect(await until(() => received.length === 1)).toBe(true);
    // lock 200 ms + up to two stalled checks of 100 ms, with slack for a loaded machine
    expect(Date.now() - killedAt).toBeLessThan(1_500);
    expect(received).toEqual([{ n: 7, attempt: 2 }]);
    expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('ignores the word of a worker whose lease was taken over', async () => {
    const outbox = make({ email: (_m: Message) => {} });
    const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
    const first = driver();
    const [held] = await first.claim({ queues: ['email'], limit: 1, now: Date.now(), leaseMs: 5_000 });
    expect(held).toMatchObject({ id, state: 'inflight', attempts: 1, lease: 1 });
    // a stale lease token: changes nothing
    expect(await first.bury(id, 0, 'permanent', 'late', Date.now())).toBe(false);
    // the first driver closes without a word (its renewals stop): the job stalls and comes back
    await first.close();
    const second = driver();
    let again: Awaited<ReturnType<OutboxDriver['claim']>> = [];
    expect(
      await until(async () => {
        again = await second.claim({ queues: ['email'], limit: 1, now: Date.now(), leaseMs: 5_000 });
        return again.length === 1;
      }),
    ).toBe(true);
    expect(again[0]).toMatchObject({ id, attempts: 2, lease: 2 });
    expect(
      await second.reschedule(id, 1, {
        runAt: Date.now(),
        now: Date.now(),
        refund: false,
        ambiguous: false,
        error: 'x',
      }),
    ).toBe(false);
    await second.complete(id, 2, Date.now(), Date.now() + 60_000);
    expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('refuses a retry or a burial from a worker that lost its BullMQ lock, but records its delivery', async () => {
    const outbox = make({ email: (_m: Message) => {} });
    const redis = new Redis({ host: '127.0.0.1', port: server?.port ?? 0 });
    try {
      const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
      const worker = driver({ lockDurationMs: 10_000, stalledIntervalMs: 10_000 });
      const [held] = await worker.claim({ queues: ['email'], limit: 1, now: Date.now(), leaseMs: 5_000 });
      expect(held).toMatchObject({ id, lease: 1 });
      // the lock vanishes as when it expired unrenewed (the job is still BullMQ-active)
      expect(await redis.del(`${prefix}:email:${id}:lock`)).toBe(1);
      const change = { runAt: Date.now(), now: Date.now(), refund: false, ambiguous: false, error: 'x' };
      expect(await worker.reschedule(id, 1, change)).toBe(false);
      expect(await worker.bury(id, 1, 'permanent', 'x', Date.now())).toBe(false);
      expect(await outbox.get(id)).toMatchObject({ state: 'inflight', lastError: undefined });
      await worker.complete(id, 1, Date.now(), Date.now() + 60_000);
      expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
    } finally {
      redis.disconnect();
    }
  });

  it('retries with the backoff schedule, honours retryAfterMs, and dead-letters after maxAttempts', async () => {
    const attempts: number[] = [];
    const outbox = make(
      {
        email: (_m: Message, ctx: DeliveryContext) => {
          attempts.push(Date.now());
          throw ctx.attempt === 2
            ? new ProviderError({ kind: 'throttled', provider: 'fake', operation: 'send', retryAfterMs: 300 })
            : new ProviderError({ kind: 'transient', provider: 'fake', operation: 'send' });
        },
      },
      { retry: { backoff: (attempt) => attempt * 100, maxAttempts: 4 } },
    );
    const failed: [number, number, string][] = [];
    const dead: string[] = [];
    outbox.on('failed', (e) => failed.push([e.attempt, e.retryInMs, e.outcome]));
    outbox.on('dead', (e) => dead.push(`${e.id} ${e.reason} ${e.attempts}`));
    const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
    outbox.start();
    expect(await until(() => dead.length === 1)).toBe(true);
    expect(failed).toEqual([
      [1, 100, 'failed'],
      [2, 300, 'failed'],
      [3, 300, 'failed'],
    ]);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? 0));
    // BullMQ's delayed set holds each retry at least as long as asked; a little slack above
    expect(gaps[0]).toBeGreaterThanOrEqual(100);
    expect(gaps[1]).toBeGreaterThanOrEqual(300);
    expect(gaps[2]).toBeGreaterThanOrEqual(300);
    for (const gap of gaps) expect(gap).toBeLessThan(800);
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
    await outbox.enqueue('email', { to: 'b@example.com', n: 2 }, { notBefore: Date.now() + 60_000 });
    await outbox.tick();
    const dead = await outbox.list({ state: 'dead' });
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ id, state: 'dead', deadReason: 'permanent', attempts: 1 });
    expect(dead[0]?.payload).toEqual({ to: 'a@example.com', n: 1 });
    expect(dead[0]?.lastError).toMatch(/ProviderError/);
    expect(await outbox.stats()).toEqual({ pending: 1, inflight: 0, delivered: 0, dead: 1 });
    expect(await outbox.tick()).toBe(0); // the dead one stays dead
    expect(await outbox.list()).toHaveLength(2);
    fail = false;
    expect(await outbox.retry(id)).toBe(true);
    expect(await outbox.retry(id)).toBe(false); // no longer dead
    await outbox.tick();
    expect(received).toEqual([1]);
    expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('waits for an open breaker without using up attempts', async () => {
    let open = true;
    const calls: number[] = [];
    const outbox = make(
      {
        email: (m: Message) => {
          calls.push(m.n);
          if (open) throw new OpenStateError({ breaker: 'email:fake', retryAfterMs: 50 });
        },
      },
      { retry: { backoff: () => 10, maxAttempts: 2 }, concurrency: 1 },
    );
    let deferred = 0;
    outbox.on('deferred', () => deferred++);
    const { id } = await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
    outbox.start();
    expect(await until(() => deferred >= 4)).toBe(true);
    expect(await outbox.get(id)).toMatchObject({ state: 'pending', attempts: 0 });
    expect((await outbox.stats()).dead).toBe(0);
    open = false;
    expect(await until(async () => (await outbox.stats()).delivered === 1)).toBe(true);
    expect(await outbox.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('stop() lets the jobs in flight finish, records them, leaves the rest pending, and closes its connections', async () => {
    let started = 0;
    let finished = 0;
    const outbox = make(
      {
        email: async (_m: Message) => {
          started++;
          await sleep(30);
          finished++;
        },
      },
      { concurrency: 2 },
    );
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) ids.push((await outbox.enqueue('email', { to: 'a@example.com', n })).id);
    outbox.start();
    expect(await until(() => started > 0)).toBe(true);
    await outbox.stop();
    expect(finished).toBe(started);
    expect(started).toBeLessThan(6);
    const other = driver();
    const states = await Promise.all(ids.map(async (id) => (await other.get(id))?.state));
    expect(states.filter((s) => s === 'delivered')).toHaveLength(finished);
    expect(states.filter((s) => s === 'pending')).toHaveLength(6 - finished);
    await expect(outbox.enqueue('email', { to: 'a@example.com', n: 9 })).rejects.toThrow(/stopped/);
  });

  it('survives an outage: every accepted message delivered at least once, duplicates only from counted ambiguous attempts', async () => {
    const downUntil = Date.now() + 400;
    const breaker = new CircuitBreaker({
      name: 'email:fake',
      readyToTrip: consecutiveFailures(3),
      timeout: 100,
    });
    const providerLog: number[] = [];
    let calls = 0;
    const provider = async (m: Message): Promise<void> => {
      calls++;
      if (Date.now() < downUntil) {
        // every fourth call during the outage reaches the provider and times out on the way back
        if (calls % 4 === 0) {
          providerLog.push(m.n);
          throw new TimeoutError(50);
        }
        throw new ProviderError({ kind: 'transient', provider: 'fake', operation: 'send', status: 503 });
      }
      providerLog.push(m.n);
    };
    const outbox = make(
      { email: (m: Message) => breaker.execute(() => provider(m)) },
      { retry: { backoff: (attempt) => Math.min(100, attempt * 20), maxAttempts: 30 }, concurrency: 10 },
    );
    let ambiguous = 0;
    let failed = 0;
    let deferred = 0;
    outbox.on('failed', (e) => (e.outcome === 'ambiguous' ? ambiguous++ : failed++));
    outbox.on('deferred', () => deferred++);
    outbox.start();
    const accepted: number[] = [];
    for (let n = 0; n < 40; n++) {
      await outbox.enqueue('email', { to: `r${n}@example.com`, n });
      accepted.push(n);
      if (n % 10 === 9) await sleep(20);
    }
    expect(await until(async () => (await outbox.stats()).delivered === 40, 5_000)).toBe(true);
    expect(await outbox.stats()).toEqual({ pending: 0, inflight: 0, delivered: 40, dead: 0 });
    expect(new Set(providerLog)).toEqual(new Set(accepted));
    const duplicates = providerLog.length - new Set(providerLog).size;
    expect(duplicates).toBeLessThanOrEqual(ambiguous);
    expect(ambiguous).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    expect(deferred).toBeGreaterThan(0); // the breaker opened and the outbox waited for it
    const jobs = await outbox.list({ state: 'delivered', limit: 1_000 });
    expect(jobs.reduce((sum, j) => sum + j.ambiguous, 0)).toBe(ambiguous);
  });

  it('rejects an enqueue while Redis is down when the connection retries a bounded number of times, and still stops', async () => {
    const own = await RedisServer.start();
    try {
      const outbox = createOutbox({
        driver: bullmqDriver({ connection: { ...own.connection(), maxRetriesPerRequest: 1 }, prefix }),
        handlers: { email: (_m: Message) => {} },
      });
      outboxes.push(outbox as unknown as Outbox);
      await outbox.enqueue('email', { to: 'a@example.com', n: 1 });
      await own.stop();
      const started = Date.now();
      await expect(outbox.enqueue('email', { to: 'a@example.com', n: 2 })).rejects.toThrow(
        /max retries per request/,
      );
      expect(Date.now() - started).toBeLessThan(3_000);
      await outbox.stop();
    } finally {
      await own.stop();
    }
  });

  it('shares a queue between worker processes: every job delivered at least once', async () => {
    const log: ChildMessage[] = [];
    const workers = ['w1', 'w2', 'w3'].map((w) => spawnWorker(w, 'deliver', log));
    expect(await until(() => log.filter((m) => 'ready' in m).length === 3)).toBe(true);
    const producer = make({ email: (_m: Message) => {} }); // enqueues only: never started
    const accepted: number[] = [];
    for (let n = 0; n < 90; n++) {
      await producer.enqueue('email', { to: `r${n}@example.com`, n });
      accepted.push(n);
    }
    expect(await until(async () => (await producer.stats()).delivered === 90, 10_000)).toBe(true);
    // each process exits on its own once its outbox stopped: BullMQ's connections were closed
    expect(await Promise.all(workers.map(stopWorker))).toEqual([
      [0, null],
      [0, null],
      [0, null],
    ]);
    const delivered = log.flatMap((m) => ('delivered' in m ? [m.delivered] : []));
    expect(new Set(delivered)).toEqual(new Set(accepted));
    const by = new Set(log.flatMap((m) => ('delivered' in m ? [m.worker] : [])));
    expect(by.size).toBeGreaterThanOrEqual(2);
    expect(log.filter((m) => 'stopped' in m)).toHaveLength(3);
    expect(await producer.stats()).toEqual({ pending: 0, inflight: 0, delivered: 90, dead: 0 });
  });
});
