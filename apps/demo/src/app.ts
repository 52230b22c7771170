import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isProviderError } from '@tracks/breaker';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { Registry } from 'prom-client';
import { z } from 'zod';
import type { Config } from './config.js';
import { type DemoEvent, EventHub } from './events.js';
import { FaultInjector, type ServiceName } from './faults.js';
import { type HttpError, RequestError, toHttpError } from './http-errors.js';
import type { BreakerView, Services } from './services.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';
import { parseBody } from './validation.js';
import { wireServices } from './wiring.js';

/** Options of {@link createApp} that tests and the load check inject. */
export interface AppOptions {
  /** Clock of every breaker, in ms. @default Date.now */
  now?: () => number;
  /** Random source of the fault layer. @default Math.random */
  random?: () => number;
  /** Where log lines go (JSON, one per line). @default standard output */
  logStream?: { write(line: string): unknown };
  /** Prometheus registry for /metrics. @default a fresh registry per app */
  metricsRegistry?: Registry;
}

/** A created (not yet listening) demo app. */
export interface DemoApp {
  readonly fastify: FastifyInstance;
  readonly config: Config;
  readonly services: Services;
  readonly faults: FaultInjector;
  readonly events: EventHub;
  /** The embedded SMTP sink, when email goes to it. */
  readonly smtpSink: SmtpSink | undefined;
  /** Starts listening on `config.host:config.port`; resolves the base URL. */
  listen(): Promise<string>;
  /** Stops accepting, finishes in-flight requests, ends event streams, closes adapters and the sink. */
  close(): Promise<void>;
}

// log paths that may carry credentials; pino replaces them with [redacted]
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  '*.password',
  '*.pass',
  '*.apiKey',
  '*.authToken',
  '*.secret',
  '*.secretAccessKey',
  '*.accessKeyId',
  '*.sessionToken',
  '*.otpSecret',
  '*.code',
];

const publicDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');

const emailBody = z.strictObject({
  to: z.union([
    z.string().min(1, 'is required'),
    z.array(z.string().min(1)).min(1, 'needs at least one address'),
  ]),
  subject: z.string().max(998, 'is longer than 998 characters'),
  text: z.string().optional(),
  html: z.string().optional(),
});
const smsBody = z.strictObject({ to: z.string().min(1, 'is required'), body: z.string() });
const otpBody = z.strictObject({ phone: z.string().min(1, 'is required') });
const verifyBody = z.strictObject({
  phone: z.string().min(1, 'is required'),
  code: z.string().regex(/^\d{4,10}$/, 'must be 4 to 10 digits'),
});
const faultBody = z.strictObject({
  service: z.enum(['email', 'sms', 'storage'], { message: "must be 'email', 'sms' or 'storage'" }),
  provider: z.string().min(1).optional(),
  failureRate: z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1'),
  latencyMs: z.number().int().min(0).max(60_000, 'must be at most 60000').optional(),
  hang: z.boolean().optional(),
});

/**
 * Builds the demo: the embedded SMTP sink (when email goes to it), the services chosen by
 * `config`, each provider behind its fault layer, resilience policy and breaker, and the HTTP
 * API and dashboard. Call `listen()` to serve.
 */
