// A redis-server of the test's own on a free 127.0.0.1 port, for the BullMQ driver's tests.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** Why the BullMQ tests cannot run here, or undefined when `redis-server` is installed. */
export const redisMissing: string | undefined = (() => {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    return `${BINARY} is not installed (apt-get install redis-server, or set REDIS_SERVER)`;
  }
  return undefined;
})();

/**
 * `describe` for tests that need a real redis-server: without one they are skipped with the
 * reason printed, except under CI=true, where a missing server is a failing test.
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (redisMissing === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs redis-server, which CI must install', () => {
        throw new Error(`CI=true but ${redisMissing}`);
      });
    });
    return;
  }
  console.warn(`@tracks/outbox: skipping "${name}": ${redisMissing}`);
  describe.skip(name, body);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** A redis-server on 127.0.0.1 without persistence; `stop()` kills it and waits for its exit. */
export class RedisServer {
  readonly port: number;
  readonly #process: ChildProcess;

  private constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.#process = child;
  }

  static async start(): Promise<RedisServer> {
    const port = await freePort();
    const child = spawn(
      BINARY,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.resume();
    child.stderr?.resume();
    const server = new RedisServer(port, child);
    const deadline = Date.now() + 5_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (await server.#pings()) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error('redis-server did not start within 5 s');
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** ioredis options for this server, as `bullmqDriver({ connection })` takes them. */
  connection(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.port };
  }

  async stop(): Promise<void> {
    const child = this.#process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async #pings(): Promise<boolean> {
    const probe = new Redis({
      port: this.port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }
}
