// Circuit breaker benchmark: tracks vs cockatiel 4 vs opossum 10, in one process.
//
//   node --expose-gc bench/breaker.bench.mjs            (after `npx tsup`: it measures dist/)
//   BENCH_ROUNDS=7 node --expose-gc bench/breaker.bench.mjs
//
// Every case runs BATCH calls per mitata sample, so the harness's own cost per sample is spread
// over a thousand calls. The cases run interleaved for ROUNDS rounds and every ratio is the
// median of the per-round ratios: on a shared, noisy machine a ratio taken within one round is
// far steadier than one taken between two separate measurements.
//
// Config for all three: open at >= 50 % failures of >= 10 requests, 10 s window, 30 s open.
import { circuitBreaker, handleAll, SamplingBreaker } from 'cockatiel';
import { do_not_optimize, measure } from 'mitata';
import Opossum from 'opossum';
import { CircuitBreaker } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = 1000;
const OPTIONS = { min_cpu_time: 150 * 1e6, max_samples: 400, min_samples: 8 };

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
const cockatiel = makeCockatiel();
const opossumOff = makeOpossum(work, false);
const opossumDefault = makeOpossum(work);

const tracks10 = makeTracks();
const cockatiel10 = makeCockatiel();
const opossumOff10 = makeOpossum(tenPercent, false);
const opossumDefault10 = makeOpossum(tenPercent);

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

const perCall = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(cases)) {
    if (name.includes('open rejection')) await tripAll();
    const stats = await measure(fn, OPTIONS);
    perCall[name].push(stats.p50 / BATCH);
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}

const ratio = (a, b) => median(perCall[a].map((x, i) => x / perCall[b][i]));

console.log(
  `\nnode ${process.version}, ${ROUNDS} rounds of ${BATCH} calls per sample; ns per call (median over rounds)\n`,
);
for (const [name, xs] of Object.entries(perCall))
  console.log(`${name.padEnd(44)} ${median(xs).toFixed(1).padStart(9)} ns`);

const heap = {
  'tracks (fixed window)': heapPerInstance(() => makeTracks(tracksFixedSettings)),
  'tracks (rolling, 10 buckets)': heapPerInstance(() => makeTracks()),
  cockatiel: heapPerInstance(makeCockatiel),
  'opossum (timeout off)': heapPerInstance(() => makeOpossum(work, false), 2_000),
};
console.log('\nheap bytes per breaker (10 000 instances; opossum 2 000, it starts a timer each)');
for (const [name, bytes] of Object.entries(heap))
  console.log(`${name.padEnd(44)} ${bytes.toFixed(0).padStart(9)} B`);

const rows = [
  ['success path vs raw await fn() (fixed window)', ratio('tracks success (fixed window)', 'raw'), '<= 1.8'],
  ['success path vs raw await fn() (rolling)', ratio('tracks success (rolling 10 buckets)', 'raw'), '<= 1.8'],
  ['throughput vs cockatiel', ratio('cockatiel success', 'tracks success (rolling 10 buckets)'), '>= 1.3'],
  [
    'throughput vs opossum, timeout off',
    ratio('opossum success (timeout off)', 'tracks success (rolling 10 buckets)'),
    '>= 3.5',
  ],
  [
    'throughput vs opossum, defaults',
    ratio('opossum success (defaults)', 'tracks success (rolling 10 buckets)'),
    '>= 5',
  ],
  ['10% failures vs raw', ratio('tracks 10% failures', 'raw 10% failures'), '-'],
  ['10% failures throughput vs cockatiel', ratio('cockatiel 10% failures', 'tracks 10% failures'), '-'],
  [
    '10% failures throughput vs opossum, timeout off',
    ratio('opossum 10% failures (timeout off)', 'tracks 10% failures'),
    '-',
  ],
  [
    '10% failures throughput vs opossum, defaults',
    ratio('opossum 10% failures (defaults)', 'tracks 10% failures'),
    '-',
  ],
  [
    'open rejection vs bare rejected promise',
    ratio('tracks open rejection', 'bare rejected promise'),
    '<= 1.2',
  ],
  ['open rejection throughput vs cockatiel', ratio('cockatiel open rejection', 'tracks open rejection'), '-'],
  ['open rejection throughput vs opossum', ratio('opossum open rejection', 'tracks open rejection'), '-'],
  ['1000 concurrent vs raw', ratio('tracks 1000 concurrent', 'raw 1000 concurrent'), '-'],
  [
    '1000 concurrent throughput vs cockatiel',
    ratio('cockatiel 1000 concurrent', 'tracks 1000 concurrent'),
    '>= 1.5',
  ],
  [
    '1000 concurrent throughput vs opossum',
    ratio('opossum 1000 concurrent (timeout off)', 'tracks 1000 concurrent'),
    '-',
  ],
  [
    'window size: slowest / fastest of 10..10 000 buckets',
    median(
      perCall[`tracks success, ${windows[0].buckets} buckets`].map((_, i) => {
        const xs = windows.map((w) => perCall[`tracks success, ${w.buckets} buckets`][i]);
        return Math.max(...xs) / Math.min(...xs);
      }),
    ),
    '~1 (constant)',
  ],
];
console.log('\nratios (median of per-round ratios)');
for (const [name, x, target] of rows)
  console.log(`${name.padEnd(56)} ${x.toFixed(2).padStart(6)}x   target ${target}`);
console.log(
  `${'bytes per breaker, fixed window'.padEnd(56)} ${heap['tracks (fixed window)'].toFixed(0).padStart(6)}    target <= 400`,
);

for (const breaker of opossums) breaker.shutdown();
