import { CircuitBreaker, consecutiveFailures, failureRatio, type Settings } from '@tracks/breaker';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDistributedBreaker } from './index.js';
import { clock, uniqueName } from './test/helpers.js';
import { describeWithRedis, RedisServer, redisMissing } from './test/redis-server.js';

// The same random sequence of calls and clock steps through the local CircuitBreaker and the
// distributed one, on one clock: after every step both must agree on the state, the counts and
// the outcome the caller saw. The Lua script is a second implementation of the local breaker's
// state machine; this is what keeps the two the same.

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  if (redisMissing !== undefined) return;
  server = await RedisServer.start();
  redis = server.client();
});

afterAll(async () => {
  redis?.disconnect();
  await server?.kill();
});

// a small seeded generator (mulberry32): the same sequence on every run
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const boom = new Error('boom');
const neutral = new Error('neutral');

function outcome(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'ok';
  const error = result.reason as { name?: string };
  if (result.reason === boom) return 'failure';
  if (result.reason === neutral) return 'excluded';
  return error.name ?? 'error';
}

const variants: [string, Settings][] = [
  ['defaults', {}],
  [
    'fixed window, consecutive failures',
    { interval: 10_000, timeout: 5_000, maxRequests: 2, readyToTrip: consecutiveFailures(3) },
  ],
  [
    'rolling window, failure ratio',
    {
      interval: 10_000,
      bucketPeriod: 1_000,
      timeout: 5_000,
      maxRequests: 3,
      readyToTrip: failureRatio({ ratio: 0.5, minRequests: 4 }),
    },
  ],
];

describeWithRedis('DistributedCircuitBreaker against the local CircuitBreaker', () => {
  for (const [label, settings] of variants) {
    it(`agrees step by step on 300 random calls and clock steps (${label})`, async () => {
      const next = random(label.length * 7919);
      const c = clock();
      const shared: Settings = { ...settings, isExcluded: (e) => e === neutral, now: c.now };
      const local = new CircuitBreaker(shared);
      const distributed = createDistributedBreaker(redis, {
        ...shared,
        name: uniqueName('eq'),
        storeTimeout: 2_000,
      });
      await distributed.refresh(); // the shared window starts now, as the local one did
      for (let step = 0; step < 300; step++) {
        const r = next();
        if (r < 0.15) {
          c.sleep(Math.floor(next() * 3_000));
        } else {
          const kind = r < 0.55 ? 'ok' : r < 0.9 ? 'fail' : 'exclude';
          const fn = () => (kind === 'ok' ? 1 : Promise.reject(kind === 'fail' ? boom : neutral));
          const [a, b] = await Promise.allSettled([local.execute(fn), distributed.execute(fn)]);
          expect(outcome(b!), `step ${step}: ${kind}`).toBe(outcome(a!));
          // after a call both know the counts as of now (the distributed one from its reply)
          expect(distributed.state, `step ${step}`).toBe(local.state);
          expect(distributed.counts, `step ${step}`).toEqual(local.counts);
        }
        expect(distributed.state, `step ${step}`).toBe(local.state);
      }
    });
  }
});
