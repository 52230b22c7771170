import { readFileSync } from 'node:fs';
import { Emitter } from '@tracks/breaker';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import { FakeBreaker, parseExposition } from './test-helpers.js';

const dashboard = JSON.parse(readFileSync(new URL('../dashboards/tracks.json', import.meta.url), 'utf8')) as {
  panels: { title: string; type: string; targets: { expr: string }[] }[];
  templating: { list: { name: string; query?: unknown }[] };
};
const alerts = readFileSync(new URL('../alerts/tracks.rules.yml', import.meta.url), 'utf8');

/** Every sample name the package can expose, taken from a real scrape with every observer attached. */
async function exposedNames(): Promise<Set<string>> {
  const registry = new Registry();
  const metrics = createMetrics({ registry });
  const breaker = new FakeBreaker('a');
  metrics.observe(breaker);
  breaker.successes.emit({ name: 'a', state: 'closed', durationMs: 1 });
  const on = (l: (e: never) => void) => new Emitter<never>().on(l);
  metrics.observeRetry({ breaker: { name: 'a' }, onRetry: on, onGiveUp: on, onSuccess: on });
  metrics.observeStore({ name: 'a', onStoreError: on });
  metrics.observeOutbox({ name: 'q', on: (_e, l) => on(l), stats: () => ({ pending: 1 }) });
  return new Set(parseExposition(await registry.metrics()).samples.map((s) => s.name));
}

const METRIC = /\b(?:circuit_breaker|retry|outbox)_[a-z_]+\b/g;

describe('dashboards/tracks.json', () => {
  it('queries only metric names the package exposes', async () => {
    const names = await exposedNames();
    const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(METRIC) ?? []));
    expect(used.length).toBeGreaterThan(8);
    for (const name of used) expect(names, name).toContain(name);
  });

  it('has panels for state per service, request rate by result, p95 duration and retry rate', () => {
    const exprOf = (title: RegExp) =>
      dashboard.panels
        .find((p) => title.test(p.title))
        ?.targets.map((t) => t.expr)
        .join('\n') ?? '';
    expect(exprOf(/^Breaker state per service/)).toContain('circuit_breaker_state{');
    expect(exprOf(/^Request rate by result/)).toMatch(
      /sum by \(service, result\) \(rate\(circuit_breaker_requests_total/,
    );
    expect(exprOf(/^p95/)).toMatch(
      /histogram_quantile\(0\.95, .*circuit_breaker_request_duration_seconds_bucket/,
    );
    expect(exprOf(/^Retry rate/)).toMatch(/sum by \(service, outcome\) \(rate\(retry_attempts_total/);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'service']);
  });
});

describe('alerts/tracks.rules.yml', () => {
  it('alerts on a breaker open for more than 1 minute and on rejections above 10 %', async () => {
    const names = await exposedNames();
    for (const name of alerts.replace(/#.*$/gm, '').match(METRIC) ?? []) expect(names, name).toContain(name);
    expect(alerts).toMatch(
      /alert: CircuitBreakerOpen\n\s+expr: max by \(service\) \(circuit_breaker_state\) == 2\n\s+for: 1m/,
    );
    expect(alerts).toMatch(
      /alert: CircuitBreakerHighRejectionRate[\s\S]*result=~"rejected_open\|rejected_too_many"[\s\S]*> 0\.10/,
    );
  });
});
