import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { ChildCommand } from './child.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, '..', '..');

/**
 * Bundles child.ts (and this package's sources) into one ES module that plain Node runs, with
 * the dependencies (ioredis, @tracks/breaker, @tracks/sms) left as imports. It goes under this
 * package's node_modules, so those imports resolve as they do for the tests themselves.
 */
export async function bundleChild(): Promise<string> {
  const dir = join(packageRoot, 'node_modules', '.cache', 'tracks-redis-test');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `child-${process.pid}.mjs`);
  await build({
    entryPoints: [join(here, 'child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/** A child process running child.ts, driven by request/reply messages. */
export class Instance {
  readonly #child: ChildProcess;
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(script: string) {
    this.#child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(`child: ${message.error}`));
      else waiter?.resolve(message.result);
    });
    this.#child.on('exit', () => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error('child exited'));
      this.#waiting.clear();
    });
  }

  send<R>(command: ChildCommand): Promise<R> {
    const id = this.#next++;
    return new Promise<R>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ ...command, id });
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    await this.send({ op: 'exit' }).catch(() => undefined);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }
}
