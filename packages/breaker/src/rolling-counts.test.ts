import { describe, expect, it } from 'vitest';
import { RollingCounts } from './rolling-counts.js';

describe('RollingCounts', () => {
  it('keeps no bucket array for a fixed window', () => {
    const counts = new RollingCounts(1);
    counts.onRequest();
    counts.onSuccess(0);
    expect(counts.buckets()).toEqual([]);
    expect(counts.bucketAt(0)).toEqual(counts.toJSON());
  });

  it('lands a result in the bucket of the age its call started in', () => {
    const counts = new RollingCounts(3);
    counts.onRequest(); // age 0
    counts.grow(1);
    counts.onRequest(); // age 1
    counts.onFailure(0);
    counts.onSuccess(1);
    expect(counts.bucketAt(-1)).toMatchObject({ requests: 1, totalFailures: 1, consecutiveFailures: 1 });
    expect(counts.bucketAt(0)).toMatchObject({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 });
    expect(counts.toJSON()).toMatchObject({
      requests: 2,
      totalSuccesses: 1,
      totalFailures: 1,
      consecutiveSuccesses: 1,
    });
  });

  it('drops a result whose bucket rolled out, and one from the future', () => {
    const counts = new RollingCounts(2);
    counts.onRequest();
    counts.grow(2);
    counts.onSuccess(0); // its bucket is gone
    counts.onFailure(5); // not yet a bucket
    expect(counts.toJSON()).toMatchObject({ requests: 0, totalSuccesses: 0, totalFailures: 0 });
  });

  it('subtracts the oldest bucket when it rolls out, consecutive runs included', () => {
    const counts = new RollingCounts(2);
    for (let i = 0; i < 3; i++) {
      counts.onRequest();
      counts.onFailure(0);
    }
    counts.grow(1);
    counts.onRequest();
    counts.onFailure(1);
    expect(counts.consecutiveFailures).toBe(4);
    counts.grow(2); // bucket 0 leaves with its three failures
    expect(counts.toJSON()).toMatchObject({ requests: 1, totalFailures: 1, consecutiveFailures: 1 });
  });

  it('keeps a consecutive run that does not reach into the oldest bucket', () => {
    const counts = new RollingCounts(2);
    counts.onRequest();
    counts.onFailure(0);
    counts.grow(1);
    counts.onRequest();
    counts.onSuccess(1);
    counts.onRequest();
    counts.onSuccess(1);
    counts.grow(2);
    expect(counts.toJSON()).toMatchObject({
      requests: 2,
      totalSuccesses: 2,
      consecutiveSuccesses: 2,
      totalFailures: 0,
    });
  });

  it('clears everything when the whole window rolls out at once', () => {
    const counts = new RollingCounts(4);
    counts.onRequest();
    counts.onSuccess(0);
    counts.grow(100);
    expect(counts.age).toBe(100);
    expect(counts.toJSON()).toMatchObject({ requests: 0, totalSuccesses: 0, consecutiveSuccesses: 0 });
    expect(counts.buckets().every((b) => b.requests === 0)).toBe(true);
  });

  it('loads the buckets it gives out, oldest first', () => {
    const counts = new RollingCounts(3);
    for (let age = 0; age < 5; age++) {
      counts.grow(age);
      for (let i = 0; i <= age; i++) counts.onRequest();
      counts.onSuccess(age);
    }
    const copy = new RollingCounts(3);
    copy.load(counts.toJSON(), counts.age, counts.buckets());
    expect(copy.buckets()).toEqual(counts.buckets());
    expect(copy.toJSON()).toEqual(counts.toJSON());
    expect(copy.age).toBe(counts.age);
  });
});
