import type { ServerResponse } from 'node:http';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Config } from './config.js';
import type { DemoEvent, EventHub } from './events.js';
import type { FaultInjector } from './faults.js';
import { RequestError } from './http-errors.js';
import { breakerView, sendError } from './replies.js';
import type { Services } from './services.js';
import type { SmtpSink } from './smtp-sink.js';
import { parseBody } from './validation.js';

/** What the route modules share with the app. */
export interface RouteContext {
  readonly config: Config;
  readonly services: Services;
  readonly faults: FaultInjector;
  readonly events: EventHub;
  readonly smtpSink: SmtpSink | undefined;
  readonly metricsRegistry: Registry;
  readonly now: () => number;
  /** Open event streams, ended when the app closes. */
  readonly streams: Set<ServerResponse>;
  /** Whether the app finished starting, and whether it is stopping. */
  readonly lifecycle: { ready: boolean; closing: boolean };
}

const outboxOff = {
  status: 404,
  body: { error: 'the outbox is off (EMAIL_QUEUE=off): unavailable providers answer 503' },
} as const;

// a dead letter's last error may name the recipient a provider refused; the dashboard needs
// to know that it was refused, not who it was
function maskAddresses(text: string): string {
  return text.replace(
    /([^\s@<>"',;:()[\]]+)@([^\s@<>"',;:()[\]]+)/g,
    (_all, local: string, domain: string) => {
      return `${local.slice(0, 1)}***@${domain}`;
    },
  );
}

const faultBody = z.strictObject({
  service: z.enum(['email', 'sms', 'storage'], { message: "must be 'email', 'sms' or 'storage'" }),
  provider: z.string().min(1).optional(),
  failureRate: z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1'),
  latencyMs: z.number().int().min(0).max(60_000, 'must be at most 60000').optional(),
  hang: z.boolean().optional(),
});

/**
 * The routes that watch and steer the demo rather than use a service: health and readiness,
 * metrics, breakers and their event stream, the inbox, fault injection, runtime figures.
 */
export function registerOpsRoutes(fastify: FastifyInstance, context: RouteContext): void {
  const { config, services, faults, events, smtpSink, metricsRegistry, now, streams, lifecycle } = context;
  let loopDelay: IntervalHistogram | undefined;
  fastify.addHook('onClose', async () => {
    loopDelay?.disable();
  });

  fastify.get('/healthz', () => ({ status: 'ok' }));
  fastify.get('/readyz', (_request, reply) =>
    // breaker states stay out of readiness: with shared breakers an outage would drain every instance at once
    lifecycle.ready && !lifecycle.closing
      ? reply.send({ status: 'ready' })
      : reply.code(503).send({ status: lifecycle.closing ? 'stopping' : 'starting' }),
  );

  fastify.get('/metrics', async (_request, reply) =>
    reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics()),
  );

  fastify.get('/api/info', () => ({
    services: Object.fromEntries(
      (['email', 'sms', 'storage'] as const).map((service) => [
        service,
        {
          wired: services[service] !== undefined,
          providers: services.providers.filter((p) => p.service === service).map((p) => p.provider),
        },
      ]),
    ),
    inbox: smtpSink !== undefined,
    faultsEnabled: config.nodeEnv !== 'production',
    from: config.email.from,
    outbox: services.outbox === undefined ? null : { driver: services.outbox.driver },
  }));

  // the outbox as the dashboard shows it: counts and dead letters, never payloads
  fastify.get('/api/outbox', async (_request, reply) => {
    const outbox = services.outbox;
    if (outbox === undefined) return sendError(reply, outboxOff);
    const [stats, dead] = await Promise.all([outbox.stats(), outbox.list({ state: 'dead', limit: 50 })]);
    return reply.send({
      driver: outbox.driver,
      stats,
      dead: dead.map((job) => ({
        id: job.id,
        queue: job.queue,
        attempts: job.attempts,
        deadReason: job.deadReason ?? null,
        lastError: job.lastError === undefined ? null : maskAddresses(job.lastError),
        updatedAt: new Date(job.updatedAt).toISOString(),
      })),
    });
  });
  fastify.post('/api/outbox/:id/retry', async (request, reply) => {
    const outbox = services.outbox;
    if (outbox === undefined) return sendError(reply, outboxOff);
    const { id } = request.params as { id: string };
    const job = await outbox.get(id);
    if (job === undefined)
      return sendError(reply, { status: 404, body: { error: `no outbox job ${id}`, field: 'id' } });
    if (job.state !== 'dead') {
      return sendError(reply, {
        status: 409,
        body: {
          error: `outbox job ${id} is ${job.state}, not dead: only dead letters can be retried`,
          field: 'id',
        },
      });
    }
    // false: another request revived it between the two calls; it is pending either way
    await outbox.retry(id);
    request.log.info({ outboxJob: id }, 'dead letter sent again');
    return reply.send({ id, state: 'pending' });
  });

  // what the load check reads to tell a leak from a plateau; not offered in production
  fastify.get('/api/runtime', (request, reply) => {
    if (config.nodeEnv === 'production')
      return sendError(reply, { status: 404, body: { error: 'not available in production' } });
    const gc = (globalThis as { gc?: () => void }).gc;
    if ((request.query as Record<string, unknown>).gc !== undefined && gc !== undefined) gc();
    // started on first use: the load check reads how long the event loop stalled during its run
    loopDelay ??= monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const delay = {
      p50Ms: loopDelay.percentile(50) / 1e6,
      p99Ms: loopDelay.percentile(99) / 1e6,
      maxMs: loopDelay.max / 1e6,
    };
    if ((request.query as Record<string, unknown>).reset !== undefined) loopDelay.reset();
    const resources: Record<string, number> = {};
    for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1;
    return {
      memory: process.memoryUsage(),
      eventLoopDelay: delay,
      faultsHeld: faults.held,
      eventStreams: streams.size,
      eventSubscribers: events.size,
      activeResources: resources,
    };
  });

  fastify.get('/api/breakers', () => services.providers.map((handle) => breakerView(handle, now)));

  fastify.get('/api/inbox', (_request, reply) => {
    if (smtpSink === undefined) {
      return sendError(reply, {
        status: 404,
        body: {
          error: 'the embedded SMTP sink is not running (SMTP_HOST is set or email does not use SMTP)',
        },
      });
    }
    return reply.send(smtpSink.messages());
  });

  fastify.get('/api/events', (_request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const write = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    write(
      'breakers',
      services.providers.map((handle) => breakerView(handle, now)),
    );
    const unsubscribe = events.subscribe((event: DemoEvent) => write(event.type, event));
    // a comment line now and then keeps proxies from closing a quiet stream
    const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
    heartbeat.unref();
    streams.add(res);
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  });

  fastify.get('/api/faults', () => faults.all());
  const faultsOff = {
    status: 403,
    body: { error: 'fault injection is disabled when NODE_ENV=production' },
  } as const;
  // clears what POST /api/faults set: every service's, or one service's; answers what is left
  fastify.delete('/api/faults', (request, reply) => {
    if (config.nodeEnv === 'production') return sendError(reply, faultsOff);
    faults.clear();
    request.log.warn('faults cleared');
    return reply.send(faults.all());
  });
  fastify.delete('/api/faults/:service', (request, reply) => {
    if (config.nodeEnv === 'production') return sendError(reply, faultsOff);
    const { service } = request.params as { service: string };
    if (service !== 'email' && service !== 'sms' && service !== 'storage') {
      throw new RequestError(400, "service must be 'email', 'sms' or 'storage'", 'service');
    }
    faults.clearService(service);
    request.log.warn(`faults for ${service} cleared`);
    return reply.send(faults.all());
  });
  fastify.post('/api/faults', (request, reply) => {
    if (config.nodeEnv === 'production') return sendError(reply, faultsOff);
    const body = parseBody(faultBody, request.body);
    const candidates = services.providers.filter((p) => p.service === body.service);
    const target =
      body.provider === undefined
        ? candidates.find((p) => p.primary)
        : candidates.find((p) => p.provider === body.provider);
    if (target === undefined) {
      throw new RequestError(
        400,
        body.provider === undefined
          ? `${body.service} is not wired in this demo`
          : `${body.service} has no provider ${body.provider} (wired: ${candidates.map((p) => p.provider).join(', ') || 'none'})`,
        body.provider === undefined ? 'service' : 'provider',
      );
    }
    const entry = faults.set(body.service, target.provider, {
      failureRate: body.failureRate,
      latencyMs: body.latencyMs ?? 0,
      hang: body.hang ?? false,
    });
    request.log.warn({ faults: entry }, `faults for ${body.service}:${target.provider} set`);
    return reply.send(entry);
  });
}
