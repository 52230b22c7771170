// Circuit breaker benchmark: tracks vs cockatiel 4 vs opossum 10, in one process.
//
//   node --expose-gc bench/breaker.bench.mjs            (after `npx tsup`: it measures dist/)
//   BENCH_ROUNDS=7 node --expose-gc bench/breaker.bench.mjs
//   BENCH_FILTER='vs raw' node bench/breaker.bench.mjs   (only the ratios against raw await fn())
//
// Every case runs BATCH calls per mitata sample, so the harness's own cost per sample is spread
// over a thousand calls. Each ratio is taken from two measurements made one right after the
// other, ROUNDS times, and reported as the median: on a shared, noisy machine that is far
// steadier than comparing measurements taken far apart.
//
// Config for all three: open at >= 50 % failures of >= 10 requests, 10 s window, 30 s open.
import { circuitBreaker, handleAll, SamplingBreaker } from 'cockatiel';
import { do_not_optimize, measure } from 'mitata';
import Opossum from 'opossum';
import { CircuitBreaker } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = 1000;
const OPTIONS = { min_cpu_time: 100 * 1e6, max_samples: 200, min_samples: 5 };

const readyToTrip = (c) =>
  c.requests - c.totalExclusions >= 10 && c.totalFailures / (c.requests - c.totalExclusions) >= 0.5;
const tracksSettings = { interval: 10_000, bucketPeriod: 1_000, timeout: 30_000, readyToTrip };
const tracksFixedSettings = { interval: 10_000, timeout: 30_000, readyToTrip };
const makeTracks = (settings = tracksSettings) => new CircuitBreaker(settings);
const makeCockatiel = () =>
  circuitBreaker(handleAll, {
    halfOpenAfter: 30_000,
    breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 1 }),
  });
const opossumOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  rollingCountTimeout: 10_000,
  rollingCountBuckets: 10,
  resetTimeout: 30_000,
};
const opossums = [];
const makeOpossum = (fn, timeout) => {
  const breaker = new Opossum(fn, timeout === undefined ? opossumOptions : { ...opossumOptions, timeout });
  opossums.push(breaker);
  return breaker;
};

const value = { ok: true };
const work = async () => value;
const boom = new Error('boom');
const failing = async () => {
  throw boom;
};
let tick = 0;
// one call in ten fails: below every breaker's 50 % threshold, so they all stay closed
const tenPercent = () => (++tick % 10 === 0 ? failing() : work());

// --- the cases -------------------------------------------------------------------------------
const tracks = makeTracks();
const tracksFixed = makeTracks(tracksFixedSettings);
// no counting window: time changes nothing while closed, so the success path reads no clock
const tracksNoWindow = makeTracks({ timeout: 30_000, readyToTrip });
const cockatiel = makeCockatiel();
const opossumOff = makeOpossum(work, false);
const opossumDefault = makeOpossum(work);

const tracks10 = makeTracks();
const cockatiel10 = makeCockatiel();
// opossum aggregates (and sorts) the latencies of its whole window on every failure, so its
// cost per failing call grows with the calls in the window; a fresh breaker per measurement
// keeps that window to one measurement's calls (a few thousand) and the bench short
let opossumOff10 = makeOpossum(tenPercent, false);
let opossumDefault10 = makeOpossum(tenPercent);
function freshOpossums() {
  opossumOff10.shutdown();
  opossumDefault10.shutdown();
  opossumOff10 = makeOpossum(tenPercent, false);
  opossumDefault10 = makeOpossum(tenPercent);
}

const tracksOpen = makeTracks();
const cockatielOpen = makeCockatiel();
const opossumOpen = makeOpossum(work, false);
async function tripAll() {
  while (tracksOpen.state !== 'open') await tracksOpen.execute(failing).catch(() => {});
  for (let i = 0; i < 50 && cockatielOpen.state !== 2 /* CircuitState.Open */; i++) {
    await cockatielOpen.execute(failing).catch(() => {});
  }
  if (!opossumOpen.opened) opossumOpen.open();
}

const windows = [10, 100, 1_000, 10_000].map((buckets) => ({
  buckets,
  breaker: makeTracks({ ...tracksSettings, bucketPeriod: 10_000 / buckets }),
}));