export async function createApp(config: Config, options: AppOptions = {}): Promise<DemoApp> {
  const now = options.now ?? Date.now;
  const events = new EventHub();
  const faults = new FaultInjector(options.random === undefined ? {} : { random: options.random });
  const metricsRegistry = options.metricsRegistry ?? new Registry();
  const streams = new Set<ServerResponse>();
  let ready = false;
  let loopDelay: IntervalHistogram | undefined;
  let closing = false;

  const fastify = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: REDACT, censor: '[redacted]' },
      ...(options.logStream !== undefined && { stream: options.logStream }),
    },
    bodyLimit: config.jsonBodyLimitBytes,
    // the dashboard polls: one line per poll would bury the breaker's state changes (see onResponse)
    logController: new LogController({ disableRequestLogging: true }),
    // long-lived event streams are ended in preClose; idle keep-alive sockets are dropped at once
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const log: FastifyBaseLogger = fastify.log;

  const wantsSink = config.email.smtp.host === undefined && usesSmtp(config);
  const smtpSink = wantsSink ? await startSmtpSink({ port: config.email.sinkPort }) : undefined;
  if (smtpSink !== undefined)
    log.info({ port: smtpSink.port }, `embedded SMTP sink on ${smtpSink.host}:${smtpSink.port}`);

  let services: Services;
  try {
    services = await wireServices({ config, now, faults, events, log, metricsRegistry, smtpSink });
  } catch (error) {
    await smtpSink?.close();
    throw error;
  }

  const retryAfterFor = (provider: string): number | undefined => {
    for (const handle of services.providers) {
      if (handle.provider === provider || handle.breaker.name === provider) {
        return retryAfterMs(handle.breaker, now);
      }
    }
    return undefined;
  };

  fastify.setErrorHandler((error, request, reply) => {
    const http = toHttpError(error, retryAfterFor);
    // a 503 is the breaker doing its job, logged once per state change by the breaker's
    // listener; per request it is debug noise that would cost the most exactly during an outage
    if (http.status === 503)
      request.log.debug({ status: 503, reason: http.body.error }, 'provider unavailable');
    else if (http.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status: http.status, reason: http.body.error }, 'request refused');
    return sendError(reply, http);
  });
  fastify.setNotFoundHandler((request, reply) =>
    sendError(reply, {
      status: 404,
      body: { error: `no route for ${request.method} ${request.url.split('?')[0]}` },
    }),
  );

  // dashboard: three static files, read once
  const assets = new Map<string, { type: string; body: Buffer }>([
    ['/', { type: 'text/html; charset=utf-8', body: readFileSync(join(publicDir, 'index.html')) }],
    ['/app.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(publicDir, 'app.js')) }],
    ['/style.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(publicDir, 'style.css')) }],
  ]);
  for (const [path, asset] of assets) {
    fastify.get(path, (_request, reply) =>
      reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body),
    );
  }

  fastify.get('/healthz', () => ({ status: 'ok' }));
  fastify.get('/readyz', (_request, reply) =>
    // breaker states stay out of readiness: with shared breakers an outage would drain every instance at once
    ready && !closing
      ? reply.send({ status: 'ready' })
      : reply.code(503).send({ status: closing ? 'stopping' : 'starting' }),
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
  }));

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
  fastify.post('/api/faults', (request, reply) => {
    if (config.nodeEnv === 'production') {
      return sendError(reply, {
        status: 403,
        body: { error: 'fault injection is disabled when NODE_ENV=production' },
      });
    }
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

  fastify.post('/api/email', async (request, reply) => {
    const email = need(services.email, 'email');
    const body = parseBody(emailBody, request.body);
    if (body.text === undefined && body.html === undefined)
      throw new RequestError(400, 'text or html is required', 'text');
    const result = await email.send(
      {
        to: Array.isArray(body.to) ? body.to : [body.to],
        subject: body.subject,
        ...(body.text !== undefined && { text: body.text }),
        ...(body.html !== undefined && { html: body.html }),
      },
      abortOnClose(reply.raw),
    );
    return reply.code(202).send({ provider: result.provider, messageId: result.messageId });
  });

  fastify.post('/api/sms', async (request, reply) => {
    const sms = need(services.sms, 'sms');
    const body = parseBody(smsBody, request.body);
    const result = await sms
      .sendMessage(body.to, body.body, abortOnClose(reply.raw))
      .catch((error: unknown) => {
        // the family names the number `phone`; this route's field is `to`
        if (isProviderError(error) && error.field === 'phone')
          throw new RequestError(400, error.message, 'to');
        throw error;
      });
    return reply
      .code(202)
      .send({ provider: result.provider, messageId: result.messageId, segments: result.segments });
  });

  fastify.post('/api/otp', async (request, reply) => {
    const sms = need(services.sms, 'sms');
    const body = parseBody(otpBody, request.body);
    const result = await sms.sendOtp(body.phone, abortOnClose(reply.raw));
    return reply.code(202).send({
      provider: result.provider,
      ...(result.expiresAt && { expiresAt: result.expiresAt.toISOString() }),
    });
  });

  fastify.post('/api/otp/verify', async (request, reply) => {
    const sms = need(services.sms, 'sms');
    const body = parseBody(verifyBody, request.body);
    const result = await sms.verifyOtp(body.phone, body.code, abortOnClose(reply.raw));
    return reply.code(200).send(result.valid ? { valid: true } : { valid: false, reason: result.reason });
  });

  await fastify.register(async (files) => {
    // file bodies are raw bytes of any type, JSON included, up to their own limit
    files.removeAllContentTypeParsers();
    files.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: config.fileBodyLimitBytes },
      (_req, body, done) => done(null, body),
    );
    const keyOf = (params: unknown): string => {
      const key = (params as Record<string, string | undefined>)['*'] ?? '';
      if (key === '') throw new RequestError(400, 'a file key is required: /api/files/<key>', 'key');
      return key;
    };
    files.put('/api/files/*', async (request, reply) => {
      const storage = need(services.storage, 'storage');
      const key = keyOf(request.params);
      const body = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
      const contentType = request.headers['content-type'];
      const result = await storage.put(key, new Uint8Array(body), contentType, abortOnClose(reply.raw));
      return reply
        .code(201)
        .header('location', `/api/files/${encodeKey(result.key)}`)
        .send(result);
    });
    files.get('/api/files/*', async (request, reply) => {
      const storage = need(services.storage, 'storage');
      const key = keyOf(request.params);
      const file = await storage.get(key, abortOnClose(reply.raw));
      if (file === null)
        return sendError(reply, { status: 404, body: { error: `no file at ${key}`, field: 'key' } });
      reply.type(file.contentType ?? 'application/octet-stream');
      if (file.size !== undefined) reply.header('content-length', file.size);
      if (file.etag !== undefined) reply.header('etag', file.etag);
      return reply.send(file.body);
    });
    files.delete('/api/files/*', async (request, reply) => {
      const storage = need(services.storage, 'storage');
      await storage.delete(keyOf(request.params), abortOnClose(reply.raw));
      return reply.code(204).send();
    });
  });

  fastify.addHook('onResponse', async (request, reply) => {
    const fields = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime),
    };
    if (request.method === 'GET' || request.method === 'HEAD') request.log.debug(fields, 'request completed');
    else request.log.info(fields, 'request completed');
  });

  // a response finished while stopping closes its keep-alive connection; otherwise the server
  // would wait out the client's keep-alive before close() could resolve
  fastify.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  fastify.addHook('preClose', (done) => {
    closing = true;
    // event streams never finish on their own; end them so close() can
    for (const res of streams) res.end();
    streams.clear();
    // calls held by an injected hang are released so their requests can finish
    faults.clear();
    done();
  });
  fastify.addHook('onClose', async () => {
    loopDelay?.disable();
    await services.close();
    await smtpSink?.close();
  });

  await fastify.ready();
  ready = true;

  let closed: Promise<void> | undefined;
  return {
    fastify,
    config,
    services,
    faults,
    events,
    smtpSink,
    async listen() {
      await fastify.listen({ host: config.host, port: config.port });
      const address = fastify.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    close() {
      closing = true;
      closed ??= fastify.close();
      return closed;
    },
  };
}

