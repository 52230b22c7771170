import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './retry-after.js';

const now = Date.parse('2015-10-21T07:28:00Z');

describe('parseRetryAfter', () => {
  it('reads a delay in seconds, as a string or a number', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(' 3 ')).toBe(3000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter('1.5')).toBe(1500);
    expect(parseRetryAfter(7)).toBe(7000);
  });

  it('reads an IMF-fixdate relative to now', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:29:30 GMT', now)).toBe(90_000);
  });

  it('reads the obsolete RFC 850 and asctime forms', () => {
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed Oct 21 07:28:05 2015', now)).toBe(5000);
    expect(parseRetryAfter('Wed Oct  1 00:00:00 2015', Date.parse('2015-09-30T23:59:59Z'))).toBe(1000);
  });

  it('gives 0 for a date in the past', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
  });

  it('reads rate-limit reset epochs in seconds and in milliseconds', () => {
    expect(parseRetryAfter(String(now / 1000 + 30), now)).toBe(30_000);
    expect(parseRetryAfter(now / 1000 + 30, now)).toBe(30_000);
    expect(parseRetryAfter(now + 2500, now)).toBe(2500);
    expect(parseRetryAfter(now / 1000 - 30, now)).toBe(0);
  });

  it('uses Date.now() when no clock is given', () => {
    const later = new Date(Date.now() + 60_000).toUTCString();
    const ms = parseRetryAfter(later);
    expect(ms).toBeGreaterThan(55_000);
    expect(ms).toBeLessThanOrEqual(60_000);
  });

  it('gives undefined for garbage', () => {
    for (const value of [
      undefined,
      null,
      '',
      '   ',
      'soon',
      '-5',
      '1e3',
      '0x10',
      'Wed, 31 Feb 2015 07:28:00 GMT',
      'Wed, 21 Foo 2015 07:28:00 GMT',
      'Wed, 21 Oct 2015 25:28:00 GMT',
      '21 Oct 2015',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -1,
    ]) {
      expect(parseRetryAfter(value as string, now), String(value)).toBeUndefined();
    }
  });
});
