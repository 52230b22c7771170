// Outside-in: the names issue 4 fixes (the API, the metric families and their labels), imported
// from the built package exactly as a user does and read back from the text exposition.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  BreakerRegistry,
  CircuitBreaker,
  consecutiveFailures,
  constantBackoff,
  resilience,
} from '@tracks/breaker';
import type { Metrics, MetricsOptions } from '@tracks/metrics';
import { createMetrics, metricsHandler } from '@tracks/metrics';
import { Registry } from 'prom-client';
import { describe, expect, expectTypeOf, it } from 'vitest';

const fail = (message: string) => async (): Promise<never> => {
  throw new Error(message);
};

// `name{labels} value` lines of one family, labels as written
function series(text: string, family: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${family}{`) || line.startsWith(`${family} `))
    .map(
      (line) => `${line.slice(0, line.lastIndexOf(' '))} ${Number(line.slice(line.lastIndexOf(' ') + 1))}`,
    );
}

describe('@tracks/metrics public API', () => {
  it('keeps createMetrics({ registry?, prefix?, buckets? }), observe, observeRetry and metricsHandler', () => {
    expectTypeOf<MetricsOptions>().toMatchTypeOf<{
      registry?: unknown;
      prefix?: string;
      buckets?: readonly number[];
    }>();
    expectTypeOf(createMetrics).parameters.toEqualTypeOf<[options?: MetricsOptions]>();
    expectTypeOf<ReturnType<Metrics['observe']>>().toEqualTypeOf<() => void>();
    expectTypeOf<ReturnType<Metrics['observeRetry']>>().toEqualTypeOf<() => void>();
    expect(typeof metricsHandler).toBe('function');
    // the option names, spelled as the issue spells them
    const registry = new Registry();
    const metrics = createMetrics({ registry, prefix: 'app_', buckets: [0.01, 0.1, 1] });
    expect(typeof metrics.observe).toBe('function');
    expect(typeof metrics.observeRetry).toBe('function');
  });

  it('exports every family with the fixed names and labels, the state read at scrape time', async () => {
    let now = 0;
    const registry = new Registry();
    const metrics = createMetrics({ registry, buckets: [0.005, 1] });
    const breaker = new CircuitBreaker({
      name: 'email:ses',
      readyToTrip: consecutiveFailures(2),
      isExcluded: (e) => e instanceof Error && e.message === 'excluded',
      timeout: 60_000,
      now: () => now,
    });
    const stop = metrics.observe(breaker);
    await breaker.execute(async () => 'ok');
    await breaker.execute(fail('excluded')).catch(() => {});
    await breaker.execute(fail('boom')).catch(() => {});
    await breaker.execute(fail('boom')).catch(() => {});
    await breaker.execute(async () => 'rejected').catch(() => {});
    now = 60_000; // the open timeout has passed; no call touches the breaker before the scrape

    const text = await registry.metrics();
    expect(text).toMatch(/# HELP circuit_breaker_state \S/);
    expect(text).toMatch(/# TYPE circuit_breaker_state gauge/);
    expect(series(text, 'circuit_breaker_state')).toEqual(['circuit_breaker_state{service="email:ses"} 1']);
    expect(series(text, 'circuit_breaker_requests_total')).toEqual(
      expect.arrayContaining([
        'circuit_breaker_requests_total{service="email:ses",result="success"} 1',
        'circuit_breaker_requests_total{service="email:ses",result="failure"} 2',
        'circuit_breaker_requests_total{service="email:ses",result="excluded"} 1',
        'circuit_breaker_requests_total{service="email:ses",result="rejected_open"} 1',
        'circuit_breaker_requests_total{service="email:ses",result="rejected_too_many"} 0',
      ]),
    );
    expect(series(text, 'circuit_breaker_state_changes_total')).toEqual(
      expect.arrayContaining([
        'circuit_breaker_state_changes_total{service="email:ses",from="closed",to="open"} 1',
        'circuit_breaker_state_changes_total{service="email:ses",from="open",to="half-open"} 1',
      ]),
    );
    expect(text).toMatch(/# TYPE circuit_breaker_request_duration_seconds histogram/);
    expect(series(text, 'circuit_breaker_request_duration_seconds_count')).toEqual(
      expect.arrayContaining([
        'circuit_breaker_request_duration_seconds_count{service="email:ses",result="success"} 1',
        'circuit_breaker_request_duration_seconds_count{service="email:ses",result="failure"} 2',
        'circuit_breaker_request_duration_seconds_count{service="email:ses",result="excluded"} 1',
      ]),
    );
    expect(text).toContain('circuit_breaker_request_duration_seconds_bucket{le="0.005",service="email:ses"');

    // stop() leaves the counters and stops counting
    stop();
    await breaker.execute(async () => 'ok');
    expect(series(await registry.metrics(), 'circuit_breaker_requests_total')).toContain(
      'circuit_breaker_requests_total{service="email:ses",result="success"} 1',
    );
  });

  it('observes a BreakerRegistry, present and future breakers, and a policy as retry_attempts_total', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, prefix: 'app_' });
    const breakers = new BreakerRegistry();
    breakers.get('sms:sns');
    const stop = metrics.observe(breakers);
    const later = breakers.get('sms:twilio');
    const policy = resilience({ breaker: later, retry: { maxRetries: 1, backoff: constantBackoff(0) } });
    metrics.observeRetry(policy);
    await policy.execute(async () => 'ok');
    let attempts = 0;
    await policy
      .execute(async () => {
        attempts++;
        throw new Error('down');
      })
      .catch(() => {});
    // the caller gives up while the first attempt fails: no retry, the give-up counts as aborted
    const caller = new AbortController();
    await policy
      .execute(
        async () => {
          caller.abort();
          throw new Error('down');
        },
        { signal: caller.signal },
      )
      .catch(() => {});
    // a caller who leaves with a reason of its own: the policy's give-up event says it was an abort
    const shutdown = new AbortController();
    await policy
      .execute(
        async () => {
          shutdown.abort(new Error('shutdown'));
          throw new Error('down');
        },
        { signal: shutdown.signal },
      )
      .catch(() => {});
    const text = await registry.metrics();
    expect(series(text, 'app_circuit_breaker_state')).toEqual([
      'app_circuit_breaker_state{service="sms:sns"} 0',
      'app_circuit_breaker_state{service="sms:twilio"} 0',
    ]);
    expect(attempts).toBe(2);
    expect(series(text, 'app_retry_attempts_total')).toEqual([
      'app_retry_attempts_total{service="sms:twilio",outcome="retry"} 1',
      'app_retry_attempts_total{service="sms:twilio",outcome="success"} 1',
      'app_retry_attempts_total{service="sms:twilio",outcome="exhausted"} 1',
      'app_retry_attempts_total{service="sms:twilio",outcome="aborted"} 2',
    ]);
    stop();
  });

  it('metricsHandler(registry) serves the exposition with its content type', async () => {
    const registry = new Registry();
    createMetrics({ registry }).observe(new CircuitBreaker({ name: 'storage:s3' }));
    const server = createServer(metricsHandler(registry));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(registry.contentType);
      expect(await response.text()).toContain('circuit_breaker_state{service="storage:s3"} 0');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('keeps the published shape: ESM, no side effects, Node >=20.19, dist only, types before default, peers also dev', () => {
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
    );
    expect(manifest).toMatchObject({ type: 'module', sideEffects: false, engines: { node: '>=20.19' } });
    expect(manifest.files).toEqual(['dist', 'dashboards', 'alerts']);
    for (const [path, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
      if (typeof target === 'object' && target !== null)
        expect(Object.keys(target), path).toEqual(['types', 'default']);
    }
    const optional = (manifest.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      expect(manifest.devDependencies?.[peer], peer).toBeDefined();
      // only a ./testing suite's vitest may be optional: a vendor SDK is a required peer
      if (optional[peer]?.optional) expect(peer).toBe('vitest');
    }
  });

  it('starts no timer and holds nothing open when imported', () => {
    // every timer started while importing is recorded, unref'd ones too (those do not show
    // among the active resources); timers and sockets still open afterwards are listed
    const script = `
      import { createRequire, syncBuiltinESMExports } from 'node:module';
      const timers = createRequire(process.cwd() + '/')('node:timers');
      const started = [];
      for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
        const original = timers[name];
        const recorded = function (...args) {
          started.push(name);
          return original.apply(this, args);
        };
        timers[name] = recorded;
        globalThis[name] = recorded;
      }
      syncBuiltinESMExports();
      await import('@tracks/metrics');
      // TTY and pipe wraps are the process's own stdio, *Req entries module loading's fs calls
      const held = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && !r.endsWith('Req'));
      console.log(JSON.stringify({ started, held }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.error).toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ started: [], held: [] });
  });
});
