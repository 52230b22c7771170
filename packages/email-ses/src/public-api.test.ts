// Outside-in: the names issue 5 fixes for this adapter, imported from the built package exactly
// as a user does; bad input never touches the wire; credentials stay out of errors; importing
// the package starts nothing.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { type CircuitBreaker, isProviderError } from '@tracks/breaker';
import { type EmailAdapter, type EmailMessage, isInvalidMessageError, withResilience } from '@tracks/email';
import * as pkg from '@tracks/email-ses';
import { SesEmailAdapter } from '@tracks/email-ses';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/public-api-test';
const message: EmailMessage = {
  to: ['ann@example.com'],
  from: 'shop@example.com',
  subject: 'hi',
  text: 'hello',
};

// a TCP listener on 127.0.0.1 that counts connections and drops each one: any wire use shows
let server: Server;
let port = 0;
let connections = 0;
const sockets = new Set<Socket>();
beforeAll(async () => {
  server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function make(): SesEmailAdapter {
  return new SesEmailAdapter({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'AKIDPUBLICAPITEST', secretAccessKey: SECRET },
    requestTimeoutMs: 5_000,
  });
}

describe('@tracks/email-ses public API', () => {
  it('exports SesEmailAdapter, an EmailAdapter named ses with limits and close()', async () => {
    expect(typeof pkg.SesEmailAdapter).toBe('function');
    expectTypeOf<SesEmailAdapter>().toMatchTypeOf<EmailAdapter>();
    const adapter = make();
    expect(adapter.provider).toBe('ses');
    expect(adapter.limits.maxRecipients).toBeGreaterThan(0);
    expect(adapter.limits.maxMessageBytes).toBeGreaterThan(0);
    await expect(adapter.close()).resolves.toBeUndefined();
  });

  it('refuses bad input with a typed error, zero wire connections and an untouched breaker', async () => {
    const adapter = make();
    const wrapped = withResilience(adapter, { retry: false });
    const bad: EmailMessage[] = [
      { ...message, subject: 'hi\r\nBcc: victim@example.com' },
      { ...message, headers: { 'X-Campaign': 'a\r\nBcc: victim@example.com' } },
      { ...message, from: 'Shop\r\nBcc: victim@example.com <shop@example.com>' },
      { ...message, to: ['not an address'] },
      {
        ...message,
        to: Array.from({ length: adapter.limits.maxRecipients + 1 }, (_, i) => `u${i}@example.com`),
      },
      { ...message, text: '' },
      {
        ...message,
        attachments: [{ filename: 'a\r\n.txt', contentType: 'text/plain', content: 'x' }],
      },
    ];
    for (const msg of bad) {
      for (const target of [adapter, wrapped]) {
        const error = await target.send(msg).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isInvalidMessageError(error), String(error)).toBe(true);
        expect(error).toMatchObject({ kind: 'invalid', scope: 'message' });
      }
    }
    expect(connections).toBe(0);
    const counts = (wrapped.policy.breaker as CircuitBreaker).counts;
    expect(counts.requests).toBe(0);
    await wrapped.close();
  });

  it('keeps its credentials out of a wire error, as JSON and as util.inspect shows it', async () => {
    const adapter = make();
    const error = await adapter.send(message).then(
      () => undefined,
      (e: unknown) => e,
    );
    await adapter.close();
    expect(isProviderError(error)).toBe(true);
    expect(connections).toBeGreaterThan(0);
    for (const text of [
      JSON.stringify(error),
      inspect(error, { depth: 10, showHidden: true }),
      String(error),
    ]) {
      expect(text).not.toContain(SECRET);
    }
  });

  it('keeps its credentials out of util.inspect and JSON of the adapter and of its wrapper', async () => {
    const adapter = make();
    const wrapped = withResilience(adapter, { retry: false });
    for (const value of [adapter, wrapped, { service: wrapped }]) {
      expect(inspect(value, { depth: 10, showHidden: true })).not.toContain(SECRET);
      expect(json(value)).not.toContain(SECRET);
    }
    await wrapped.close();
  });

  it('keeps the published shape: ESM, no side effects, Node >=20.19, dist only, types before default, peers also dev', () => {
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
    );
    expect(manifest).toMatchObject({ type: 'module', sideEffects: false, engines: { node: '>=20.19' } });
    expect(manifest.files).toEqual(['dist']);
    for (const [path, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
      if (typeof target === 'object' && target !== null)
        expect(Object.keys(target), path).toEqual(['types', 'default']);
    }
    const optional = (manifest.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      expect(manifest.devDependencies?.[peer], peer).toBeDefined();
      // only a ./testing suite's vitest may be optional: a vendor SDK is a required peer
      if (optional[peer]?.optional) expect(peer).toBe('vitest');
    }
  });

  it('starts no timer and holds nothing open when imported', () => {
    // every timer started while importing is recorded, unref'd ones too (those do not show
    // among the active resources); timers and sockets still open afterwards are listed
    const script = `
      import { createRequire, syncBuiltinESMExports } from 'node:module';
      const timers = createRequire(process.cwd() + '/')('node:timers');
      const started = [];
      for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
        const original = timers[name];
        const recorded = function (...args) {
          started.push(name);
          return original.apply(this, args);
        };
        timers[name] = recorded;
        globalThis[name] = recorded;
      }
      syncBuiltinESMExports();
      await import('@tracks/email-ses');
      // TTY and pipe wraps are the process's own stdio, *Req entries module loading's fs calls
      const held = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && !r.endsWith('Req'));
      console.log(JSON.stringify({ started, held }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.error).toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ started: [], held: [] });
  });
});

// JSON of a value holding an SDK client may throw on its circular structure: that shows nothing
function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
