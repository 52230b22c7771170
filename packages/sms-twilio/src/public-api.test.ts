// Outside-in: the names issue 6 fixes for this adapter, imported from the built package exactly
// as a user does; bad input never touches the wire; credentials stay out of errors; importing
// the package starts nothing.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { type CircuitBreaker, isProviderError } from '@tracks/breaker';
import { InvalidPhoneNumberError, type SmsAdapter, withResilience } from '@tracks/sms';
import * as pkg from '@tracks/sms-twilio';
import { TwilioSmsAdapter } from '@tracks/sms-twilio';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';

const SECRET = 'public-api-twilio-auth-token-0123';
const PHONE = '+14155550123';

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

function make(): TwilioSmsAdapter {
  return new TwilioSmsAdapter({
    accountSid: 'AC00000000000000000000000000000000',
    authToken: SECRET,
    from: '+15005550006',
    verifyServiceSid: 'VA00000000000000000000000000000000',
    baseUrl: `http://127.0.0.1:${port}`,
    timeoutMs: 5_000,
  });
}

describe('@tracks/sms-twilio public API', () => {
  it('exports TwilioSmsAdapter, an SmsAdapter named twilio with close()', async () => {
    expect(typeof pkg.TwilioSmsAdapter).toBe('function');
    expectTypeOf<TwilioSmsAdapter>().toMatchTypeOf<SmsAdapter>();
    const adapter = make();
    expect(adapter.provider).toBe('twilio');
    await expect(adapter.close()).resolves.toBeUndefined();
  });

  it('refuses bad numbers and bodies with typed errors, zero wire connections and an untouched breaker', async () => {
    const adapter = make();
    const wrapped = withResilience(adapter, { retry: false });
    for (const target of [adapter, wrapped]) {
      for (const phone of ['12345', 'not a number', '+1 415 555 01']) {
        await expect(target.sendMessage(phone, 'hello')).rejects.toBeInstanceOf(InvalidPhoneNumberError);
        await expect(target.sendOtp(phone)).rejects.toBeInstanceOf(InvalidPhoneNumberError);
        await expect(target.verifyOtp(phone, '123456')).rejects.toBeInstanceOf(InvalidPhoneNumberError);
      }
      await expect(target.sendMessage(PHONE, 'bell\u0007')).rejects.toMatchObject({
        kind: 'invalid',
        field: 'body',
      });
      await expect(target.sendMessage(PHONE, 'x'.repeat(160 * 11))).rejects.toMatchObject({
        kind: 'invalid',
        field: 'body',
      });
    }
    expect(connections).toBe(0);
    expect((wrapped.policy.breaker as CircuitBreaker).counts.requests).toBe(0);
    await wrapped.close();
  });

  it('keeps its credentials out of a wire error, as JSON and as util.inspect shows it', async () => {
    const adapter = make();
    const error = await adapter.sendMessage(PHONE, 'hello').then(
      () => undefined,
      (e: unknown) => e,
    );
    await adapter.close();
    expect(isProviderError(error), String(error)).toBe(true);
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
    for (const value of [adapter, wrapped, { sms: wrapped }]) {
      expect(inspect(value, { depth: 10, showHidden: true })).not.toContain(SECRET);
      expect(json(value)).not.toContain(SECRET);
    }
    // the client stays reachable for callers who need the SDK
    expect(typeof adapter.client.messages.create).toBe('function');
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
      await import('@tracks/sms-twilio');
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
