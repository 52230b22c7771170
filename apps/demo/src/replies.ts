import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { ServiceName } from './faults.js';
import { type HttpError, RequestError } from './http-errors.js';
import type { BreakerView, ProviderHandle } from './services.js';

/** The time until an open breaker admits a probe, in ms; undefined unless it is open. */
export function retryAfterMs(breaker: BreakerLike, now: () => number): number | undefined {
  if (breaker.state !== 'open') return undefined;
  const snapshot = breaker.snapshot() as { expiry?: unknown };
  const expiry = typeof snapshot.expiry === 'number' ? snapshot.expiry : undefined;
  return expiry === undefined ? undefined : Math.max(0, Math.ceil(expiry - now()));
}

type BreakerLike = { readonly state: string; snapshot(): unknown };

/** A breaker as `GET /api/breakers` and the event stream show it. */
export function breakerView(handle: ProviderHandle, now: () => number): BreakerView {
  const state = handle.breaker.state;
  const wait = retryAfterMs(handle.breaker, now);
  return {
    name: handle.breaker.name,
    service: handle.service,
    provider: handle.provider,
    state,
    counts: handle.breaker.counts,
    ...(wait !== undefined && { retryAfterMs: wait }),
  };
}

/** Sends an error as JSON, with Retry-After when the error says when to come back. */
export function sendError(reply: FastifyReply, http: HttpError): FastifyReply {
  if (http.retryAfterSeconds !== undefined) reply.header('retry-after', String(http.retryAfterSeconds));
  return reply.code(http.status).type('application/json; charset=utf-8').send(http.body);
}

/** The wired service, or a 501 naming the family that is not wired. */
export function need<T>(service: T | undefined, name: ServiceName): T {
  if (service === undefined) throw new RequestError(501, `${name} is not wired in this build of the demo`);
  return service;
}

// the provider call is abandoned when the client goes away before the answer; the listener
// lives as long as the response, not the keep-alive socket
export function abortOnClose(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  return controller.signal;
}

/** A key as a URL path: each segment encoded, the slashes kept. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
