// Cost of @tracks/metrics on the breaker's success path, in one process:
//   bare       CircuitBreaker.execute(() => 1), nobody observing
//   listeners  the same with a no-op listener on each of the five events: the breaker's own cost
//              of emitting (event object, clock read for durationMs), before any metrics work
//   counters   the same, observed by createMetrics({ durations: false })  (counters + state)
//   durations  the same, observed by createMetrics()                      (+ duration histogram)
// and, for reference, what the same bookkeeping costs through prom-client's own label children
// (Counter.inc and Histogram.observe with labels), and one scrape of 10 observed services.
//
// The machine is shared, so the figures are paired: each round times one chunk of every variant
// back to back (in a rotating order), the cost over bare is taken within the round, a run's figure
// is the median over its rounds, and the result is the median of 3 runs.
//
// Run: pnpm --filter @tracks/metrics bench   (builds first through turbo: `npx turbo run bench --filter=@tracks/metrics`)
import { CircuitBreaker } from '@tracks/breaker';
import { Counter, Histogram, Registry } from 'prom-client';
import { createMetrics } from '../dist/index.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const RUNS = 3;

const fn = () => 1;

function breaker(name, options) {
  const b = new CircuitBreaker({ name, timeout: 30_000, interval: 10_000 });
  if (options !== undefined) createMetrics({ registry: new Registry(), ...options }).observe(b);
  return b;
}

function withNoopListeners(b) {
  const noop = () => {};
  for (const on of ['onStateChange', 'onSuccess', 'onFailure', 'onExclusion', 'onReject']) b[on](noop);
  return b;
}

const variants = {
  bare: breaker('email:bare'),
  listeners: withNoopListeners(breaker('email:listeners')),
  counters: breaker('email:counters', { durations: false }),
  durations: breaker('email:durations', {}),
};

async function timeBreaker(b) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await b.execute(fn);
  return Number(process.hrtime.bigint() - start) / CALLS;
}

const refRegistry = new Registry();
const refCounter = new Counter({
  name: 'ref_requests_total',
  help: 'reference',
  labelNames: ['service', 'result'],
  registers: [refRegistry],
});
const refHistogram = new Histogram({
  name: 'ref_duration_seconds',
  help: 'reference',
  labelNames: ['service', 'result'],
  registers: [refRegistry],
});
const labels = { service: 'email:ses', result: 'success' };

function timeSync(body) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) body(i);
  return Number(process.hrtime.bigint() - start) / CALLS;
}

const references = {
  'prom-client Counter.inc(labels)': () => timeSync(() => refCounter.inc(labels)),
  'prom-client Histogram.observe(labels)': () =>
    timeSync((i) => refHistogram.observe(labels, (i % 100) / 1000)),
};

async function scrapeCost() {
  const registry = new Registry();
  const metrics = createMetrics({ registry });
  const breakers = Array.from({ length: 10 }, (_, i) => new CircuitBreaker({ name: `svc:${i}` }));
  for (const b of breakers) {
    metrics.observe(b);
    for (let i = 0; i < 100; i++) await b.execute(fn);
  }
  const n = 200;
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes = (await registry.metrics()).length;
  return { usPerScrape: Number(process.hrtime.bigint() - start) / n / 1000, bytes };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// warm-up: let every path reach the optimizing tier before measuring
for (const b of Object.values(variants)) await timeBreaker(b);
for (const ref of Object.values(references)) ref();

const runs = [];
const order = Object.keys(variants);
for (let run = 0; run < RUNS; run++) {
  const samples = Object.fromEntries([...order, ...Object.keys(references)].map((k) => [k, []]));
  const overBare = { listeners: [], counters: [], durations: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const t = {};
    for (let i = 0; i < order.length; i++) {
      const name = order[(i + round) % order.length];
      t[name] = await timeBreaker(variants[name]);
      samples[name].push(t[name]);
    }
    overBare.listeners.push(t.listeners - t.bare);
    overBare.counters.push(t.counters - t.bare);
    overBare.durations.push(t.durations - t.bare);
    if (round % 4 === 0) for (const [name, ref] of Object.entries(references)) samples[name].push(ref());
  }
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  m.overListeners = median(overBare.listeners);
  m.overCounters = median(overBare.counters);
  m.overDurations = median(overBare.durations);
  runs.push(m);
  console.log(
    `run ${run + 1}: bare ${m.bare.toFixed(1)} ns, no-op listeners +${m.overListeners.toFixed(1)}, counters ${m.counters.toFixed(1)} ns (+${m.overCounters.toFixed(1)}), ` +
      `durations ${m.durations.toFixed(1)} ns (+${m.overDurations.toFixed(1)})`,
  );
}

const overKey = { listeners: 'overListeners', counters: 'overCounters', durations: 'overDurations' };
const over = (k) => median(runs.map((r) => r[overKey[k]]));
const abs = (k) => median(runs.map((r) => r[k]));
const scrape = await scrapeCost();
console.log(
  `\nnode ${process.version}, ${CALLS} calls x ${ROUNDS} rounds x ${RUNS} runs; medians of the 3 runs`,
);
console.table({
  'bare breaker': { 'ns/call': abs('bare').toFixed(1), 'over bare (ns)': '-' },
  'no-op listeners (breaker emitting)': {
    'ns/call': abs('listeners').toFixed(1),
    'over bare (ns)': over('listeners').toFixed(1),
  },
  'instrumented: counters + state': {
    'ns/call': abs('counters').toFixed(1),
    'over bare (ns)': over('counters').toFixed(1),
  },
  'instrumented: + durations': {
    'ns/call': abs('durations').toFixed(1),
    'over bare (ns)': over('durations').toFixed(1),
  },
  ...Object.fromEntries(
    Object.keys(references).map((k) => [
      k,
      { 'ns/call': abs(k).toFixed(1), 'over bare (ns)': '(reference)' },
    ]),
  ),
});
console.log(
  `scrape of 10 observed services: ${scrape.usPerScrape.toFixed(1)} µs, ${scrape.bytes} bytes of text`,
);
const target = 150;
const ok = over('counters') <= target;
console.log(`target counters + state <= ${target} ns over bare: ${ok ? 'met' : 'NOT met'}`);
