import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { isOpenStateError, isTooManyRequestsError } from './rejections.js';
import type { Counts, State } from './state.js';
import { TwoStepCircuitBreaker } from './two-step.js';

// Locally every run draws new cases (that is how a model bug was found); CI pins the seed so its
// verdict is about the code, not the draw. FC_SEED reproduces a run either way.
const pinnedSeed = process.env.FC_SEED ?? (process.env.CI ? '20261203' : undefined);
if (pinnedSeed !== undefined) fc.configureGlobal({ seed: Number(pinnedSeed) });

// A deliberately naive reference model of gobreaker v2's state machine, written from its Go
// source (gobreaker.go, counter.go) as directly as possible: buckets in a plain array, the
// consecutive-count bookkeeping of `subtract` with its loop over the other buckets, every
// transition applied by `current(now)`. The breaker under test must agree with it on every
// admission, state and count, for random sequences of calls, outcomes and clock steps.

type Outcome = 'success' | 'failure' | 'excluded';
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type ModelCounts = Mutable<Counts>;

const zero = (): ModelCounts => ({
  requests: 0,
  totalSuccesses: 0,
  totalFailures: 0,
  totalExclusions: 0,
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
});

interface ModelSettings {
  maxRequests: number;
  interval: number;
  bucketPeriod: number;
  timeout: number;
  trip: { kind: 'consecutive'; n: number } | { kind: 'ratio'; ratio: number; min: number };
}

function tripFunction(settings: ModelSettings): (c: Counts) => boolean {
  const t = settings.trip;
  if (t.kind === 'consecutive') return (c) => c.consecutiveFailures >= t.n;
  return (c) => {
    const n = c.requests - c.totalExclusions;
    return n >= t.min && c.totalFailures / n >= t.ratio;
  };
}

class Model {
  state: State = 'closed';
  generation = 0;
  counts = zero();
  buckets: ModelCounts[];
  age = 0;
  start = 0;
  expiry = Number.POSITIVE_INFINITY;
  transitions: string[] = [];
  readonly maxRequests: number;
  readonly interval: number;
  readonly bucketPeriod: number;
  readonly timeout: number;
  readonly trip: (c: Counts) => boolean;

  constructor(s: ModelSettings, now: number) {
    this.maxRequests = Math.max(1, s.maxRequests);
    if (s.interval > 0 && s.bucketPeriod > 0) {
      const n = Math.ceil(s.interval / s.bucketPeriod);
      this.interval = n * s.bucketPeriod;
      this.bucketPeriod = n > 1 ? s.bucketPeriod : 0;
      this.buckets = Array.from({ length: n > 1 ? n : 0 }, zero);
    } else {
      this.interval = Math.max(0, s.interval);
      this.bucketPeriod = 0;
      this.buckets = [];
    }
    this.timeout = s.timeout <= 0 ? 60_000 : s.timeout;
    this.trip = tripFunction(s);
    this.newGeneration(now);
  }

  newGeneration(now: number): void {
    this.generation++;
    this.start = now;
    this.counts = zero();
    this.age = 0;
    this.buckets = this.buckets.map(zero);
    if (this.state === 'open') this.expiry = now + this.timeout;
    else if (this.state === 'closed' && this.interval > 0 && this.buckets.length === 0)
      this.expiry = now + this.interval;
    else this.expiry = Number.POSITIVE_INFINITY;
  }

  setState(to: State, now: number): void {
    if (this.state === to) return;
    this.transitions.push(`${this.state}->${to}`);
    this.state = to;
    this.newGeneration(now);
  }

  current(now: number): State {
    if (this.state === 'closed') {
      if (now >= this.expiry) this.newGeneration(now);
      else if (this.buckets.length >= 2)
        this.grow(Math.max(0, Math.floor((now - this.start) / this.bucketPeriod)));
    } else if (this.state === 'open' && now >= this.expiry) {
      this.setState('half-open', now);
    }
    return this.state;
  }

