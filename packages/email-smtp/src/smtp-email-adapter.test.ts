import { inspect } from 'node:util';
import type { ProviderError } from '@tracks/breaker';
import { isProviderError } from '@tracks/breaker';
import type { EmailMessage } from '@tracks/email';
import { createTransport } from 'nodemailer';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SmtpEmailAdapterOptions, SmtpTransporter } from './smtp-email-adapter.js';
import { SmtpEmailAdapter } from './smtp-email-adapter.js';
import { SmtpTestServer, TEST_PASSWORD, TEST_USER } from './test/smtp-test-server.js';

const server = new SmtpTestServer();
const msg: EmailMessage = {
  from: 'Sender <sender@example.com>',
  to: ['rita@example.com'],
  subject: 's',
  text: 't',
};
const open: SmtpEmailAdapter[] = [];

function adapter(options: SmtpEmailAdapterOptions = {}): SmtpEmailAdapter {
  const a = new SmtpEmailAdapter({
    host: '127.0.0.1',
    port: server.port,
    auth: { user: TEST_USER, pass: TEST_PASSWORD },
    socketTimeoutMs: 1000,
    greetingTimeoutMs: 1000,
    connectionTimeoutMs: 1000,
    ...options,
  });
  open.push(a);
  return a;
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isProviderError(error), `expected a ProviderError, got ${String(error)}`).toBe(true);
  return error as ProviderError;
}

beforeAll(async () => {
  await server.listen();
});
beforeEach(() => {
  server.reset();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await server.close();
});

