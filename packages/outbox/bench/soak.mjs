#!/usr/bin/env node
// Soak run (not a test): MESSAGES messages through the SQLite driver while the provider fails
// 30 % of calls and is down for OUTAGE_MS in the middle. Reports throughput, enqueue latency,
// how many were delivered (at least once each) and the duplicates, which may only come from
// attempts the outbox counted as ambiguous.
//
//   npx tsup && node bench/soak.mjs            # from packages/outbox: the bench measures dist/
//   MESSAGES=2000 OUTAGE_MS=3000 node bench/soak.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CircuitBreaker,
  consecutiveFailures,
  exponentialBackoff,
  ProviderError,
  TimeoutError,
} from '@tracks/breaker';
import { createOutbox, sqliteDriver } from '../dist/index.js';

const MESSAGES = Number(process.env.MESSAGES ?? 10_000);
const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 10_000);
const FAILURE_RATE = 0.3;
// of the failed calls, this share reached the provider and timed out on the way back: delivered,
// but the outbox cannot know (an ambiguous outcome)
const AMBIGUOUS_SHARE = 0.1;
const SYNCHRONOUS = process.env.SYNCHRONOUS ?? 'full';

const dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-soak-'));
const deliveries = new Map(); // n -> times the provider took it
let providerCalls = 0;
let downFrom = Number.POSITIVE_INFINITY;
let downUntil = Number.POSITIVE_INFINITY;

async function provider(message) {
  providerCalls++;
  await new Promise((resolve) => setImmediate(resolve)); // a network round trip, roughly
  const now = Date.now();
  if (now >= downFrom && now < downUntil) {
    throw new ProviderError({ kind: 'transient', provider: 'soak', operation: 'send', status: 503 });
  }
  if (Math.random() < FAILURE_RATE) {
    if (Math.random() < AMBIGUOUS_SHARE) {
      deliveries.set(message.n, (deliveries.get(message.n) ?? 0) + 1);
      throw new TimeoutError(5_000);
    }
    throw new ProviderError({ kind: 'transient', provider: 'soak', operation: 'send', status: 503 });
  }
  deliveries.set(message.n, (deliveries.get(message.n) ?? 0) + 1);
}

const breaker = new CircuitBreaker({
  name: 'email:soak',
  readyToTrip: consecutiveFailures(8),
  timeout: 1_000,
});
const outbox = createOutbox({
  driver: sqliteDriver({ path: join(dir, 'outbox.db'), synchronous: SYNCHRONOUS }),
  handlers: { email: (message) => breaker.execute(() => provider(message)) },
  retry: {
    backoff: exponentialBackoff({ initial: 100, factor: 2, max: 2_000, jitter: 'equal' }),
    maxAttempts: 50,
  },
  concurrency: 16,
  pollIntervalMs: 50,
});
const counted = { ambiguous: 0, failed: 0, deferred: 0, dead: 0 };
outbox.on('failed', (e) => (e.outcome === 'ambiguous' ? counted.ambiguous++ : counted.failed++));
outbox.on('deferred', () => counted.deferred++);
outbox.on('dead', () => counted.dead++);
const keepAlive = setInterval(() => {}, 1_000);

const started = Date.now();
outbox.start();
const latencies = [];
let accepted = 0;
for (let n = 0; n < MESSAGES; n++) {
  if (n === Math.floor(MESSAGES / 2)) {
    downFrom = Date.now();
    downUntil = downFrom + OUTAGE_MS;
  }
  const t0 = performance.now();
  await outbox.enqueue('email', { n, to: [`r${n}@example.com`], subject: `soak ${n}` });
  latencies.push(performance.now() - t0);
  accepted++;
  // requests arrive over time: let the worker run between them
  if (n % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
}
const enqueuedAt = Date.now();
while ((await outbox.stats()).delivered + counted.dead < accepted) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const finished = Date.now();
const stats = await outbox.stats();
await outbox.stop();
clearInterval(keepAlive);
rmSync(dir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2);
const total = [...deliveries.values()].reduce((a, b) => a + b, 0);
const unique = deliveries.size;
const lost = accepted - [...Array(accepted).keys()].filter((n) => deliveries.has(n)).length;
const seconds = (finished - started) / 1000;
console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}, synchronous=${SYNCHRONOUS}`);
console.log(`messages accepted          ${accepted}`);
console.log(`outage                     ${OUTAGE_MS} ms from message ${Math.floor(MESSAGES / 2)}`);
console.log(`provider calls             ${providerCalls}`);
console.log(`delivered (unique)         ${unique}   lost: ${lost}   dead: ${stats.dead}`);
console.log(`provider deliveries        ${total}   duplicates: ${total - unique}`);
console.log(
  `ambiguous attempts counted ${counted.ambiguous}   failed: ${counted.failed}   breaker waits: ${counted.deferred}`,
);
console.log(`enqueue latency ms         p50 ${pct(0.5)}   p99 ${pct(0.99)}   max ${pct(1)}`);
console.log(
  `enqueue phase              ${((enqueuedAt - started) / 1000).toFixed(1)} s (${(accepted / ((enqueuedAt - started) / 1000)).toFixed(0)} enqueues/s)`,
);
console.log(
  `all delivered after        ${seconds.toFixed(1)} s (${(accepted / seconds).toFixed(0)} messages/s end to end)`,
);
if (lost > 0 || total - unique > counted.ambiguous) {
  console.log('FAILED: a message was lost, or a duplicate came from an attempt not counted as ambiguous');
  process.exitCode = 1;
}
