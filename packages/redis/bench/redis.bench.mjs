// Per-call cost of the distributed breaker against the local one, with Redis on loopback, and
// against gobreaker v2's DistributedCircuitBreaker scheme reimplemented here as the anchor: a
// Redis lock held across every call (lock, get state, call, set state, unlock), the lock
// polled every 500 ms while another caller holds it.
//
//   pnpm --filter @tracks/redis build && node packages/redis/bench/redis.bench.mjs
//
// Starts its own redis-server (REDIS_SERVER to pick the binary) on a free loopback port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreaker } from '@tracks/breaker';
import { Redis } from 'ioredis';
import { createDistributedBreaker } from '../dist/index.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 1500);
const CONCURRENCY = [1, 4, 16];

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

const port = await freePort();
const redisServer = spawn(
  process.env.REDIS_SERVER ?? 'redis-server',
  [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--loglevel',
    'warning',
  ],
  { stdio: 'ignore' },
);
// whatever happens to the run, its redis-server goes with it
process.on('exit', () => redisServer.kill('SIGKILL'));
const redis = new Redis({
  port,
  host: '127.0.0.1',
  retryStrategy: () => 20,
  enableAutoPipelining: process.env.BENCH_AUTOPIPELINING === '1',
});
redis.on('error', () => {});
for (let i = 0; (await redis.ping().catch(() => '')) !== 'PONG'; i++) {
  if (i > 200) throw new Error('redis-server did not start');
  await sleep(10);
}

const work = async () => 1;
// a provider call of 2 ms: what the lock is held across in real use
const provider = () => sleep(2, 1);

// gobreaker v2's scheme: every call takes the breaker's lock in the shared store for its whole
// duration, polling it every 500 ms, and reads and writes the state around the call.
const UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
redis.defineCommand('benchUnlock', { lua: UNLOCK, numberOfKeys: 1 });
let tokens = 0;
async function gobreakerScheme(fn) {
  const token = String(++tokens);
  while ((await redis.set('bench:gobreaker:lock', token, 'PX', 5_000, 'NX')) !== 'OK') await sleep(500);
  try {
    const state = JSON.parse((await redis.get('bench:gobreaker:state')) ?? '{"requests":0}');
    state.requests++;
    const value = await fn();
    await redis.set('bench:gobreaker:state', JSON.stringify(state));
    return value;
  } finally {
    await redis.benchUnlock('bench:gobreaker:lock', token);
  }
}

// `callers` loops each awaiting one call after another, for DURATION_MS: calls per second and
// the slowest call (a caller starved by the lock waits in 500 ms steps).
async function throughput(call, callers) {
  let calls = 0;
  let worst = 0;
  const end = performance.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        await call();
        worst = Math.max(worst, performance.now() - started);
        calls++;
      }
    }),
  );
  return { rate: (calls * 1000) / DURATION_MS, worst };
}

// ns per rejected call of an open breaker, one caller
async function rejection(breaker) {
  const n = 200_000;
  for (let i = 0; i < 10_000; i++) await breaker.execute(work).catch(() => {});
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await breaker.execute(work).catch(() => {});
  return Number(process.hrtime.bigint() - started) / n;
}

const local = new CircuitBreaker({ name: 'bench:local' });
// The figures are of the Redis path: a budget wide enough that a stall of this shared machine
// does not send calls to the local fallback (which would flatter them). Cells where it still
// happened are marked with *.
const STORE_TIMEOUT = Number(process.env.BENCH_STORE_TIMEOUT ?? 1000);
const distributed = createDistributedBreaker(redis, {
  name: 'bench:distributed',
  storeTimeout: STORE_TIMEOUT,
});
let storeErrors = 0;
distributed.onStoreError(() => storeErrors++);
await distributed.reset();

const tables = [];
for (const [label, fn] of [
  ['an async no-op (the overhead alone)', work],
  ['a 2 ms provider call', provider],
]) {
  const rows = [];
  for (const callers of CONCURRENCY) {
    const l = await throughput(() => local.execute(fn), callers);
    const errorsBefore = storeErrors;
    const d = await throughput(() => distributed.execute(fn), callers);
    d.degraded = storeErrors > errorsBefore;
    if (distributed.degraded) await distributed.refresh();
    await redis.del('bench:gobreaker:lock', 'bench:gobreaker:state');
    const g = await throughput(() => gobreakerScheme(fn), callers);
    await sleep(600); // let the last pollers of the gobreaker scheme drain
    rows.push({ callers, local: l, distributed: d, gobreaker: g });
  }
  tables.push({ label, rows });
}

const openLocal = new CircuitBreaker({ name: 'bench:open-local', timeout: 3_600_000 });
openLocal.isolate();
const openDistributed = createDistributedBreaker(redis, {
  name: 'bench:open-distributed',
  timeout: 3_600_000,
});
await openDistributed.isolate();
const rejectLocal = await rejection(openLocal);
const rejectDistributed = await rejection(openDistributed);

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, redis on 127.0.0.1:${port}`,
);
for (const { label, rows } of tables) {
  console.log('');
  console.log(
    `calls/s through each breaker, each call ${label}; ${DURATION_MS} ms per cell; slowest call in ms`,
  );
  console.log(
    '| concurrent callers | local breaker | distributed breaker | gobreaker lock-per-call scheme | distributed / gobreaker |',
  );
  console.log('|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const ratio = r.distributed.rate / Math.max(r.gobreaker.rate, 1e-9);
    console.log(
      `| ${r.callers} | ${fmt(r.local.rate)} (${r.local.worst.toFixed(1)}) | ${fmt(r.distributed.rate)}${r.distributed.degraded ? '*' : ''} (${r.distributed.worst.toFixed(1)}) | ${fmt(r.gobreaker.rate)} (${r.gobreaker.worst.toFixed(1)}) | ${ratio.toFixed(1)}x |`,
    );
  }
}
console.log('');
console.log(
  storeErrors === 0
    ? `the distributed breaker (storeTimeout ${STORE_TIMEOUT} ms) reached Redis for every call: no store error`
    : `* ${storeErrors} store errors (storeTimeout ${STORE_TIMEOUT} ms): the marked figures include calls served locally`,
);
console.log('');
console.log('| open-state rejection (ns/call, one caller) | local breaker | distributed breaker |');
console.log('|---|---:|---:|');
console.log(`| execute() rejected with OpenStateError | ${fmt(rejectLocal)} | ${fmt(rejectDistributed)} |`);

redis.disconnect();
redisServer.kill('SIGKILL');
