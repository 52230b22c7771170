import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutboxDriver } from '@tracks/outbox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { Registry } from 'prom-client';
import type { Config } from './config.js';
import { registerDashboard } from './dashboard.js';
import { EventHub } from './events.js';
import { FaultInjector } from './faults.js';
import { bodyRefusal, toHttpError } from './http-errors.js';
import { type RouteContext, registerOpsRoutes } from './ops-routes.js';
import type { EmailOutbox } from './outbox-wiring.js';
import { retryAfterMs, sendError } from './replies.js';
import { registerServiceRoutes } from './service-routes.js';
import type { Services } from './services.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';
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
  /** Makes the outbox's sqlite driver; tests pass one that cannot load. @default sqliteDriver from @tracks/outbox */
  sqliteDriver?: (options: { path: string }) => OutboxDriver;
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
  /** The email outbox (started), unless `EMAIL_QUEUE=off`. */
  readonly outbox: EmailOutbox | undefined;
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
    services = await wireServices({
      config,
      now,
      faults,
      events,
      log,
      metricsRegistry,
      smtpSink,
      ...(options.sqliteDriver !== undefined && { sqliteDriver: options.sqliteDriver }),
    });
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
    const files = request.url.startsWith('/api/files/');
    const http =
      bodyRefusal(
        error,
        files
          ? { bytes: config.fileBodyLimitBytes, variable: 'FILE_BODY_LIMIT_BYTES' }
          : { bytes: config.jsonBodyLimitBytes, variable: 'JSON_BODY_LIMIT_BYTES' },
      ) ?? toHttpError(error, retryAfterFor);
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

  registerDashboard(fastify);
  const lifecycle = { ready: false, closing: false };
  const context: RouteContext = {
    config,
    services,
    faults,
    events,
    smtpSink,
    metricsRegistry,
    now,
    streams,
    lifecycle,
  };
  registerOpsRoutes(fastify, context);
  await registerServiceRoutes(fastify, context);

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
    if (lifecycle.closing) reply.header('connection', 'close');
  });
  fastify.addHook('preClose', (done) => {
    lifecycle.closing = true;
    // event streams never finish on their own; end them so close() can
    for (const res of streams) res.end();
    streams.clear();
    done();
  });
  fastify.addHook('onClose', async () => {
    await services.close();
    await smtpSink?.close();
  });

  await fastify.ready();
  // delivers what an earlier run queued, too (the sqlite driver keeps it across restarts)
  services.outbox?.start();
  lifecycle.ready = true;

  let closed: Promise<void> | undefined;
  return {
    fastify,
    config,
    services,
    faults,
    events,
    smtpSink,
    outbox: services.outbox,
    async listen() {
      await fastify.listen({ host: config.host, port: config.port });
      const address = fastify.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    close() {
      lifecycle.closing = true;
      closed ??= fastify.close();
      return closed;
    },
  };
}

function usesSmtp(config: Config): boolean {
  return config.email.provider === 'smtp' || config.email.fallback === 'smtp';
}