const cases = {
  raw: async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await work());
  },
  'tracks success (rolling 10 buckets)': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await tracks.execute(work));
  },
  'tracks success (fixed window)': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await tracksFixed.execute(work));
  },
  'tracks success (no window)': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await tracksNoWindow.execute(work));
  },
  'cockatiel success': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await cockatiel.execute(work));
  },
  'opossum success (timeout off)': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await opossumOff.fire());
  },
  'opossum success (defaults)': async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await opossumDefault.fire());
  },
  'raw 10% failures': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        do_not_optimize(await tenPercent());
      } catch {}
    }
  },
  'tracks 10% failures': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        do_not_optimize(await tracks10.execute(tenPercent));
      } catch {}
    }
  },
  'cockatiel 10% failures': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        do_not_optimize(await cockatiel10.execute(tenPercent));
      } catch {}
    }
  },
  'opossum 10% failures (timeout off)': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        do_not_optimize(await opossumOff10.fire());
      } catch {}
    }
  },
  'opossum 10% failures (defaults)': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        do_not_optimize(await opossumDefault10.fire());
      } catch {}
    }
  },
  'bare rejected promise': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        await Promise.reject(boom);
      } catch (error) {
        do_not_optimize(error);
      }
    }
  },
  'tracks open rejection': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        await tracksOpen.execute(work);
      } catch (error) {
        do_not_optimize(error);
      }
    }
  },
  'cockatiel open rejection': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        await cockatielOpen.execute(work);
      } catch (error) {
        do_not_optimize(error);
      }
    }
  },
  'opossum open rejection': async () => {
    for (let i = 0; i < BATCH; i++) {
      try {
        await opossumOpen.fire();
      } catch (error) {
        do_not_optimize(error);
      }
    }
  },
  'raw 1000 concurrent': () => concurrent((fn) => fn()),
  'tracks 1000 concurrent': () => concurrent((fn) => tracks.execute(fn)),
  'cockatiel 1000 concurrent': () => concurrent((fn) => cockatiel.execute(fn)),
  'opossum 1000 concurrent (timeout off)': () => concurrent((fn) => opossumConcurrent.fire(fn)),
};
for (const w of windows) {
  cases[`tracks success, ${w.buckets} buckets`] = async () => {
    for (let i = 0; i < BATCH; i++) do_not_optimize(await w.breaker.execute(work));
  };
}
const opossumConcurrent = makeOpossum((fn) => fn(), false);

// 1000 calls in flight at once, all released together
async function concurrent(run) {
  let release;
  const gate = new Promise((resolve) => {
    release = resolve;
  });
  const fn = () => gate;
  const calls = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) calls[i] = run(fn);
  release(value);
  do_not_optimize(await Promise.all(calls));
}

// --- heap per breaker ------------------------------------------------------------------------
// heap plus array buffers (a rolling window's buckets live in one), median of three tries
function heapPerInstance(make, count = 10_000) {
  if (typeof globalThis.gc !== 'function') return Number.NaN;
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const tries = [];
  for (let t = 0; t < 3; t++) {
    const keep = new Array(count);
    globalThis.gc();
    globalThis.gc();
    const before = used();
    for (let i = 0; i < count; i++) keep[i] = make();
    globalThis.gc();
    globalThis.gc();
    tries.push((used() - before) / count);
    do_not_optimize(keep);
  }
  return median(tries);
}

