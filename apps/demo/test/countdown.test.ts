import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

// public/countdown.js is a browser script with no DOM use: run it as the page does, in a
// context of its own, and take the global it defines.
const source = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'countdown.js'),
  'utf8',
);
const countdownText = runInNewContext(`${source}\ncountdownText`, {}) as (
  view: { state: string; retryAfterMs?: number; receivedAt?: number },
  now: number,
) => string;

describe('countdownText', () => {
  it('counts down an open breaker to its probe', () => {
    expect(countdownText({ state: 'open', retryAfterMs: 10_000, receivedAt: 1_000 }, 3_500)).toBe(
      'open: half-open in 8 s',
    );
    expect(countdownText({ state: 'open', retryAfterMs: 1_000, receivedAt: 0 }, 5_000)).toBe(
      'open: half-open on the next call',
    );
  });

  it('says open, not closed, for an open breaker that gave no wait', () => {
    expect(countdownText({ state: 'open' }, 0)).toBe('open: calls are rejected until it probes the provider');
  });

  it('describes half-open and closed breakers', () => {
    expect(countdownText({ state: 'half-open' }, 0)).toMatch(/^admitting probe calls/);
    expect(countdownText({ state: 'closed' }, 0)).toBe('closed: calls pass through');
  });
});
