import type { IncomingMessage, ServerResponse } from 'node:http';
import { register as globalRegister } from 'prom-client';
import type { MetricsRegistry } from './metrics.js';

/** A node:http request listener (also fits Express and Connect). */
export type MetricsRequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * A node:http handler that answers with the registry's exposition text and its content type
 * (`text/plain; version=0.0.4` or OpenMetrics, whichever the registry is set to). It answers
 * GET and HEAD on whatever path it is mounted at, 405 to other methods, and 500 (without the
 * error's text) if collecting fails.
 *
 * @param registry the registry to expose; @default prom-client's global `register`
 * @example
 * http.createServer((req, res) => req.url === '/metrics' ? handler(req, res) : app(req, res));
 */
export function metricsHandler(registry: MetricsRegistry = globalRegister): MetricsRequestHandler {
  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, {
          'Content-Type': registry.contentType,
          'Content-Length': Buffer.byteLength(text),
          'Cache-Control': 'no-store',
        });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      () => {
        // collect() callbacks may touch stores; their errors can hold hostnames or credentials
        response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end('metrics collection failed\n');
      },
    );
  };
}
