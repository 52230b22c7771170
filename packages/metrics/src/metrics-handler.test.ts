import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, type OpenMetricsContentType, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type MetricsRegistry } from './metrics.js';
import { metricsHandler } from './metrics-handler.js';
import { FakeBreaker, parseExposition, sample } from './test-helpers.js';

const servers: Server[] = [];

async function serve(registry: MetricsRegistry): Promise<string> {
  const server = createServer(metricsHandler(registry));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

function call(url: string, method: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(url, { method }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('metricsHandler', () => {
  let url: string;
  let breaker: FakeBreaker;

  beforeAll(async () => {
    const registry = new Registry();
    breaker = new FakeBreaker('email:ses');
    createMetrics({ registry }).observe(breaker);
    url = await serve(registry);
  });

  it('answers GET with the exposition text and the Prometheus content type', async () => {
    breaker.successes.emit({ name: 'email:ses', state: 'closed', durationMs: 12 });
    const res = await call(url, 'GET');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const e = parseExposition(res.body);
    expect(sample(e, 'circuit_breaker_requests_total', { service: 'email:ses', result: 'success' })).toBe(1);
    expect(sample(e, 'circuit_breaker_state', { service: 'email:ses' })).toBe(0);
  });

  it('answers HEAD without a body and other methods with 405', async () => {
    const head = await call(url, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const post = await call(url, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('uses the OpenMetrics content type when the registry is set to it', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    createMetrics({ registry });
    const res = await call(await serve(registry), 'GET');
    expect(res.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(res.body).toContain('# EOF');
  });

  it('answers 500 without the error text when a collector fails', async () => {
    const registry = new Registry();
    new Counter({
      name: 'broken_total',
      help: 'a collector that fails',
      registers: [registry],
      collect() {
        throw new Error('secret-host.internal:6379 refused');
      },
    });
    const res = await call(await serve(registry), 'GET');
    expect(res.status).toBe(500);
    expect(res.body).not.toContain('secret-host');
  });
});
