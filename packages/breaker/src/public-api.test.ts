// The names issues 2 and 3 fix, imported from the package entry as other packages use them.
// @tracks/redis, @tracks/outbox, @tracks/metrics and the demo code against these: a rename, a
// dropped export or a changed field fails here at runtime, and under `tsc --noEmit` for types.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  Backoff,
  Breaker,
  BreakerSnapshot,
  Counts,
  Disposer,
  ExclusionEvent,
  ExecuteContext,
  ExecuteOptions,
  ExecuteResult,
  FailureEvent,
  GiveUpEvent,
  Policy,
  PolicyGiveUpEvent,
  RejectEvent,
  ResilienceOptions,
  RetryOptions,
  Settings,
  StateChangeEvent,
  SuccessEvent,
} from './index.js';
import * as api from './index.js';
import {
  BreakerRegistry,
  CircuitBreaker,
  OpenStateError,
  ProviderError,
  State,
  TimeoutError,
  TooManyRequestsError,
  TwoStepCircuitBreaker,
} from './index.js';

const runtimeNames = [
  'State',
  'CircuitBreaker',
  'TwoStepCircuitBreaker',
  'OpenStateError',
  'TooManyRequestsError',
  'isOpenStateError',
  'isTooManyRequestsError',
  'isBreakerRejection',
  'ProviderError',
  'isProviderError',
  'isMessageScoped',
  'summarizeError',
  'Emitter',
  'isRetryable',
  'shouldFailover',
  'parseRetryAfter',
  'TimeoutError',
  'isTimeoutError',
  'withTimeout',
  'retry',
  'exponentialBackoff',
  'constantBackoff',
  'resilience',
  'isPolicy',
  'asPolicy',
  'BreakerRegistry',
  'failureRatio',
  'consecutiveFailures',
  'presets',
  'serviceBreakers',
] as const;