  grow(age: number): void {
    if (age <= this.age) return;
    if (age - this.age >= this.buckets.length) {
      this.counts = zero();
      this.buckets = this.buckets.map(zero);
      this.age = age;
      return;
    }
    while (this.age < age) {
      this.age++;
      const n = this.buckets.length;
      const oldest = this.age % n;
      const b = this.buckets[oldest]!;
      let successes = b.consecutiveSuccesses;
      let failures = b.consecutiveFailures;
      for (let i = 1; i < n; i++) {
        successes += this.buckets[(oldest + i) % n]!.totalSuccesses;
        failures += this.buckets[(oldest + i) % n]!.totalFailures;
      }
      const c = this.counts;
      if (c.consecutiveSuccesses === successes)
        c.consecutiveSuccesses = Math.max(0, c.consecutiveSuccesses - b.consecutiveSuccesses);
      if (c.consecutiveFailures === failures)
        c.consecutiveFailures = Math.max(0, c.consecutiveFailures - b.consecutiveFailures);
      c.requests = Math.max(0, c.requests - b.requests);
      c.totalSuccesses = Math.max(0, c.totalSuccesses - b.totalSuccesses);
      c.totalFailures = Math.max(0, c.totalFailures - b.totalFailures);
      c.totalExclusions = Math.max(0, c.totalExclusions - b.totalExclusions);
      this.buckets[oldest] = zero();
    }
  }

  bucketFor(age: number): ModelCounts | undefined | null {
    if (age > this.age || this.age - age >= Math.max(1, this.buckets.length)) return null; // rolled out
    return this.buckets.length === 0 ? undefined : this.buckets[age % this.buckets.length];
  }

  admit(now: number): { generation: number; age: number } | 'open' | 'busy' {
    const state = this.current(now);
    if (state === 'open') return 'open';
    if (state === 'half-open' && this.counts.requests - this.counts.totalExclusions >= this.maxRequests)
      return 'busy';
    this.counts.requests++;
    const bucket = this.bucketFor(this.age);
    if (bucket) bucket.requests++;
    return { generation: this.generation, age: this.age };
  }

  done(ticket: { generation: number; age: number }, outcome: Outcome, now: number): void {
    const state = this.current(now);
    if (ticket.generation !== this.generation) return;
    const bucket = this.bucketFor(ticket.age);
    if (bucket === null) {
      // gobreaker's onFailure asks readyToTrip even when the failure's bucket has rolled out (the
      // counts may have come to trip through the roll alone, and a failure is what asks)
      if (outcome === 'failure' && state === 'closed' && this.trip({ ...this.counts })) {
        this.setState('open', now);
      }
      return;
    }
    const c = this.counts;
    if (outcome === 'excluded') {
      c.totalExclusions++;
      if (bucket) bucket.totalExclusions++;
      return;
    }
    if (outcome === 'success') {
      c.totalSuccesses++;
      c.consecutiveSuccesses++;
      c.consecutiveFailures = 0;
      if (bucket) {
        bucket.totalSuccesses++;
        bucket.consecutiveSuccesses++;
        bucket.consecutiveFailures = 0;
      }
      if (state === 'half-open' && c.consecutiveSuccesses >= this.maxRequests) this.setState('closed', now);
      return;
    }
    if (state === 'half-open') {
      this.setState('open', now);
      return;
    }
    c.totalFailures++;
    c.consecutiveFailures++;
    c.consecutiveSuccesses = 0;
    if (bucket) {
      bucket.totalFailures++;
      bucket.consecutiveFailures++;
      bucket.consecutiveSuccesses = 0;
    }
    if (this.trip({ ...c })) this.setState('open', now);
  }
}

type Command =
  | { kind: 'start' }
  | { kind: 'finish'; index: number; outcome: Outcome }
  | { kind: 'advance'; ms: number }
  | { kind: 'state' };

