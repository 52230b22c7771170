// Composed policy benchmark: resilience({ breaker, retry, timeout }) on the success path, next
// to the bare breaker and to cockatiel 4's wrap(retry, breaker, timeout), in one process.
//
//   npx tsup && node bench/policy.bench.mjs            (it measures dist/)
//   BENCH_ROUNDS=7 node bench/policy.bench.mjs
//
// As in breaker.bench.mjs: BATCH calls per mitata sample, cases interleaved for ROUNDS rounds,
// every ratio the median of the per-round ratios (steadier on a shared, noisy machine).
//
// Same configuration for both libraries: breaker open at >= 50 % failures of >= 10 requests in a
// 10 s window, 30 s open; 3 retries with exponential backoff; a 5 s timeout per attempt that
// rejects at the deadline even if the function ignores its signal (cockatiel's Aggressive
// strategy; tracks always does). Two kinds of function: one that ignores its signal, and one that
// reads it (as an SDK call does: tracks creates the attempt's AbortController only when read).
import {
  circuitBreaker,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  ExponentialBackoff,
  handleAll,
  SamplingBreaker,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import { do_not_optimize, measure } from 'mitata';
import { CircuitBreaker, resilience } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = 1000;
const OPTIONS = { min_cpu_time: 150 * 1e6, max_samples: 400, min_samples: 8 };

const readyToTrip = (c) =>
  c.totalSuccesses + c.totalFailures >= 10 && c.totalFailures / (c.totalSuccesses + c.totalFailures) >= 0.5;
const breakerSettings = { interval: 10_000, bucketPeriod: 1_000, timeout: 30_000, readyToTrip };

const value = { ok: true };
const work = async () => value;
const ignoresSignal = () => work();
const readsSignal = ({ signal }) => (signal.aborted ? Promise.reject(signal.reason) : work());

// --- tracks ----------------------------------------------------------------------------------
const bareBreaker = new CircuitBreaker(breakerSettings);
const tracksPolicy = resilience({
  breaker: new CircuitBreaker(breakerSettings),
  retry: { maxRetries: 3 },
  timeout: 5_000,
});
const tracksWithSignal = resilience({
  breaker: new CircuitBreaker(breakerSettings),
  retry: { maxRetries: 3 },
  timeout: 5_000,
});
// a server's long-lived signal (shutdown), handed to every call
const serverSignal = new AbortController().signal;

// --- cockatiel -------------------------------------------------------------------------------
const makeCockatiel = () =>
  wrap(
    cockatielRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, {
      halfOpenAfter: 30_000,
      breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 1 }),
    }),
    cockatielTimeout(5_000, TimeoutStrategy.Aggressive),
  );
const cockatielPolicy = makeCockatiel();
const cockatielWithSignal = makeCockatiel();

const cases = {
  raw: async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await work());
  },
  'tracks bare breaker': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await bareBreaker.execute(work));
  },
  'tracks policy, fn ignores signal': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await tracksPolicy.execute(ignoresSignal));
  },
  'cockatiel wrap, fn ignores signal': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await cockatielPolicy.execute(ignoresSignal));
  },
  'tracks policy, fn reads signal': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await tracksPolicy.execute(readsSignal));
  },
  'cockatiel wrap, fn reads signal': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await cockatielPolicy.execute(readsSignal));
  },
  'tracks policy, caller signal, fn reads it': async () => {
    for (let i = 0; i < BATCH; i++) {
      do_not_optimize(await tracksWithSignal.execute(readsSignal, { signal: serverSignal }));
    }
  },
  'cockatiel wrap, caller signal, fn reads it': async () => {
    for (let i = 0; i < BATCH; i++)
      do_not_optimize(await cockatielWithSignal.execute(readsSignal, serverSignal));
  },
};

// --- run -------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const perCall = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(cases)) {
    const stats = await measure(fn, OPTIONS);
    perCall[name].push(stats.p50 / BATCH);
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}

const ratio = (a, b) => median(perCall[a].map((x, i) => x / perCall[b][i]));

console.log(
  `\nnode ${process.version}, ${ROUNDS} rounds of ${BATCH} calls per sample; ns per call (median over rounds)\n`,
);
for (const [name, xs] of Object.entries(perCall)) {
  console.log(`${name.padEnd(44)} ${median(xs).toFixed(1).padStart(9)} ns`);
}

const rows = [
  [
    'policy vs bare breaker (fn ignores signal)',
    ratio('tracks policy, fn ignores signal', 'tracks bare breaker'),
    '-',
  ],
  ['policy vs raw await fn()', ratio('tracks policy, fn ignores signal', 'raw'), '-'],
  [
    'throughput vs cockatiel wrap (fn ignores signal)',
    ratio('cockatiel wrap, fn ignores signal', 'tracks policy, fn ignores signal'),
    '>= 1.5',
  ],
  [
    'throughput vs cockatiel wrap (fn reads signal)',
    ratio('cockatiel wrap, fn reads signal', 'tracks policy, fn reads signal'),
    '>= 1.5',
  ],
  [
    'throughput vs cockatiel wrap (caller signal)',
    ratio('cockatiel wrap, caller signal, fn reads it', 'tracks policy, caller signal, fn reads it'),
    '>= 1.5',
  ],
];
console.log('\nratios (median of per-round ratios)');
for (const [name, x, target] of rows) {
  console.log(`${name.padEnd(56)} ${x.toFixed(2).padStart(6)}x   target ${target}`);
}
