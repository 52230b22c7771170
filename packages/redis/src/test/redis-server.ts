import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** Why the Redis tests cannot run here, or undefined when `redis-server` is installed. */
export const redisMissing: string | undefined = (() => {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    return `${BINARY} is not installed (apt-get install redis-server, or set REDIS_SERVER)`;
  }
  return undefined;
})();

/**
 * `describe` for tests that need a real redis-server: without one they are skipped with the
 * reason printed — except under CI=true, where a missing server is a failing test.
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
  console.warn(`@tracks/redis: skipping "${name}": ${redisMissing}`);
  describe.skip(name, body);
}

/** A free port on the loopback interface: bind port 0, read what the kernel gave, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** A redis-server of the test's own, on 127.0.0.1, without persistence. */
export class RedisServer {
  readonly port: number;
  #process: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  /** Starts a server on a free port and waits until it accepts connections. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  /** Starts the server (again) on the same port. */
  async restart(): Promise<void> {
    const child = spawn(
      BINARY,
      [
        '--port',
        String(this.port),
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
    this.#process = child;
    child.stdout?.resume();
    child.stderr?.resume();
    const deadline = Date.now() + 5_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (await this.#pings()) return;
      if (Date.now() > deadline) throw new Error('redis-server did not start within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Kills the server at once (SIGKILL: no goodbye to the clients) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * A client with fast reconnects, as a test wants; its errors are collected, not printed.
   * `patient`: 50 reconnection attempts per command, so that a command sent while the server
   * is down waits for about a second unless something stops waiting for it.
   */
  client(errors: unknown[] = [], patient = false): Redis {
    const client = new Redis({
      port: this.port,
      host: '127.0.0.1',
      lazyConnect: false,
      maxRetriesPerRequest: patient ? 50 : 1,
      retryStrategy: () => 20,
    });
    client.on('error', (error) => errors.push(error));
    return client;
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
