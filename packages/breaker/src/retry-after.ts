// Epoch values are told apart from delays by size: 1e9 seconds is 31 years — no provider asks
// for that wait, while every reset timestamp since 2001 is larger.
const EPOCH_SECONDS_FROM = 1e9;
const EPOCH_MILLISECONDS_FROM = 1e12;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const NUMERIC = /^\d+(?:\.\d+)?$/;
// RFC 9110 §5.6.7: IMF-fixdate, the obsolete RFC 850 form and asctime.
const IMF_FIXDATE = /^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/;
const RFC_850 = /^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/;
const ASCTIME = /^[a-z]{3} ([a-z]{3}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * Turns a `Retry-After` header (delay in seconds, or an HTTP-date) or a rate-limit reset value
 * (`X-RateLimit-Reset` as an epoch in seconds or milliseconds) into the number of milliseconds
 * to wait from `now`.
 *
 * Numbers below 1e9 are delays in seconds, numbers from 1e9 are epoch seconds, from 1e12 epoch
 * milliseconds. A time in the past gives 0. Garbage (empty, negative, unparseable, not finite)
 * gives `undefined`, so a caller can fall back to its backoff.
 *
 * @param value the header value, or a number already read from one
 * @param now the current time in epoch ms, for HTTP-dates and epochs
 * @default now `Date.now()`
 * @example
 * parseRetryAfter('120')                            // 120_000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z')) // 60_000
 */
export function parseRetryAfter(value: string | number | null | undefined, now?: number): number | undefined {
  if (typeof value === 'number') return fromNumber(value, now);
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (text === '') return undefined;
  if (NUMERIC.test(text)) return fromNumber(Number(text), now);
  const date = parseHttpDate(text);
  return date === undefined ? undefined : Math.max(0, Math.ceil(date - (now ?? Date.now())));
}

function fromNumber(value: number, now: number | undefined): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (value >= EPOCH_MILLISECONDS_FROM) return Math.max(0, Math.ceil(value - (now ?? Date.now())));
  if (value >= EPOCH_SECONDS_FROM) return Math.max(0, Math.ceil(value * 1000 - (now ?? Date.now())));
  return Math.ceil(value * 1000);
}

function parseHttpDate(text: string): number | undefined {
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) return utc(match[3], match[2], match[1], match[4], match[5], match[6]);
  match = RFC_850.exec(text);
  if (match !== null) {
    // two-digit years: RFC 9110 reads them as the most recent year with those digits that is
    // not more than 50 years ahead; for a retry date that is simply 20yy
    return utc(`20${match[3]}`, match[2], match[1], match[4], match[5], match[6]);
  }
  match = ASCTIME.exec(text);
  if (match !== null) return utc(match[6], match[1], match[2], match[3], match[4], match[5]);
  return undefined;
}

function utc(
  year: string | undefined,
  monthName: string | undefined,
  day: string | undefined,
  hours: string | undefined,
  minutes: string | undefined,
  seconds: string | undefined,
): number | undefined {
  const month = MONTHS.indexOf(monthName ?? '');
  if (month < 0) return undefined;
  const y = Number(year);
  const d = Number(day);
  const h = Number(hours);
  const m = Number(minutes);
  const s = Number(seconds);
  if (h > 23 || m > 59 || s > 60) return undefined;
  const time = Date.UTC(y, month, d, h, m, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; a date that does not round-trip is garbage
  const check = new Date(time);
  if (check.getUTCMonth() !== month || check.getUTCDate() !== d) return undefined;
  return time;
}
