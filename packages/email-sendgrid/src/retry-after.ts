// Stand-in for @tracks/breaker's parseRetryAfter until it is published in the tree; same
// signature, so swapping it is a one-line import change.

/**
 * A `Retry-After` value (delay in seconds, or an HTTP-date) as milliseconds to wait from `now`;
 * `undefined` for anything unparseable.
 */
export function parseRetryAfter(
  value: string | number | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim();
  if (text === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, Math.ceil(date - now)) : undefined;
}