/** The time until an open breaker admits a probe, in ms; undefined unless it is open. */
export function retryAfterMs(breaker: BreakerLike, now: () => number): number | undefined {
  if (breaker.state !== 'open') return undefined;
  const snapshot = breaker.snapshot() as { expiry?: unknown };
  const expiry = typeof snapshot.expiry === 'number' ? snapshot.expiry : undefined;
  return expiry === undefined ? undefined : Math.max(0, Math.ceil(expiry - now()));
}

type BreakerLike = { readonly state: string; snapshot(): unknown };

function breakerView(handle: Services['providers'][number], now: () => number): BreakerView {
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

function sendError(reply: FastifyReply, http: HttpError): FastifyReply {
  if (http.retryAfterSeconds !== undefined) reply.header('retry-after', String(http.retryAfterSeconds));
  return reply.code(http.status).type('application/json; charset=utf-8').send(http.body);
}

function need<T>(service: T | undefined, name: ServiceName): T {
  if (service === undefined) throw new RequestError(501, `${name} is not wired in this build of the demo`);
  return service;
}

// the provider call is abandoned when the client goes away before the answer; the listener
// lives as long as the response, not the keep-alive socket
function abortOnClose(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  return controller.signal;
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function usesSmtp(config: Config): boolean {
  return config.email.provider === 'smtp' || config.email.fallback === 'smtp';
}
