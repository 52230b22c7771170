import { describe, expect, it } from 'vitest';
import { constantBackoff, exponentialBackoff } from './backoff.js';

/** A seeded generator, so "many samples" are the same samples every run. */
function seeded(seed = 42): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('exponentialBackoff', () => {
  it("without jitter is exactly the seed's 1 s, 2 s, 4 s, 8 s, capped at max", () => {
    const backoff = exponentialBackoff({ jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoff(n, undefined))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
  });

  it('honours initial, factor and max', () => {
    const backoff = exponentialBackoff({ initial: 100, factor: 3, max: 1000, jitter: 'none' });
    expect([1, 2, 3, 4].map((n) => backoff(n, undefined))).toEqual([100, 300, 900, 1000]);
  });

  it('full jitter stays within [0, the exponential delay] over many samples', () => {
    const backoff = exponentialBackoff({ random: seeded() });
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(30_000, 1000 * 2 ** (attempt - 1));
      const samples = Array.from({ length: 2000 }, () => backoff(attempt, undefined));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...samples)).toBeLessThanOrEqual(ceiling);
      // spread over the whole range, not stuck at one end
      expect(Math.min(...samples)).toBeLessThan(ceiling * 0.05);
      expect(Math.max(...samples)).toBeGreaterThan(ceiling * 0.95);
    }
  });

  it('full jitter reaches both ends with Math.random too', () => {
    const backoff = exponentialBackoff();
    const samples = Array.from({ length: 2000 }, () => backoff(3, undefined));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThanOrEqual(4000);
  });

  it('equal jitter stays within [half, all] of the exponential delay', () => {
    const backoff = exponentialBackoff({ jitter: 'equal', random: seeded(7) });
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(30_000, 1000 * 2 ** (attempt - 1));
      const samples = Array.from({ length: 2000 }, () => backoff(attempt, undefined));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(ceiling / 2);
      expect(Math.max(...samples)).toBeLessThanOrEqual(ceiling);
      expect(Math.min(...samples)).toBeLessThan(ceiling * 0.53);
    }
  });

  it('decorrelated jitter stays within [initial, 3 × previous], capped at max', () => {
    const backoff = exponentialBackoff({
      jitter: 'decorrelated',
      initial: 100,
      max: 5000,
      random: seeded(3),
    });
    for (let run = 0; run < 200; run++) {
      let previous: number | undefined;
      for (let attempt = 1; attempt <= 10; attempt++) {
        const delay = backoff(attempt, undefined, previous);
        expect(delay).toBeGreaterThanOrEqual(100);
        expect(delay).toBeLessThanOrEqual(Math.min(5000, (previous ?? 100) * 3));
        previous = delay;
      }
    }
  });

  it('the extremes of random give the extremes of each range', () => {
    const low = () => 0;
    const high = () => 0.999999999;
    expect(exponentialBackoff({ random: low })(3, undefined)).toBe(0);
    expect(exponentialBackoff({ random: high })(3, undefined)).toBeCloseTo(4000, 3);
    expect(exponentialBackoff({ jitter: 'equal', random: low })(3, undefined)).toBe(2000);
    expect(exponentialBackoff({ jitter: 'decorrelated', random: low })(3, undefined, 4000)).toBe(1000);
    expect(exponentialBackoff({ jitter: 'decorrelated', random: high })(3, undefined, 4000)).toBeCloseTo(
      12_000,
      3,
    );
  });

  it('rejects bad options with a TypeError', () => {
    expect(() => exponentialBackoff({ initial: -1 })).toThrow(TypeError);
    expect(() => exponentialBackoff({ max: Number.NaN })).toThrow(TypeError);
    expect(() => exponentialBackoff({ factor: 0.5 })).toThrow(TypeError);
    expect(() => exponentialBackoff({ jitter: 'some' as 'full' })).toThrow(/jitter/);
  });
});

describe('constantBackoff', () => {
  it('gives the same delay every time', () => {
    const backoff = constantBackoff(250);
    expect([1, 2, 10].map((n) => backoff(n, new Error('x')))).toEqual([250, 250, 250]);
    expect(() => constantBackoff(-5)).toThrow(TypeError);
  });
});