describe('SmtpEmailAdapter', () => {
  it('pools connections by default and sends one message per transaction', async () => {
    const smtp = adapter();
    for (let i = 0; i < 4; i++) await smtp.send(msg);
    expect(server.requestCount()).toBe(4);
    expect(server.connections).toBe(1);
  });

  it('opens a connection per message with pool: false', async () => {
    const smtp = adapter({ pool: false });
    for (let i = 0; i < 3; i++) await smtp.send(msg);
    expect(server.connections).toBe(3);
  });

  it('takes a configured transporter', async () => {
    const transporter = createTransport({
      host: '127.0.0.1',
      port: server.port,
      auth: { user: TEST_USER, pass: TEST_PASSWORD },
    }) as unknown as SmtpTransporter;
    const smtp = adapter({ transporter, provider: 'relay' });
    const result = await smtp.send(msg);
    expect(result.provider).toBe('relay');
    expect(server.received()).toHaveLength(1);
    // the transporter belongs to whoever made it: close() leaves it usable
    await smtp.close();
    await transporter.sendMail({ from: 'a@example.com', to: ['b@example.com'], subject: 's', text: 't' });
    expect(server.received()).toHaveLength(2);
    transporter.close();
  });

  it('derives the Message-ID from idempotencyKey, the same for the same key', async () => {
    const smtp = adapter();
    const first = await smtp.send({ ...msg, idempotencyKey: 'order-42:welcome' });
    const again = await smtp.send({ ...msg, idempotencyKey: 'order-42:welcome' });
    const other = await smtp.send({ ...msg, idempotencyKey: 'order-43:welcome' });
    expect(first.messageId).toMatch(/^<[0-9a-f]{40}@example\.com>$/);
    expect(again.messageId).toBe(first.messageId);
    expect(other.messageId).not.toBe(first.messageId);
    expect(server.received().map((m) => `<${m.messageId?.replace(/^<|>$/g, '')}>`)).toEqual([
      first.messageId,
      first.messageId,
      other.messageId,
    ]);
    const custom = await adapter({ messageIdDomain: 'mail.example.org' }).send({
      ...msg,
      idempotencyKey: 'k',
    });
    expect(custom.messageId).toMatch(/@mail\.example\.org>$/);
  });

  it('reports recipients refused while the rest were accepted', async () => {
    server.rejectRecipient('gone@example.com');
    const result = await adapter().send({ ...msg, to: ['rita@example.com', 'gone@example.com'] });
    expect(result.rejected).toEqual(['gone@example.com']);
    expect(server.received()[0]?.to.map((a) => a.address)).toEqual(['rita@example.com', 'gone@example.com']);
  });

  it.each([
    ['MAIL', 421, 'transient'],
    ['RCPT', 450, 'transient'],
    ['DATA', 451, 'transient'],
    ['RCPT', 452, 'transient'],
    ['MAIL', 454, 'throttled'],
  ] as const)('maps a %s reply of %i to %s over the wire', async (stage, code, kind) => {
    server.replyAt(stage, code);
    const error = await failure(adapter().send(msg));
    expect(error).toMatchObject({ kind, status: code, retryable: true, provider: 'smtp' });
  });

  it('maps a 5xx to DATA to permanent, message scope, and to MAIL FROM to provider scope', async () => {
    server.replyAt('DATA', 554, '5.6.0 Message content rejected');
    expect(await failure(adapter().send(msg))).toMatchObject({
      kind: 'permanent',
      scope: 'message',
      status: 554,
    });
    server.replyAt('MAIL', 554, '5.7.1 Sender address not verified');
    expect(await failure(adapter().send(msg))).toMatchObject({
      kind: 'permanent',
      scope: 'provider',
      status: 554,
    });
  });

  it('maps connection refused to transient', async () => {
    const closed = new SmtpTestServer();
    const port = await closed.listen();
    await closed.close();
    const error = await failure(adapter({ port }).send(msg));
    expect(error.kind).toBe('transient');
    expect(error.cause?.code).toBe('ESOCKET');
  });

  it('maps a server that never greets to transient, within the greeting timeout', async () => {
    server.hangGreeting();
    const started = performance.now();
    const error = await failure(adapter({ greetingTimeoutMs: 200, socketTimeoutMs: 2000 }).send(msg));
    expect(error.kind).toBe('transient');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(server.requestCount()).toBe(0);
  });

  it('maps a socket timeout after DATA to timeout (ambiguous: the message arrived)', async () => {
    server.hang();
    const error = await failure(adapter({ socketTimeoutMs: 200 }).send(msg));
    expect(error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(server.requestCount()).toBe(1);
  });

  it('closes the pool on close() and refuses to send afterwards', async () => {
    const smtp = adapter();
    await smtp.send(msg);
    expect(server.openConnections).toBe(1);
    await smtp.close();
    await vi.waitFor(() => expect(server.openConnections).toBe(0), { timeout: 1000, interval: 5 });
    expect(await failure(smtp.send(msg))).toMatchObject({ kind: 'permanent', retryable: false });
  });

  it('keeps credentials out of every error, its inspect output and the logs', async () => {
    const secrets = [
      TEST_PASSWORD,
      Buffer.from(`\u0000${TEST_USER}\u0000${TEST_PASSWORD}`).toString('base64'),
      Buffer.from(TEST_PASSWORD).toString('base64'),
    ];
    const logged: string[] = [];
    const capture = (...args: unknown[]) => {
      logged.push(args.map(String).join(' '));
    };
    const spies = [
      vi.spyOn(console, 'log').mockImplementation(capture),
      vi.spyOn(console, 'info').mockImplementation(capture),
      vi.spyOn(console, 'warn').mockImplementation(capture),
      vi.spyOn(console, 'error').mockImplementation(capture),
      vi.spyOn(console, 'debug').mockImplementation(capture),
    ];
    const closed = new SmtpTestServer();
    const closedPort = await closed.listen();
    await closed.close();
    const errors: ProviderError[] = [];
    try {
      const faults: (() => void)[] = [
        () => server.badCredentials(),
        () => server.fail5xx(),
        () => server.throttle(1),
        () => server.rejectRecipient('rita@example.com'),
        () => server.replyAt('MAIL', 554),
        () => server.hang(),
      ];
      for (const fault of faults) {
        server.reset();
        fault();
        errors.push(await failure(adapter({ socketTimeoutMs: 200 }).send(msg)));
      }
      errors.push(await failure(adapter({ port: closedPort }).send(msg)));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(errors.map((e) => e.kind)).toEqual([
      'auth',
      'transient',
      'throttled',
      'permanent',
      'permanent',
      'timeout',
      'transient',
    ]);
    for (const error of errors) {
      const texts = [JSON.stringify(error), inspect(error, { depth: 10 }), String(error), error.stack ?? ''];
      for (const text of texts) {
        for (const secret of secrets) expect(text).not.toContain(secret);
      }
    }
    for (const line of logged) {
      for (const secret of secrets) expect(line).not.toContain(secret);
    }
  });
});
