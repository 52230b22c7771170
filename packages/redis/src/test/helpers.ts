import type { Counts, StateChangeEvent } from '@tracks/breaker';
import type { Redis } from 'ioredis';
import {
  createDistributedBreaker,
  type DistributedCircuitBreaker,
  type DistributedSettings,
} from '../index.js';

export const failure: Error = new Error('fail');
export const excluded: Error = new Error('excluded');

/** An injected clock, as the local breaker's tests use. */
export interface Clock {
  t: number;
  now: () => number;
  sleep: (ms: number) => void;
}

export function clock(start = 1_000_000): Clock {
  const c: Clock = {
    t: start,
    now: () => c.t,
    sleep: (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

export function counts(partial: Partial<Counts> = {}): Counts {
  return {
    requests: 0,
    totalSuccesses: 0,
    totalFailures: 0,
    totalExclusions: 0,
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    ...partial,
  };
}

type Cb = DistributedCircuitBreaker;

export const succeed = (cb: Cb): Promise<void> => cb.execute(() => true).then(() => undefined);
export const fail = (cb: Cb): Promise<void> =>
  cb
    .execute(() => Promise.reject(failure))
    .then(
      () => {
        throw new Error('expected the call to fail');
      },
      (error: unknown) => {
        if (error !== failure) throw error;
      },
    );
export const exclude = (cb: Cb): Promise<void> =>
  cb
    .execute(() => Promise.reject(excluded))
    .then(
      () => {
        throw new Error('expected the call to fail');
      },
      (error: unknown) => {
        if (error !== excluded) throw error;
      },
    );

/**
 * A call that stays in flight until `finish()`. `started` resolves once the breaker admitted it
 * and `fn` runs (admission takes a round trip here, unlike the local breaker).
 */
export function pending(cb: Cb): { finish: () => void; result: Promise<boolean>; started: Promise<void> } {
  let finish!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  const result = cb.execute(() => {
    started();
    return gate.then(() => true);
  });
  return { finish, result, started: running };
}

export function ratioTrip(c: Counts): boolean {
  const requests = c.requests - c.totalExclusions;
  return requests >= 3 && c.totalFailures / requests >= 0.6;
}

let serial = 0;
/** A unique breaker name per test, so tests sharing a server never share state. */
export function uniqueName(prefix = 'test'): string {
  serial++;
  return `${prefix}:${process.pid}:${serial}`;
}

export type BreakerFactory = (settings?: Partial<DistributedSettings>, changes?: StateChangeEvent[]) => Cb;

export function breakerFactory(redis: Redis): BreakerFactory {
  return (settings: Partial<DistributedSettings> = {}, changes?: StateChangeEvent[]) => {
    // a generous budget: these tests are about the state machine, not about a slow Redis, and
    // a loaded CI machine can take longer than the default 50 ms now and then
    const cb = createDistributedBreaker(redis, { name: uniqueName(), storeTimeout: 2_000, ...settings });
    if (changes !== undefined) cb.onStateChange((e) => changes.push(e));
    return cb;
  };
}

/** The shared state as Redis holds it, decoded for assertions. */
export interface SharedState {
  state: string | undefined;
  generation: number;
  expiry: number | null;
  age: number;
  isolated: boolean;
  bucket: (size: number, offset: number) => Counts;
}

export async function shared(redis: Redis, cb: Cb): Promise<SharedState> {
  const h = await redis.hgetall(cb.key);
  const n = (k: string) => Number(h[k]);
  const bucket = (size: number, offset: number): Counts => {
    const i = (((n('age') + offset) % size) + size) % size;
    const [r, s, f, e, cs, cf] = (h[`b${i}`] ?? '0,0,0,0,0,0').split(',').map(Number);
    return counts({
      requests: r ?? 0,
      totalSuccesses: s ?? 0,
      totalFailures: f ?? 0,
      totalExclusions: e ?? 0,
      consecutiveSuccesses: cs ?? 0,
      consecutiveFailures: cf ?? 0,
    });
  };
  return {
    state: ['closed', 'half-open', 'open'][n('st')],
    generation: n('g'),
    expiry: n('e') < 0 ? null : n('e'),
    age: n('age'),
    isolated: n('iso') === 1,
    bucket,
  };
}

/** How many times Redis ran a script (EVALSHA or EVAL) so far: round trips of the breaker. */
export async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) total += Number(match[1]);
  return total;
}
