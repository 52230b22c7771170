import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutboxDriver } from '@tracks/outbox';
import { afterAll, describe, expect, it } from 'vitest';
import { call, drain, manualClock, type RunningDemo, sqliteLoads, startDemo } from './helpers.js';

// The email outbox as the demo wires it: dead letters and their retry, queued mail kept across a
// restart by the sqlite driver, and the memory fallback when better-sqlite3 cannot load.

const mail = { to: 'grace@example.com', subject: 'to the dead letters', text: 't' };

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, tick: () => Promise<unknown>) {
  const deadline = performance.now() + 5_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() > deadline) throw new Error(`gave up waiting: ${JSON.stringify(value)}`);
    await tick();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('demo outbox', () => {
  const demos: RunningDemo[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const demo of demos) await demo.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('lists a dead letter without its payload, retries it by hand, and refuses unknown or live jobs', async () => {
    const clock = manualClock();
    // one attempt: the first failed delivery is final
    const demo = await startDemo(
      { OUTBOX_MAX_ATTEMPTS: '1', PROVIDER_TIMEOUT_MS: '1000' },
      { now: clock.now },
    );
    demos.push(demo);
    const { url } = demo;
    // a first mail opens the SMTP connection, so that the retry below is well inside the timeout
    expect((await call(url, 'POST', '/api/email', { ...mail, subject: 'warm-up' })).status).toBe(202);
    // a hung provider: the delivery times out after the request may have left, which the policy
    // does not retry for a send; one such attempt is not enough to trip the breaker, so the job
    // dies of max-attempts instead of waiting for an open breaker. (The route would answer that
    // timeout with 503, not queue it: the job is stored directly.)
    await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 0, hang: true });
    const { id } = await demo.app.outbox!.enqueue('email', {
      ...mail,
      to: [mail.to],
      from: demo.app.config.email.from,
    });

    const listed = await until(
      () => call(url, 'GET', '/api/outbox'),
      (r) => r.body.dead.length > 0,
      () => demo.app.outbox!.tick(),
    );
    expect(listed.body.stats).toMatchObject({ pending: 0, inflight: 0, dead: 1 });
    expect(listed.body.dead).toEqual([
      {
        id,
        queue: 'email',
        attempts: 1,
        deadReason: 'max-attempts',
        lastError: expect.stringMatching(/timed out after 1000 ms/),
        updatedAt: new Date(clock.now()).toISOString(),
      },
    ]);
    // the dashboard's view carries no payload: no recipient, no subject
    expect(JSON.stringify(listed.body)).not.toMatch(/grace@|dead letters/);

    expect(await call(url, 'POST', '/api/outbox/no-such-job/retry')).toMatchObject({
      status: 404,
      body: { error: 'no outbox job no-such-job', field: 'id' },
    });

    await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 0, hang: false });
    const retried = await call(url, 'POST', `/api/outbox/${id}/retry`);
    expect(retried).toMatchObject({ status: 200, body: { id, state: 'pending' } });
    await drain(demo, clock, [id]);
    expect(demo.app.smtpSink?.messages().map((m) => m.subject)).toContain('to the dead letters');

    const again = await call(url, 'POST', `/api/outbox/${id}/retry`);
    expect(again).toMatchObject({
      status: 409,
      body: { error: expect.stringMatching(/delivered, not dead/) },
    });

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^outbox_deliveries_total\{queue="email",outcome="dead"\} 1$/m);
    expect(metrics).toMatch(/^outbox_deliveries_total\{queue="email",outcome="delivered"\} 1$/m);
    expect(metrics).toMatch(/^outbox_jobs\{queue="email",state="dead"\} 0$/m);
  });

  it.runIf(sqliteLoads)(
    'keeps queued mail in SQLite across a restart and delivers it from the next run',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-restart-'));
      dirs.push(dir);
      const env = { OUTBOX_DB_PATH: join(dir, 'outbox.db') };
      const clock = manualClock();
      const first = await startDemo(env, { now: clock.now });
      await call(first.url, 'POST', '/api/faults', { service: 'email', failureRate: 1 });
      const queued = await call(first.url, 'POST', '/api/email', { ...mail, subject: 'across a restart' });
      expect(queued).toMatchObject({ status: 202, body: { queued: true } });
      await first.close();

      // a new process on the same file: its worker finds the job once its backoff (or the open
      // breaker's wait, both on the shared clock) has passed
      clock.advance(180_000);
      const second = await startDemo(env, { now: clock.now });
      demos.push(second);
      expect((await call(second.url, 'GET', '/api/info')).body.outbox).toEqual({ driver: 'sqlite' });
      await drain(second, clock, [queued.body.id]);
      expect(second.app.smtpSink?.messages().map((m) => m.subject)).toEqual(['across a restart']);
    },
  );

  it('falls back to the memory driver, and says so in one line, when better-sqlite3 cannot load', async () => {
    const unavailable = {
      name: 'sqlite',
      counts: () =>
        Promise.reject(
          new Error('sqliteDriver needs better-sqlite3 12, which could not be loaded', {
            cause: new Error("Cannot find package 'better-sqlite3'"),
          }),
        ),
      close: () => Promise.resolve(),
    } as unknown as OutboxDriver;
    const demo = await startDemo({}, { sqliteDriver: () => unavailable });
    demos.push(demo);
    const lines = demo.logs.filter((line) => String(line.msg).startsWith('outbox:'));
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [
        40,
        "outbox: better-sqlite3 unavailable (Cannot find package 'better-sqlite3'); using the memory driver, queued mail is lost on restart",
      ],
    ]);
    expect((await call(demo.url, 'GET', '/api/info')).body.outbox).toEqual({ driver: 'memory' });
    expect(await call(demo.url, 'POST', '/api/email', mail)).toMatchObject({
      status: 202,
      body: { provider: 'smtp' },
    });
  });
});
