import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { MailService } from '@sendgrid/mail';
import { isProviderError, type ProviderError } from '@tracks/breaker';
import { type EmailMessage, isInvalidMessageError } from '@tracks/email';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SendGridEmailAdapter, type SendGridEmailAdapterOptions } from './sendgrid-email-adapter.js';
import {
  rateLimitHeaders,
  type SendGridReply,
  type SendGridTestServer,
  startSendGridServer,
} from './test-server.js';

const API_KEY = 'SG.unit-test-key.0123456789abcdefghijklmnop';

let server: SendGridTestServer;
const adapters: SendGridEmailAdapter[] = [];

function adapter(options: Partial<SendGridEmailAdapterOptions> = {}): SendGridEmailAdapter {
  const a = new SendGridEmailAdapter({
    apiKey: API_KEY,
    baseUrl: server.url,
    requestTimeoutMs: 2_000,
    ...options,
  });
  adapters.push(a);
  return a;
}

// only a hang waits for the timeout: keep that one short, and every other one generous so that a
// busy CI machine cannot turn a normal answer into a timeout
function forReply(reply: { kind: string }): ReturnType<typeof adapter> {
  return adapter(reply.kind === 'hang' ? { requestTimeoutMs: 100 } : {});
}

const message = (overrides: Partial<EmailMessage> = {}): EmailMessage => ({
  from: 'Sender <sender@example.com>',
  to: ['rita@example.com'],
  subject: 'Hello',
  text: 'Hi there',
  ...overrides,
});

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    return error as ProviderError;
  }
  throw new Error('expected a rejection');
}

function expectNoKey(value: unknown): void {
  for (const text of [
    JSON.stringify(value),
    inspect(value, { depth: 10, showHidden: true }),
    String(value),
  ]) {
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('unit-test-key');
  }
}

beforeAll(async () => {
  server = await startSendGridServer({ apiKeys: [API_KEY] });
});
beforeEach(() => {
  server.reset();
});
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await server.close();
});