describe('@tracks/breaker public API', () => {
  it('exports every fixed name', () => {
    // a plain copy of the module namespace, to look names up by string
    const exported: Record<string, unknown> = { ...api };
    const missing = runtimeNames.filter((name) => exported[name] === undefined);
    expect(missing).toEqual([]);
    for (const name of runtimeNames) {
      if (name !== 'State' && name !== 'presets') expect(typeof exported[name], name).toBe('function');
    }
  });

  it('keeps State values and the Counts fields', () => {
    expect(State).toEqual({ Closed: 'closed', HalfOpen: 'half-open', Open: 'open' });
    expectTypeOf<State>().toEqualTypeOf<'closed' | 'half-open' | 'open'>();
    expectTypeOf<keyof Counts>().toEqualTypeOf<
      | 'requests'
      | 'totalSuccesses'
      | 'totalFailures'
      | 'totalExclusions'
      | 'consecutiveSuccesses'
      | 'consecutiveFailures'
    >();
    expect(Object.keys(new CircuitBreaker().counts).sort()).toEqual([
      'consecutiveFailures',
      'consecutiveSuccesses',
      'requests',
      'totalExclusions',
      'totalFailures',
      'totalSuccesses',
    ]);
  });

  it('keeps the Settings fields', () => {
    expectTypeOf<keyof Settings>().toEqualTypeOf<
      | 'name'
      | 'maxRequests'
      | 'interval'
      | 'bucketPeriod'
      | 'timeout'
      | 'readyToTrip'
      | 'onStateChange'
      | 'isSuccessful'
      | 'isExcluded'
      | 'probeTimeout'
      | 'now'
    >();
    const settings = {
      name: 'x',
      maxRequests: 1,
      interval: 1,
      bucketPeriod: 1,
      timeout: 1,
      readyToTrip: (counts: Counts) => counts.consecutiveFailures > 1,
      onStateChange: (_name: string, _from: State, _to: State) => {},
      isSuccessful: (_error: unknown) => false,
      isExcluded: (_error: unknown) => false,
      probeTimeout: 1,
      now: () => 0,
    } satisfies Settings;
    expect(new CircuitBreaker(settings).name).toBe('x');
  });

  it('keeps the CircuitBreaker and TwoStepCircuitBreaker members', () => {
    const shared = [
      'snapshot',
      'restore',
      'isolate',
      'reset',
      'onStateChange',
      'onSuccess',
      'onFailure',
      'onExclusion',
      'onReject',
    ] as const;
    const breaker = new CircuitBreaker({ name: 'b' });
    const twoStep = new TwoStepCircuitBreaker({ name: 't' });
    for (const member of shared) {
      expect(typeof breaker[member], member).toBe('function');
      expect(typeof twoStep[member], member).toBe('function');
    }
    expect([typeof breaker.execute, typeof breaker.tryExecute, typeof twoStep.allow]).toEqual([
      'function',
      'function',
      'function',
    ]);
    for (const b of [breaker, twoStep]) {
      expect(b.state).toBe('closed');
      expect(b.counts.requests).toBe(0);
    }
    expect([breaker.name, twoStep.name]).toEqual(['b', 't']);
    expectTypeOf(breaker.execute<number>).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(breaker.tryExecute<number>).returns.toEqualTypeOf<Promise<ExecuteResult<number>>>();
    expectTypeOf(breaker.onSuccess).returns.toEqualTypeOf<Disposer>();
    expectTypeOf(twoStep.allow).returns.toEqualTypeOf<(error?: unknown) => void>();
    expectTypeOf(breaker.snapshot).returns.toEqualTypeOf<BreakerSnapshot>();
    expectTypeOf<CircuitBreaker>().toExtend<Breaker>();
  });

  it('keeps the event shapes', () => {
    expectTypeOf<StateChangeEvent>().toExtend<{ name: string; from: State; to: State }>();
    expectTypeOf<SuccessEvent>().toExtend<{ name: string; state: State; durationMs: number }>();
    expectTypeOf<FailureEvent>().toExtend<{
      name: string;
      state: State;
      error: unknown;
      durationMs?: number;
    }>();
    expectTypeOf<ExclusionEvent>().toExtend<{
      name: string;
      state: State;
      error: unknown;
      durationMs?: number;
    }>();
    // optional, so the Redis breaker's events (which leave it out) still fit
    expectTypeOf({ name: '', state: State.Closed, error: 1 }).toExtend<FailureEvent>();
    expectTypeOf<RejectEvent>().toExtend<{ name: string; reason: 'open' | 'too-many-requests' }>();
  });

  it('keeps the rejection messages, fields and guards', async () => {
    const breaker = new CircuitBreaker({ name: 'email:ses', timeout: 1000, now: () => 0 });
    breaker.isolate();
    const open = await breaker.execute(() => 1).catch((error: unknown) => error);
    expect(open).toBeInstanceOf(OpenStateError);
    expect(open).toMatchObject({ message: 'circuit breaker is open', breaker: 'email:ses' });
    expect(typeof (open as OpenStateError).retryAfterMs).toBe('number');
    const busy = new TooManyRequestsError({ breaker: 'sms', retryAfterMs: 5 });
    expect(busy).toMatchObject({ message: 'too many requests', breaker: 'sms', retryAfterMs: 5 });
    expect(new OpenStateError({ breaker: 'b', retryAfterMs: 1 }).message).toBe('circuit breaker is open');
    expect([
      api.isOpenStateError(open),
      api.isBreakerRejection(open),
      api.isTooManyRequestsError(open),
    ]).toEqual([true, true, false]);
    expect([api.isTooManyRequestsError(busy), api.isBreakerRejection(busy)]).toEqual([true, true]);
  });

  it('keeps the ProviderError fields and the taxonomy helpers', () => {
    const error = new ProviderError({
      kind: 'throttled',
      provider: 'ses',
      operation: 'send',
      retryAfterMs: 100,
      status: 429,
    });
    expect(error).toMatchObject({
      kind: 'throttled',
      scope: 'provider',
      retryable: true,
      retryAfterMs: 100,
      provider: 'ses',
      operation: 'send',
      status: 429,
    });
    expect(api.isProviderError(error)).toBe(true);
    expect(api.isRetryable(error)).toBe(true);
    expect(api.shouldFailover(error)).toBe(true);
    expect(api.parseRetryAfter('2')).toBe(2000);
    expect(api.parseRetryAfter('nonsense')).toBeUndefined();
    expect(api.isTimeoutError(new TimeoutError(10))).toBe(true);
    expectTypeOf(api.parseRetryAfter).parameters.toEqualTypeOf<
      [value: string | number | null | undefined, now?: number]
    >();
  });

  it('keeps the retry, backoff, timeout and policy options', async () => {
    expectTypeOf<keyof RetryOptions>().toEqualTypeOf<
      | 'maxRetries'
      | 'maxElapsed'
      | 'backoff'
      | 'retryIf'
      | 'signal'
      | 'onRetry'
      | 'onGiveUp'
      | 'now'
      | 'sleep'
    >();
    expectTypeOf<GiveUpEvent>().toExtend<{ attempts: number; error: unknown; aborted: boolean }>();
    expectTypeOf<PolicyGiveUpEvent>().toExtend<{
      name: string;
      attempts: number;
      error: unknown;
      aborted: boolean;
    }>();
    expectTypeOf<ResilienceOptions>().toExtend<{
      retry?: RetryOptions | false;
      breaker?: Breaker | Settings | false;
      timeout?: number;
      idempotent?: boolean;
      retryAmbiguous?: boolean;
    }>();
    expectTypeOf<keyof ExecuteContext>().toEqualTypeOf<'signal' | 'attempt'>();
    expectTypeOf<ExecuteOptions>().toExtend<{ signal?: AbortSignal; idempotent?: boolean }>();
    expectTypeOf(api.exponentialBackoff).returns.toEqualTypeOf<Backoff>();
    expect(
      api.exponentialBackoff({ initial: 1000, factor: 2, max: 30_000, jitter: 'none' })(3, undefined),
    ).toBe(4000);
    expect(api.constantBackoff(50)(7, undefined)).toBe(50);
    expect(await api.withTimeout(async () => 'ok', 1000)).toBe('ok');
    expect(await api.retry(async ({ attempt }) => attempt, { maxRetries: 0 })).toBe(1);

    const policy: Policy = api.resilience({ retry: false, breaker: { name: 'p' }, timeout: 1000 });
    expect(api.isPolicy(policy)).toBe(true);
    expect(api.asPolicy(policy)).toBe(policy);
    expect(policy.breaker?.name).toBe('p');
    for (const member of ['execute', 'onRetry', 'onGiveUp', 'onSuccess'] as const) {
      expect(typeof policy[member], member).toBe('function');
    }
    expect(await policy.execute(({ attempt }) => Promise.resolve(attempt))).toBe(1);
  });

  it('keeps the registry, trip helpers, presets and serviceBreakers', () => {
    const registry = new BreakerRegistry();
    const created: string[] = [];
    registry.onCreate(({ breaker }) => created.push(breaker.name));
    const ses = registry.get('email:ses', api.presets.email);
    expect(registry.get('email:ses')).toBe(ses);
    expect(registry.all()).toEqual([ses]);
    expect(Object.keys(registry.snapshot())).toEqual(['email:ses']);
    expect(created).toEqual(['email:ses']);

    const counts = {
      ...ses.counts,
      requests: 10,
      totalFailures: 5,
      totalSuccesses: 5,
      consecutiveFailures: 3,
    };
    expect(api.failureRatio({ ratio: 0.5, minRequests: 10 })(counts)).toBe(true);
    expect(api.consecutiveFailures(3)(counts)).toBe(true);
    expect(Object.keys(api.presets).sort()).toEqual(['email', 'sms', 'storage']);
    const breakers = api.serviceBreakers();
    expect(Object.keys(breakers).sort()).toEqual(['email', 'sms', 'storage']);
    expect(breakers.email).toBeInstanceOf(CircuitBreaker);
  });
});
