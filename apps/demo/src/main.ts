import type { DemoApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

// `pnpm demo` and `pnpm start`: reads the environment, starts the server, prints the URL and
// stops cleanly on SIGTERM/SIGINT. A configuration problem is one line on stderr, no stack.

// a person should see a breaker recover within a minute, not the presets' two to three
const DEMO_BREAKER_TIMEOUT_MS = 10_000;
// stop waiting for in-flight requests after this and drop their connections
const DRAIN_MS = 8_000;
// exit no later than this after the signal, whatever is still pending
const HARD_STOP_MS = 10_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    fail(error);
    return;
  }
  if (config.breakerTimeoutMs === undefined)
    config = { ...config, breakerTimeoutMs: DEMO_BREAKER_TIMEOUT_MS };

  let app: DemoApp;
  try {
    // loaded after the configuration is known good: a bad setting fails fast, before Fastify
    // and the SDKs are loaded
    const { createApp } = await import('./app.js');
    app = await createApp(config);
  } catch (error) {
    fail(error);
    return;
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // a second Ctrl-C means now
      process.exit(130);
    }
    stopping = true;
    app.fastify.log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const drain = setTimeout(() => app.fastify.server.closeAllConnections(), DRAIN_MS);
    const hard = setTimeout(() => {
      app.fastify.log.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, HARD_STOP_MS);
    drain.unref();
    hard.unref();
    app.close().then(
      () => {
        clearTimeout(drain);
        clearTimeout(hard);
        app.fastify.log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        app.fastify.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    const url = await app.listen();
    const inbox =
      app.smtpSink === undefined ? '' : ` (SMTP sink on ${app.smtpSink.host}:${app.smtpSink.port})`;
    process.stdout.write(`tracks demo listening on ${url}${inbox}\n`);
  } catch (error) {
    await app.close().catch(() => undefined);
    fail(error);
  }
}

function fail(error: unknown): void {
  const message =
    error instanceof ConfigError
      ? error.message
      : error instanceof Error
        ? `could not start the demo: ${error.message}`
        : `could not start the demo: ${String(error)}`;
  process.stderr.write(`${message.split('\n')[0]}\n`);
  process.exitCode = error instanceof ConfigError ? 2 : 1;
}

void main();