describe('SendGridEmailAdapter', () => {
  it("declares SendGrid's limits and its provider name", () => {
    const a = adapter();
    expect(a.provider).toBe('sendgrid');
    expect(a.limits).toEqual({ maxRecipients: 1000, maxMessageBytes: 30 * 1024 * 1024 });
  });

  it('needs an API key or a client', () => {
    expect(() => new SendGridEmailAdapter({})).toThrow(/apiKey/);
  });

  it('sends v3 JSON: mailboxes as objects, IDN domains in ASCII, content in order, attachments in base64', async () => {
    const result = await adapter().send(
      message({
        from: '"Doe, Jane" <jane@exämple.de>',
        replyTo: 'Help <help@example.com>',
        cc: ['Carl <carl@example.com>'],
        bcc: ['hidden@example.com'],
        html: '<p>Hi <img src="cid:logo"></p>',
        headers: { 'X-Campaign': 'spring' },
        attachments: [
          {
            filename: 'logo.png',
            contentType: 'image/png',
            content: new Uint8Array([1, 2, 3]),
            contentId: 'logo',
          },
          { filename: 'a.txt', contentType: 'text/plain', content: 'Zoë' },
        ],
      }),
    );
    const [got] = server.received;
    expect(result).toEqual({ provider: 'sendgrid', messageId: got?.messageId });
    const body = got?.body as Record<string, unknown>;
    expect(body.from).toEqual({ email: 'jane@xn--exmple-cua.de', name: 'Doe, Jane' });
    expect(body.reply_to).toEqual({ email: 'help@example.com', name: 'Help' });
    expect(body.personalizations).toEqual([
      {
        to: [{ email: 'rita@example.com' }],
        cc: [{ email: 'carl@example.com', name: 'Carl' }],
        bcc: [{ email: 'hidden@example.com' }],
      },
    ]);
    expect((body.content as { type: string }[]).map((c) => c.type)).toEqual(['text/plain', 'text/html']);
    expect(body.headers).toEqual({ 'X-Campaign': 'spring' });
    expect(body.attachments).toEqual([
      { filename: 'logo.png', type: 'image/png', content: 'AQID', disposition: 'inline', content_id: 'logo' },
      {
        filename: 'a.txt',
        type: 'text/plain',
        content: Buffer.from('Zoë').toString('base64'),
        disposition: 'attachment',
      },
    ]);
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('carries tags and the idempotency key as custom args', async () => {
    await adapter().send(message({ tags: { campaign: 'welcome' }, idempotencyKey: 'order-42' }));
    await adapter({ idempotencyArg: 'tracks_key' }).send(message({ idempotencyKey: 'order-43' }));
    expect(server.received[0]?.customArgs).toEqual({ campaign: 'welcome', idempotency_key: 'order-42' });
    expect(server.received[1]?.customArgs).toEqual({ tracks_key: 'order-43' });
  });

  it('allows up to 1000 recipients, unlike SES', async () => {
    const to = Array.from({ length: 1000 }, (_, i) => `r${i}@example.com`);
    await adapter().send(message({ to }));
    expect(server.received[0]?.to).toHaveLength(1000);
  });

  it('uses a MailService passed in', async () => {
    const mail = new MailService();
    mail.setApiKey(API_KEY);
    (
      mail as unknown as { client: { setDefaultRequest(k: string, v: string): void } }
    ).client.setDefaultRequest('baseUrl', server.url);
    await adapter({ client: mail }).send(message());
    expect(server.received).toHaveLength(1);
  });

  it('ends the wait on abort while the SDK request runs on in the background', async () => {
    server.fallback = { kind: 'hang' };
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = adapter({ requestTimeoutMs: 100 }).send(message(), { signal: controller.signal });
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('refuses an already-aborted signal without a request', async () => {
    const controller = new AbortController();
    controller.abort(new Error('no'));
    await expect(adapter().send(message(), { signal: controller.signal })).rejects.toThrow('no');
    expect(server.requests).toHaveLength(0);
  });
});

describe('SendGridEmailAdapter error mapping over the wire', () => {
  const error = (
    status: number,
    errors: { message: string; field?: string | null }[],
    headers?: Record<string, string>,
  ): SendGridReply => ({ kind: 'error', status, errors, ...(headers === undefined ? {} : { headers }) });
  const cases: [
    string,
    SendGridReply,
    Partial<Pick<ProviderError, 'kind' | 'scope' | 'retryable' | 'status' | 'field'>>,
  ][] = [
    [
      '429 without a hint',
      error(429, [{ message: 'too many requests' }]),
      { kind: 'throttled', retryable: true, status: 429 },
    ],
    [
      '401',
      error(401, [{ message: 'The provided authorization grant is invalid, expired, or revoked' }]),
      { kind: 'auth', scope: 'provider', retryable: false, status: 401 },
    ],
    [
      '403',
      error(403, [{ message: 'The from address does not match a verified Sender Identity.', field: 'from' }]),
      { kind: 'auth', scope: 'provider' },
    ],
    [
      '400 naming a recipient',
      error(400, [{ message: 'Does not contain a valid address.', field: 'personalizations.0.cc.0.email' }]),
      { kind: 'permanent', scope: 'message', retryable: false, field: 'cc', status: 400 },
    ],
    [
      '400 naming another field',
      error(400, [{ message: 'The from email does not contain a valid address.', field: 'from.email' }]),
      { kind: 'invalid', scope: 'message', retryable: false, field: 'from' },
    ],
    ['400 without errors[]', error(400, []), { kind: 'invalid', scope: 'message', retryable: false }],
    ['413', error(413, [{ message: 'Payload Too Large' }]), { kind: 'invalid', scope: 'message' }],
    [
      '500',
      error(500, [{ message: 'Internal server error' }]),
      { kind: 'transient', scope: 'provider', retryable: true },
    ],
    [
      '503',
      error(503, [{ message: 'Service Unavailable' }]),
      { kind: 'transient', retryable: true, status: 503 },
    ],
    ['a hang (axios ECONNABORTED)', { kind: 'hang' }, { kind: 'timeout', retryable: true }],
    ['a connection reset', { kind: 'reset' }, { kind: 'timeout', retryable: true }],
    [
      '202 without x-message-id',
      { kind: 'no-message-id' },
      { kind: 'permanent', scope: 'provider', retryable: false },
    ],
  ];

  for (const [label, reply, expected] of cases) {
    it(`maps ${label} to ${expected.kind}, with the API key in no error output`, async () => {
      server.fallback = reply;
      const e = await rejection(forReply(reply).send(message()));
      expect(isProviderError(e), String(e)).toBe(true);
      expect(e).toMatchObject({ provider: 'sendgrid', operation: 'send', ...expected });
      expectNoKey(e);
      // the cause is the sanitized summary, never the axios error with its request config
      for (const key of Object.keys(e.cause ?? {})) {
        expect(['name', 'code', 'status', 'requestId', 'message']).toContain(key);
      }
      expect(JSON.stringify(e)).not.toMatch(/bearer/i);
      expect(server.requests).toHaveLength(1);
    });
  }

  it('maps a 400 to a message naming SendGrid’s reason', async () => {
    server.fallback = error(400, [{ message: 'The subject is required.', field: 'subject' }]);
    const e = await rejection(adapter().send(message()));
    expect(e.field).toBe('subject');
    expect(e.message).toContain('The subject is required.');
  });

  it('maps refused credentials to auth', async () => {
    server.apiKeys.clear();
    const e = await rejection(adapter().send(message()));
    expect(e).toMatchObject({ kind: 'auth', status: 401 });
    expect(e.message).toContain('authorization grant is invalid');
    expectNoKey(e);
  });

  it('reads retryAfterMs from Retry-After', async () => {
    server.fallback = error(429, [{ message: 'too many requests' }], { 'retry-after': '12' });
    const e = await rejection(adapter().send(message()));
    expect(e).toMatchObject({ kind: 'throttled', retryAfterMs: 12_000 });
  });

  it('reads retryAfterMs from X-RateLimit-Reset against the injected clock', async () => {
    const now = Date.UTC(2026, 11, 3, 23, 0, 0);
    const { 'retry-after': _, ...headers } = rateLimitHeaders(30, now);
    server.fallback = error(429, [{ message: 'too many requests' }], headers);
    const e = await rejection(adapter({ now: () => now }).send(message()));
    expect(e).toMatchObject({ kind: 'throttled', retryAfterMs: 30_000 });
  });

  it('maps a refused connection to transient: nothing was sent', async () => {
    const port = await freePort();
    const e = await rejection(adapter({ baseUrl: `http://127.0.0.1:${port}/` }).send(message()));
    expect(e).toMatchObject({ kind: 'transient', retryable: true });
    expect(e.cause).toMatchObject({ code: 'ECONNREFUSED' });
    expectNoKey(e);
  });

  it('bounds a hung request by requestTimeoutMs', async () => {
    server.fallback = { kind: 'hang' };
    const started = performance.now();
    const e = await rejection(adapter({ requestTimeoutMs: 80 }).send(message()));
    expect(e.kind).toBe('timeout');
    expect(e.message).toMatch(/may have been delivered/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('scrubs the key from errors of a client passed in when apiKey is given too', async () => {
    const mail = new MailService();
    mail.setApiKey(API_KEY);
    const port = await freePort();
    (
      mail as unknown as { client: { setDefaultRequest(k: string, v: string): void } }
    ).client.setDefaultRequest('baseUrl', `http://127.0.0.1:${port}/`);
    const e = await rejection(adapter({ client: mail }).send(message()));
    expectNoKey(e);
  });

  it('logs nothing that holds the API key, on any path', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => {}),
    );
    try {
      await adapter().send(message());
      for (const [, reply] of cases) {
        server.fallback = reply;
        await rejection(forReply(reply).send(message()));
      }
      for (const spy of spies) {
        for (const call of spy.mock.calls) expect(inspect(call, { depth: 10 })).not.toContain(API_KEY);
      }
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe('SendGridEmailAdapter bad input', () => {
  const bad: [string, Partial<EmailMessage>][] = [
    ['a CR/LF in the subject', { subject: 'Hi\r\nBcc: victim@example.com' }],
    ['a CR/LF in a header value', { headers: { 'X-Note': 'a\nBcc: victim@example.com' } }],
    ['a header overriding From', { headers: { From: 'ceo@example.com' } }],
    ['a CR/LF in a display name', { from: '"Ann\r\nBcc: x@example.com" <ann@example.com>' }],
    [
      'a CR/LF in a filename',
      { attachments: [{ filename: 'a\r\n.txt', contentType: 'text/plain', content: 'x' }] },
    ],
    ['a malformed address', { cc: ['rita@'] }],
    ['1001 recipients', { to: Array.from({ length: 1001 }, (_, i) => `r${i}@example.com`) }],
    [
      'an attachment over 30 MB once encoded',
      {
        attachments: [
          {
            filename: 'big.bin',
            contentType: 'application/octet-stream',
            content: new Uint8Array(23 * 1024 * 1024),
          },
        ],
      },
    ],
    ['an empty body', { text: '' }],
  ];

  for (const [label, overrides] of bad) {
    it(`refuses ${label} before the wire`, async () => {
      const e = await rejection(adapter().send(message(overrides)));
      expect(isInvalidMessageError(e), String(e)).toBe(true);
      expect(e).toMatchObject({ kind: 'invalid', scope: 'message', retryable: false });
      expect(server.requests).toHaveLength(0);
    });
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