const settingsArb: fc.Arbitrary<ModelSettings> = fc.record({
  maxRequests: fc.integer({ min: -1, max: 4 }),
  interval: fc.constantFrom(0, 1_000, 10_000),
  bucketPeriod: fc.constantFrom(0, 100, 1_000, 3_000),
  timeout: fc.integer({ min: 1, max: 5_000 }),
  trip: fc.oneof(
    fc.record({ kind: fc.constant('consecutive' as const), n: fc.integer({ min: 1, max: 6 }) }),
    fc.record({
      kind: fc.constant('ratio' as const),
      ratio: fc.constantFrom(0.3, 0.5, 0.8),
      min: fc.integer({ min: 1, max: 8 }),
    }),
  ),
});

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'start' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      index: fc.nat(),
      outcome: fc.constantFrom<Outcome>('success', 'failure', 'excluded'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4_000 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'state' as const }) },
);

const failure = new Error('failure');
const excluded = new Error('excluded');
const errorFor = (outcome: Outcome) => (outcome === 'failure' ? failure : excluded);

function breakerSettings(s: ModelSettings, now: () => number, transitions: string[]) {
  return {
    name: 'p',
    maxRequests: s.maxRequests,
    interval: s.interval,
    bucketPeriod: s.bucketPeriod,
    timeout: s.timeout,
    probeTimeout: 0, // the model is gobreaker's: probes hold their slots until they complete
    readyToTrip: tripFunction(s),
    isExcluded: (e: unknown) => e === excluded,
    onStateChange: (_: string, from: State, to: State) => transitions.push(`${from}->${to}`),
    now,
  };
}

function checkInvariants(c: Counts): void {
  for (const value of Object.values(c)) expect(value).toBeGreaterThanOrEqual(0);
  expect(c.totalSuccesses + c.totalFailures + c.totalExclusions).toBeLessThanOrEqual(c.requests);
  expect(c.consecutiveSuccesses === 0 || c.consecutiveFailures === 0).toBe(true);
}

function checkSnapshot(breaker: CircuitBreaker | TwoStepCircuitBreaker, bucketed: boolean): void {
  const snapshot = breaker.snapshot();
  const copy = JSON.parse(JSON.stringify(snapshot));
  expect(copy).toEqual(snapshot);
  if (bucketed && snapshot.state === 'closed') {
    for (const key of ['requests', 'totalSuccesses', 'totalFailures', 'totalExclusions'] as const) {
      expect(snapshot.buckets.reduce((sum, b) => sum + b[key], 0)).toBe(snapshot.counts[key]);
    }
  }
}

