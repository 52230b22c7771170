// What a breaker card says under its counts. Its own file, without the DOM, so that a unit test
// runs it in Node (test/countdown.test.ts).

/**
 * @param {{ state: string, retryAfterMs?: number, receivedAt?: number }} view a breaker from
 *   GET /api/breakers, with the time it was received
 * @param {number} now the current time, ms
 * @returns {string}
 */
// biome-ignore lint/correctness/noUnusedVariables: a global of the dashboard's scripts
function countdownText(view, now) {
  if (view.state === 'open') {
    if (typeof view.retryAfterMs !== 'number') return 'open: calls are rejected until it probes the provider';
    const left = Math.max(0, view.retryAfterMs - (now - (view.receivedAt ?? now)));
    return left > 0 ? `open: half-open in ${Math.ceil(left / 1000)} s` : 'open: half-open on the next call';
  }
  if (view.state === 'half-open') return 'admitting probe calls; successes close it, a failure re-opens it';
  if (view.state === 'closed') return 'closed: calls pass through';
  return String(view.state);
}