// --- run -------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// [what, numerator case, denominator case, target]: both cases of a ratio are measured one right
// after the other, so a change of load on the machine between them stays small
const ratios = [
  ['success path vs raw await fn(), fixed window', 'tracks success (fixed window)', 'raw', '<= 1.8'],
  ['success path vs raw await fn(), rolling window', 'tracks success (rolling 10 buckets)', 'raw', '<= 1.8'],
  ['success path vs raw await fn(), no window (no clock read)', 'tracks success (no window)', 'raw', '-'],
  ['throughput vs cockatiel', 'cockatiel success', 'tracks success (rolling 10 buckets)', '>= 1.3'],
  [
    'throughput vs opossum, timeout off',
    'opossum success (timeout off)',
    'tracks success (rolling 10 buckets)',
    '>= 3.5',
  ],
  [
    'throughput vs opossum, defaults',
    'opossum success (defaults)',
    'tracks success (rolling 10 buckets)',
    '>= 5',
  ],
  ['10% failures vs raw', 'tracks 10% failures', 'raw 10% failures', '-'],
  ['10% failures: throughput vs cockatiel', 'cockatiel 10% failures', 'tracks 10% failures', '-'],
  [
    '10% failures: throughput vs opossum, timeout off',
    'opossum 10% failures (timeout off)',
    'tracks 10% failures',
    '-',
  ],
  [
    '10% failures: throughput vs opossum, defaults',
    'opossum 10% failures (defaults)',
    'tracks 10% failures',
    '-',
  ],
  ['open rejection vs bare rejected promise', 'tracks open rejection', 'bare rejected promise', '<= 1.2'],
  ['open rejection: throughput vs cockatiel', 'cockatiel open rejection', 'tracks open rejection', '-'],
  ['open rejection: throughput vs opossum', 'opossum open rejection', 'tracks open rejection', '-'],
  ['1000 concurrent vs raw', 'tracks 1000 concurrent', 'raw 1000 concurrent', '-'],
  [
    '1000 concurrent: throughput vs cockatiel',
    'cockatiel 1000 concurrent',
    'tracks 1000 concurrent',
    '>= 1.5',
  ],
  [
    '1000 concurrent: throughput vs opossum',
    'opossum 1000 concurrent (timeout off)',
    'tracks 1000 concurrent',
    '-',
  ],
  ...windows
    .slice(1)
    .map((w) => [
      `window of ${w.buckets} buckets vs 10 buckets`,
      `tracks success, ${w.buckets} buckets`,
      'tracks success, 10 buckets',
      '~1 (constant)',
    ]),
];

// BENCH_FILTER=raw runs only the ratios whose name contains "raw" (and skips the heap figures)
const filter = process.env.BENCH_FILTER;
if (filter) ratios.splice(0, ratios.length, ...ratios.filter(([name]) => name.includes(filter)));
const perCall = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const perRatio = ratios.map(() => []);
async function sample(name) {
  if (name.includes('open rejection')) await tripAll();
  if (name.startsWith('opossum 10%')) freshOpossums();
  const stats = await measure(cases[name], OPTIONS);
  const ns = stats.p50 / BATCH;
  perCall[name].push(ns);
  return ns;
}
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, [, a, b]] of ratios.entries()) {
    const x = await sample(a);
    const y = await sample(b);
    perRatio[i].push(x / y);
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}

console.log(`\nnode ${process.version}, ${ROUNDS} rounds, ${BATCH} calls per sample; ns per call (median)\n`);
for (const [name, xs] of Object.entries(perCall)) {
  if (xs.length > 0) console.log(`${name.padEnd(44)} ${median(xs).toFixed(1).padStart(9)} ns`);
}

const heap = filter
  ? {}
  : {
      'tracks (fixed window)': heapPerInstance(() => makeTracks(tracksFixedSettings)),
      'tracks (rolling, 10 buckets)': heapPerInstance(() => makeTracks()),
      cockatiel: heapPerInstance(makeCockatiel),
      'opossum (timeout off)': heapPerInstance(() => makeOpossum(work, false), 2_000),
    };
console.log('\nheap + array buffer bytes per breaker (10 000 instances; opossum 2 000: each starts a timer)');
for (const [name, bytes] of Object.entries(heap))
  console.log(`${name.padEnd(44)} ${bytes.toFixed(0).padStart(9)} B`);

console.log('\nratios (median of the per-round ratios of adjacent measurements)');
for (const [i, [name, , , target]] of ratios.entries()) {
  console.log(`${name.padEnd(56)} ${median(perRatio[i]).toFixed(2).padStart(7)}x   target ${target}`);
}
// a filtered run measures no heap figures
if (!filter) {
  console.log(
    `${'bytes per breaker, fixed window'.padEnd(56)} ${heap['tracks (fixed window)'].toFixed(0).padStart(7)}    target <= 400`,
  );
}

for (const breaker of opossums) breaker.shutdown();
