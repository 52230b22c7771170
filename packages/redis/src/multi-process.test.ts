import { rmSync } from 'node:fs';
import { OtpService } from '@tracks/sms';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisOtpStore } from './index.js';
import type { RunReport } from './test/child.js';
import { scriptCalls, uniqueName } from './test/helpers.js';
import { bundleChild, Instance } from './test/processes.js';
import { describeWithRedis, RedisServer, redisMissing } from './test/redis-server.js';

// Several Node processes — instances of one app — share one breaker and one OTP store through a
// real redis-server. The parent drives them over IPC and owns their clock.

const SECRET = 'a-test-secret-of-32-bytes-length';
const PHONE = '+14155552671';
let server: RedisServer;
let redis: Redis;
let instances: Instance[] = [];
let bundle: string | undefined;

beforeAll(async () => {
  if (redisMissing !== undefined) return;
  const [started, script] = await Promise.all([RedisServer.start(), bundleChild()]);
  server = started;
  bundle = script;
  redis = server.client();
  instances = [new Instance(script), new Instance(script), new Instance(script)];
});

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  redis?.disconnect();
  await server?.kill();
  if (bundle !== undefined) rmSync(bundle, { force: true });
});

const all = <R>(f: (i: Instance) => Promise<R>) => Promise.all(instances.map(f));
const sum = (reports: RunReport[], key: keyof RunReport) => reports.reduce((n, r) => n + r[key], 0);

describeWithRedis('DistributedCircuitBreaker shared by several processes', () => {
  it('trips once on a burst, rejects in every process, runs only maxRequests probes in all, and closes for all', async () => {
    const name = uniqueName('procs');
    const key = `tracks:breaker:${name}`;
    let now = 1_000_000;
    await all((i) =>
      i.send({
        op: 'setup',
        port: server.port,
        name,
        trip: 4,
        maxRequests: 2,
        timeout: 10_000,
        secret: SECRET,
      }),
    );
    expect(await all((i) => i.send({ op: 'state', now }))).toEqual(['closed', 'closed', 'closed']);
    const generation = Number(await redis.hget(key, 'g'));

    // a burst of failures from every process at once: the fourth consecutive one trips it
    const burst = await all((i) => i.send<RunReport>({ op: 'run', now, outcomes: ['fail', 'fail', 'fail'] }));
    expect(await redis.hget(key, 'st')).toBe('2');
    expect(Number(await redis.hget(key, 'g'))).toBe(generation + 1); // opened once
    expect(sum(burst, 'invoked')).toBeGreaterThanOrEqual(4);
    expect(sum(burst, 'invoked') + sum(burst, 'open')).toBe(9);

    // every process now rejects: at most one round trip each to learn it, then none
    const before = await scriptCalls(redis);
    const rejected = await all((i) =>
      i.send<RunReport>({ op: 'run', now, outcomes: ['ok', 'ok', 'ok', 'ok', 'ok'] }),
    );
    expect(sum(rejected, 'invoked')).toBe(0);
    expect(sum(rejected, 'open')).toBe(15);
    expect((await scriptCalls(redis)) - before).toBeLessThanOrEqual(3);

    // the open timeout passes: six calls from three processes ask at once; two probes run
    now += 10_000;
    const held = await all((i) => i.send<RunReport>({ op: 'hold', now, calls: 2 }));
    expect(sum(held, 'invoked')).toBe(2);
    expect(sum(held, 'busy')).toBe(4);
    expect(await redis.hget(key, 'st')).toBe('1');

    // both probes succeed: closed for everyone
    await all((i) => i.send({ op: 'release', now }));
    expect(await all((i) => i.send({ op: 'state', now }))).toEqual(['closed', 'closed', 'closed']);
    const after = await all((i) => i.send<RunReport>({ op: 'run', now, outcomes: ['ok'] }));
    expect(sum(after, 'ok')).toBe(3);
  });
});

describeWithRedis('RedisOtpStore shared by several processes', () => {
  it('caps a brute force spread over processes at five checks; the sixth fails anywhere, even when right', async () => {
    const now = 2_000_000;
    await all((i) =>
      i.send({
        op: 'setup',
        port: server.port,
        name: uniqueName('otp'),
        trip: 5,
        maxRequests: 1,
        timeout: 1_000,
        secret: SECRET,
      }),
    );
    const otp = new OtpService({ secret: SECRET, store: new RedisOtpStore(redis), now: () => now });
    const { code } = await otp.issue(PHONE);
    const wrong = Array.from({ length: 4 }, (_, k) =>
      String((Number(code) + 1 + k) % 1_000_000).padStart(6, '0'),
    );
    const results = (
      await all((i) =>
        i.send<{ valid: boolean; reason?: string }[]>({ op: 'verify', now, phone: PHONE, codes: wrong }),
      )
    ).flat();
    expect(results).toHaveLength(12);
    expect(results.filter((r) => r.reason === 'mismatch')).toHaveLength(5);
    expect(results.filter((r) => r.reason === 'too-many-attempts')).toHaveLength(7);
    expect(await otp.verify(PHONE, code)).toEqual({ valid: false, reason: 'too-many-attempts' });
  });

  it('verifies on one process a code issued on another, once', async () => {
    const now = 3_000_000;
    const phone = '+14155552672';
    const otp = new OtpService({ secret: SECRET, store: new RedisOtpStore(redis), now: () => now });
    const { code } = await otp.issue(phone);
    const [a, b] = await Promise.all(
      instances
        .slice(0, 2)
        .map((i) => i.send<{ valid: boolean }[]>({ op: 'verify', now, phone, codes: [code] })),
    );
    // of two right guesses at once on two instances, exactly one consumes the code
    expect([a![0]!.valid, b![0]!.valid].filter(Boolean)).toHaveLength(1);
  });
});
