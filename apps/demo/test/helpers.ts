import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AppOptions, createApp, type DemoApp } from '../src/app.js';
import { type Config, loadConfig } from '../src/config.js';

/** A clock the test moves by hand. */
export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
}

/** A clock that starts at a fixed instant and moves only when told. */
export function manualClock(start = 1_700_000_000_000): ManualClock {
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      time += ms;
    },
  };
}

/** A running demo on an ephemeral loopback port, with its log lines captured. */
export interface RunningDemo {
  readonly app: DemoApp;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  /** The raw log text, for redaction checks. */
  logText(): string;
  close(): Promise<void>;
}

/**
 * Starts the real server with the embedded providers, storage under a fresh temp folder,
 * `env` on top; `patch` edits the validated config (for what env validation refuses).
 */
export async function startDemo(
  env: Record<string, string> = {},
  options: AppOptions & { patch?: (config: Config) => Config } = {},
): Promise<RunningDemo> {
  const root = mkdtempSync(join(tmpdir(), 'tracks-demo-'));
  // the outbox's database beside the file store, as the demo keeps it by default
  const outboxDir = mkdtempSync(join(tmpdir(), 'tracks-outbox-'));
  const base = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    STORAGE_FS_ROOT: root,
    OUTBOX_DB_PATH: join(outboxDir, 'outbox.db'),
    LOG_LEVEL: 'info',
    ...env,
  });
  const config = options.patch ? options.patch(base) : base;
  const lines: string[] = [];
  const app = await createApp(config, {
    ...options,
    logStream: { write: (line: string) => lines.push(line) },
  });
  const url = await app.listen();
  return {
    app,
    url,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => lines.join(''),
    async close() {
      await app.close();
      rmSync(root, { recursive: true, force: true });
      rmSync(outboxDir, { recursive: true, force: true });
    },
  };
}

/** A JSON request; resolves status, headers and parsed body. */
export async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, shaped by each assertion
): Promise<{ status: number; headers: Headers; body: any }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Uint8Array) init.body = body;
    else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
  }
  const response = await fetch(`${url}${path}`, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * Drives the demo's outbox until every job of `ids` is delivered: moves the clock past backoff
 * and breaker waits and runs a worker pass, with no real waiting beyond a few ms a round.
 */
export async function drain(demo: RunningDemo, clock: ManualClock, ids: readonly string[]): Promise<void> {
  const outbox = demo.app.outbox;
  if (outbox === undefined) throw new Error('the demo has no outbox (EMAIL_QUEUE=off)');
  const deadline = performance.now() + 5_000;
  for (;;) {
    const states = await Promise.all(ids.map(async (id) => (await outbox.get(id))?.state));
    if (states.every((state) => state === 'delivered')) return;
    if (performance.now() > deadline) {
      const jobs = await Promise.all(ids.map((id) => outbox.get(id)));
      const why = jobs.map((job) => `${job?.state} ${job?.deadReason ?? ''} ${job?.lastError ?? ''}`);
      throw new Error(`outbox jobs not delivered: ${why.join('; ')}`);
    }
    // never while a delivery is in flight: jumping past its lease would hand the job to a second
    // claim and deliver it twice
    if ((await outbox.stats()).inflight === 0) clock.advance(5_000);
    await outbox.tick();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Whether better-sqlite3 (an optional dependency that compiles with node-gyp) loads here. Tests
 * of the sqlite outbox skip, and say so, when it does not — except under `CI=true`, where they run
 * and fail.
 */
export const sqliteLoads: boolean = (() => {
  // Probed in a child process: a better-sqlite3 Database opened in a test worker and collected
  // while the worker shuts down aborts Node 24 (an assertion in RemoveEnvironmentCleanupHook),
  // which took whole test files down with it in CI.
  const probe = spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
  });
  if (probe.status === 0) return true;
  if (process.env.CI !== 'true') {
    const why = (probe.stderr || probe.error?.message || 'unknown error')
      .trim()
      .split('\n')
      .find((l) => /Error/.test(l));
    console.warn(
      `sqlite outbox tests skipped: better-sqlite3 does not load (${why ?? 'see its install log'})`,
    );
  }
  return process.env.CI === 'true';
})();