describe('CircuitBreaker against a reference model of gobreaker', () => {
  it('agrees on every admission, state, count and transition (TwoStep, synchronous)', () => {
    fc.assert(
      fc.property(
        settingsArb,
        fc.array(commandArb, { minLength: 20, maxLength: 150 }),
        (settings, commands) => {
          let t = 10_000;
          const transitions: string[] = [];
          const breaker = new TwoStepCircuitBreaker(breakerSettings(settings, () => t, transitions));
          const model = new Model(settings, t);
          const inFlight: { done: (e?: unknown) => void; ticket: { generation: number; age: number } }[] = [];
          for (const command of commands) {
            if (command.kind === 'start') {
              const expected = model.admit(t);
              let done: ((e?: unknown) => void) | undefined;
              let error: unknown;
              try {
                done = breaker.allow();
              } catch (e) {
                error = e;
              }
              if (expected === 'open') expect(isOpenStateError(error)).toBe(true);
              else if (expected === 'busy') expect(isTooManyRequestsError(error)).toBe(true);
              else {
                expect(error).toBeUndefined();
                inFlight.push({ done: done!, ticket: expected });
              }
            } else if (command.kind === 'finish') {
              if (inFlight.length === 0) continue;
              const [call] = inFlight.splice(command.index % inFlight.length, 1);
              model.done(call!.ticket, command.outcome, t);
              call!.done(command.outcome === 'success' ? undefined : errorFor(command.outcome));
            } else if (command.kind === 'advance') {
              t += command.ms;
            }
            // read the state first: like gobreaker's State(), it applies due transitions
            expect(breaker.state).toBe(model.current(t));
            expect(breaker.counts).toEqual(model.counts);
            checkInvariants(breaker.counts);
          }
          expect(transitions).toEqual(model.transitions);
          checkSnapshot(breaker, model.buckets.length > 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('agrees on every admission, state, count and transition (execute, overlapping async calls)', async () => {
    await fc.assert(
      fc.asyncProperty(
        settingsArb,
        fc.array(commandArb, { minLength: 20, maxLength: 80 }),
        async (settings, commands) => {
          let t = 10_000;
          const transitions: string[] = [];
          const breaker = new CircuitBreaker(breakerSettings(settings, () => t, transitions));
          const model = new Model(settings, t);
          const inFlight: {
            settle: (outcome: Outcome) => void;
            result: Promise<unknown>;
            ticket: { generation: number; age: number };
          }[] = [];
          for (const command of commands) {
            if (command.kind === 'start') {
              const expected = model.admit(t);
              let settle!: (outcome: Outcome) => void;
              const gate = new Promise<string>((resolve, reject) => {
                settle = (outcome) => (outcome === 'success' ? resolve('ok') : reject(errorFor(outcome)));
              });
              const result = breaker.execute(() => gate);
              if (expected === 'open') await expect(result).rejects.toSatisfy(isOpenStateError);
              else if (expected === 'busy') await expect(result).rejects.toSatisfy(isTooManyRequestsError);
              else inFlight.push({ settle, result: result.catch((e: unknown) => e), ticket: expected });
            } else if (command.kind === 'finish') {
              if (inFlight.length === 0) continue;
              const [call] = inFlight.splice(command.index % inFlight.length, 1);
              model.done(call!.ticket, command.outcome, t);
              call!.settle(command.outcome);
              const outcome = await call!.result;
              if (command.outcome === 'success') expect(outcome).toBe('ok');
              else expect(outcome).toBe(errorFor(command.outcome)); // rethrown unchanged
            } else if (command.kind === 'advance') {
              t += command.ms;
            }
            expect(breaker.state).toBe(model.current(t));
            expect(breaker.counts).toEqual(model.counts);
            checkInvariants(breaker.counts);
          }
          expect(transitions).toEqual(model.transitions);
          checkSnapshot(breaker, model.buckets.length > 0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('restores a snapshot into a fresh breaker with the same settings, unchanged', () => {
    fc.assert(
      fc.property(
        settingsArb,
        fc.array(commandArb, { minLength: 20, maxLength: 100 }),
        (settings, commands) => {
          let t = 10_000;
          const breaker = new TwoStepCircuitBreaker(breakerSettings(settings, () => t, []));
          const inFlight: ((e?: unknown) => void)[] = [];
          for (const command of commands) {
            if (command.kind === 'start') {
              try {
                inFlight.push(breaker.allow());
              } catch {}
            } else if (command.kind === 'finish' && inFlight.length > 0) {
              const [done] = inFlight.splice(command.index % inFlight.length, 1);
              done!(command.outcome === 'success' ? undefined : errorFor(command.outcome));
            } else if (command.kind === 'advance') {
              t += command.ms;
            }
          }
          const snapshot = breaker.snapshot();
          const copy = new TwoStepCircuitBreaker(breakerSettings(settings, () => t, []));
          copy.restore(JSON.parse(JSON.stringify(snapshot)));
          const again = copy.snapshot();
          expect({ ...again, generation: 0 }).toEqual({ ...snapshot, generation: 0 });
          expect(again.generation).toBeGreaterThanOrEqual(snapshot.generation);
        },
      ),
      { numRuns: 200 },
    );
  });
});
