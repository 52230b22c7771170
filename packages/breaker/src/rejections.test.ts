import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import {
  isBreakerRejection,
  isOpenStateError,
  isTooManyRequestsError,
  OpenStateError,
  TooManyRequestsError,
} from './rejections.js';

function openBreaker(t: { now: number }) {
  const breaker = new CircuitBreaker({
    name: 'email:ses',
    timeout: 30_000,
    readyToTrip: (c) => c.consecutiveFailures >= 1,
    now: () => t.now,
  });
  return breaker
    .execute(() => Promise.reject(new Error('down')))
    .catch(() => undefined)
    .then(() => breaker);
}

describe('OpenStateError', () => {
  it('carries the breaker name and the time until a probe, with the fixed message', async () => {
    const t = { now: 1_000 };
    const breaker = await openBreaker(t);
    t.now += 10_000;
    const error = await breaker.execute(() => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenStateError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'OpenStateError',
      message: 'circuit breaker is open',
      breaker: 'email:ses',
    });
    expect((error as OpenStateError).retryAfterMs).toBe(20_000);
    expect(JSON.parse(JSON.stringify(error))).toEqual({ breaker: 'email:ses', retryAfterMs: 20_000 });
    expect(String(error)).toBe('OpenStateError: circuit breaker is open');
    expect((error as Error).stack).toBe(
      'OpenStateError: circuit breaker is open (breaker "email:ses", retry after 20000 ms)',
    );
    expect(Object.prototype.toString.call(error)).toBe('[object Error]');
    // no stack was captured for it: its one-line `stack` comes from the prototype
    expect(Object.hasOwn(error as object, 'stack')).toBe(false);
    expect(Object.keys(error as object)).toEqual(['breaker', 'retryAfterMs']);
  });

  it('is a fresh object per rejection, so what one caller attaches stays its own', async () => {
    const t = { now: 1_000 };
    const breaker = await openBreaker(t);
    const first = (await breaker.execute(() => 1).catch((e: unknown) => e)) as OpenStateError & {
      requestId?: string;
    };
    first.requestId = 'r-1';
    t.now += 1;
    const second = (await breaker.execute(() => 1).catch((e: unknown) => e)) as OpenStateError & {
      requestId?: string;
    };
    expect(second).not.toBe(first);
    expect(second.requestId).toBeUndefined();
    expect(first.retryAfterMs - second.retryAfterMs).toBe(1);
  });

  it('can be built by other packages, with a captured stack', () => {
    const error = new OpenStateError({ breaker: 'sms:twilio', retryAfterMs: 5 });
    expect(error.stack).toContain('OpenStateError: circuit breaker is open');
    expect(error.stack).toContain('rejections.test.ts');
    expect(isOpenStateError(error)).toBe(true);
    expect(isBreakerRejection(error)).toBe(true);
    expect(isTooManyRequestsError(error)).toBe(false);
  });
});

describe('TooManyRequestsError', () => {
  it('has the fixed message and an optional retryAfterMs', () => {
    const error = new TooManyRequestsError({ breaker: 'b' });
    expect(error.message).toBe('too many requests');
    expect(error.name).toBe('TooManyRequestsError');
    expect('retryAfterMs' in error).toBe(false);
    expect(new TooManyRequestsError({ breaker: 'b', retryAfterMs: 3 }).retryAfterMs).toBe(3);
    expect(isTooManyRequestsError(error)).toBe(true);
    expect(isBreakerRejection(error)).toBe(true);
    expect(isOpenStateError(error)).toBe(false);
  });
});

describe('brand guards', () => {
  it('recognise rejections from another copy of the package by their Symbol.for brand', () => {
    const foreign = Object.assign(Object.create(Error.prototype), {
      [Symbol.for('tracks.OpenStateError')]: true,
      [Symbol.for('tracks.BreakerRejection')]: true,
    });
    expect(isOpenStateError(foreign)).toBe(true);
    expect(isBreakerRejection(foreign)).toBe(true);
  });

  it('reject look-alikes and non-objects', () => {
    for (const value of [
      new Error('circuit breaker is open'),
      { name: 'OpenStateError' },
      null,
      undefined,
      'open',
      1,
    ]) {
      expect(isOpenStateError(value)).toBe(false);
      expect(isTooManyRequestsError(value)).toBe(false);
      expect(isBreakerRejection(value)).toBe(false);
    }
  });
});
