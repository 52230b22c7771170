import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { SESClient } from '@aws-sdk/client-ses';
import { isProviderError, type ProviderError } from '@tracks/breaker';
import { type EmailMessage, isInvalidMessageError } from '@tracks/email';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SesEmailAdapter, type SesEmailAdapterOptions } from './ses-email-adapter.js';
import { type SesReply, type SesTestServer, startSesServer } from './test-server.js';

const SECRET = 'ses-test-secret-0123456789abcdef';
const SESSION = 'ses-test-session-token-fedcba9876543210';
const credentials = { accessKeyId: 'AKIDTRACKSTEST', secretAccessKey: SECRET, sessionToken: SESSION };

let server: SesTestServer;
const adapters: SesEmailAdapter[] = [];

function adapter(options: SesEmailAdapterOptions = {}): SesEmailAdapter {
  const a = new SesEmailAdapter({
    region: 'us-east-1',
    endpoint: server.url,
    credentials,
    requestTimeoutMs: 2_000,
    connectionTimeoutMs: 2_000,
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

function expectNoSecrets(error: unknown): void {
  for (const text of [
    JSON.stringify(error),
    inspect(error, { depth: 10, showHidden: true }),
    String(error),
  ]) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SESSION);
  }
}

beforeAll(async () => {
  server = await startSesServer();
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

describe('SesEmailAdapter', () => {
  it('declares SES v1 limits and its provider name', () => {
    const a = adapter();
    expect(a.provider).toBe('ses');
    expect(a.limits).toEqual({ maxRecipients: 50, maxMessageBytes: 10 * 1024 * 1024 });
    expect(adapter({ limits: { maxRecipients: 5 } }).limits.maxRecipients).toBe(5);
  });

  it('sends a plain message with SendEmail, names encoded, tags and configuration set attached', async () => {
    const result = await adapter({ configurationSetName: 'transactional' }).send(
      message({
        from: 'Zoë <zoe@exämple.de>',
        replyTo: 'Help Desk <help@example.com>',
        cc: ['"Doe, John" <john@example.com>'],
        tags: { campaign: 'welcome', tier: 'gold' },
        html: '<p>Hi</p>',
      }),
    );
    const [got] = server.received;
    expect(got?.action).toBe('SendEmail');
    expect(result).toEqual({ provider: 'ses', messageId: got?.messageId });
    expect(server.requests[0]?.params.Source).toBe('=?UTF-8?B?Wm/Dqw==?= <zoe@xn--exmple-cua.de>');
    // mailparser shows the IDN domain decoded again
    expect(got?.from).toEqual({ address: 'zoe@exämple.de', name: 'Zoë' });
    expect(got?.cc).toEqual([{ address: 'john@example.com', name: 'Doe, John' }]);
    expect(got?.replyTo).toEqual({ address: 'help@example.com', name: 'Help Desk' });
    expect(got?.html).toBe('<p>Hi</p>');
    expect(got?.tags).toEqual({ campaign: 'welcome', tier: 'gold' });
    expect(got?.configurationSetName).toBe('transactional');
    expect(server.requests[0]?.params['Message.Subject.Charset']).toBe('UTF-8');
  });

  it('sends attachments and custom headers with SendRawEmail, bcc only in Destinations', async () => {
    await adapter().send(
      message({
        bcc: ['secret@example.com'],
        headers: { 'X-Campaign': 'spring' },
        attachments: [
          {
            filename: 'logo.png',
            contentType: 'image/png',
            content: new Uint8Array([137, 80, 78, 71]),
            contentId: 'logo',
          },
        ],
        html: '<img src="cid:logo">',
        tags: { campaign: 'spring' },
      }),
    );
    const [got] = server.received;
    expect(got?.action).toBe('SendRawEmail');
    expect(server.requests[0]?.params['Destinations.member.2']).toBe('secret@example.com');
    expect(got?.raw?.toString('latin1')).not.toContain('secret@example.com');
    expect(got?.bcc).toEqual([{ address: 'secret@example.com' }]);
    expect(got?.headers['x-campaign']).toBe('spring');
    expect(got?.attachments[0]).toMatchObject({ filename: 'logo.png', contentId: 'logo' });
    expect([...(got?.attachments[0]?.content ?? [])]).toEqual([137, 80, 78, 71]);
    expect(got?.tags).toEqual({ campaign: 'spring' });
  });

  it('carries the idempotency key as an X- header, which forces SendRawEmail', async () => {
    await adapter().send(message({ idempotencyKey: 'order-42-receipt' }));
    await adapter({ idempotencyHeader: 'X-Tracks-Key' }).send(message({ idempotencyKey: 'order-43' }));
    expect(server.received.map((m) => m.action)).toEqual(['SendRawEmail', 'SendRawEmail']);
    expect(server.received[0]?.headers['x-idempotency-key']).toBe('order-42-receipt');
    expect(server.received[1]?.headers['x-tracks-key']).toBe('order-43');
  });

  it('uses a client passed in and leaves it open on close()', async () => {
    const client = new SESClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 });
    const destroy = vi.spyOn(client, 'destroy');
    const a = adapter({ client });
    await a.send(message());
    await a.close();
    expect(destroy).not.toHaveBeenCalled();
    expect(server.received).toHaveLength(1);
    client.destroy();
  });

  it('destroys the client it built on close()', async () => {
    const destroy = vi.spyOn(SESClient.prototype, 'destroy');
    await adapter().close();
    expect(destroy).toHaveBeenCalledTimes(1);
    destroy.mockRestore();
  });
});

describe('SesEmailAdapter error mapping over the wire', () => {
  const cases: {
    reply: SesReply;
    expected: Partial<Pick<ProviderError, 'kind' | 'scope' | 'retryable' | 'status'>>;
  }[] = [
    {
      reply: { kind: 'error', status: 400, code: 'Throttling', message: 'Maximum sending rate exceeded.' },
      expected: { kind: 'throttled', scope: 'provider', retryable: true, status: 400 },
    },
    {
      reply: { kind: 'error', status: 503, code: 'ServiceUnavailable', message: 'Service is unavailable.' },
      expected: { kind: 'transient', scope: 'provider', retryable: true, status: 503 },
    },
    {
      reply: { kind: 'error', status: 500, code: 'InternalFailure', message: 'Oops.' },
      expected: { kind: 'transient', retryable: true },
    },
    {
      reply: { kind: 'error', status: 502, code: 'SomethingNew', message: 'Bad gateway.' },
      expected: { kind: 'transient', retryable: true },
    },
    {
      reply: {
        kind: 'error',
        status: 400,
        code: 'MessageRejected',
        message: 'Email address is not verified.',
      },
      expected: { kind: 'permanent', scope: 'message', retryable: false },
    },
    {
      reply: { kind: 'error', status: 400, code: 'InvalidParameterValue', message: 'Missing final @domain' },
      expected: { kind: 'invalid', scope: 'message', retryable: false },
    },
    {
      reply: {
        kind: 'error',
        status: 400,
        code: 'MailFromDomainNotVerifiedException',
        message: 'MAIL FROM domain not verified',
      },
      expected: { kind: 'permanent', scope: 'provider', retryable: false },
    },
    {
      reply: {
        kind: 'error',
        status: 400,
        code: 'AccountSendingPausedException',
        message: 'Sending paused.',
      },
      expected: { kind: 'permanent', scope: 'provider', retryable: false },
    },
    {
      reply: {
        kind: 'error',
        status: 403,
        code: 'SignatureDoesNotMatch',
        message: 'The request signature we calculated does not match the signature you provided.',
      },
      expected: { kind: 'auth', scope: 'provider', retryable: false, status: 403 },
    },
    {
      reply: {
        kind: 'error',
        status: 403,
        code: 'AccessDenied',
        message: 'User is not authorized to perform ses:SendEmail',
      },
      expected: { kind: 'auth', scope: 'provider', retryable: false },
    },
    {
      reply: {
        kind: 'error',
        status: 400,
        code: 'UnrecognizedClientException',
        message: 'The security token is invalid.',
      },
      expected: { kind: 'auth' },
    },
    { reply: { kind: 'hang' }, expected: { kind: 'timeout', scope: 'provider', retryable: true } },
    { reply: { kind: 'reset' }, expected: { kind: 'timeout', retryable: true } },
    {
      reply: { kind: 'no-message-id' },
      expected: { kind: 'permanent', scope: 'provider', retryable: false },
    },
  ];

  for (const { reply, expected } of cases) {
    const label = reply.kind === 'error' ? `${reply.status} ${reply.code}` : reply.kind;
    it(`maps ${label} to ${expected.kind}, keeping the secrets out`, async () => {
      server.fallback = reply;
      const error = await rejection(forReply(reply).send(message()));
      expect(isProviderError(error), String(error)).toBe(true);
      expect(error).toMatchObject({ provider: 'ses', operation: 'send', ...expected });
      expectNoSecrets(error);
      expect(server.requests).toHaveLength(1);
    });
  }

  it('maps the daily quota to throttled until the next UTC midnight, provider scope', async () => {
    server.fallback = {
      kind: 'error',
      status: 400,
      code: 'Throttling',
      message: 'Daily message quota exceeded.',
    };
    const now = Date.UTC(2026, 11, 3, 22, 30, 0);
    const error = await rejection(adapter({ now: () => now }).send(message()));
    expect(error).toMatchObject({ kind: 'throttled', scope: 'provider', retryAfterMs: 90 * 60 * 1000 });
    expect(error.message).toMatch(/daily message quota/);
  });

  it('maps refused credentials (InvalidClientTokenId) to auth', async () => {
    server.accessKeyIds.clear();
    const error = await rejection(adapter().send(message()));
    expect(error).toMatchObject({ kind: 'auth', status: 403 });
    expect(error.cause).toMatchObject({ name: 'InvalidClientTokenId' });
    expect(error.cause?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expectNoSecrets(error);
  });

  it('maps a refused connection to transient: nothing was sent', async () => {
    const port = await freePort();
    const a = adapter({ endpoint: `http://127.0.0.1:${port}` });
    const error = await rejection(a.send(message()));
    expect(error).toMatchObject({ kind: 'transient', retryable: true });
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
    expectNoSecrets(error);
  });

  it('bounds a hung request by requestTimeoutMs', async () => {
    server.fallback = { kind: 'hang' };
    const started = performance.now();
    const error = await rejection(adapter({ requestTimeoutMs: 80 }).send(message()));
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/may have been delivered/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('logs nothing that holds a secret', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => {}),
    );
    try {
      for (const reply of cases.map((c) => c.reply)) {
        server.fallback = reply;
        await rejection(forReply(reply).send(message()));
      }
      for (const spy of spies) {
        for (const call of spy.mock.calls) expect(inspect(call, { depth: 10 })).not.toContain(SECRET);
      }
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe('SesEmailAdapter bad input', () => {
  const bad: [string, Partial<EmailMessage>][] = [
    ['a CR/LF in the subject', { subject: 'Hi\r\nBcc: victim@example.com' }],
    ['a CR/LF in a header value', { headers: { 'X-Note': 'a\nBcc: victim@example.com' } }],
    ['a header overriding Bcc', { headers: { Bcc: 'victim@example.com' } }],
    ['a CR/LF in a display name', { to: ['"Ann\r\nBcc: x@example.com" <ann@example.com>'] }],
    [
      'a CR/LF in a filename',
      { attachments: [{ filename: 'a\r\n.txt', contentType: 'text/plain', content: 'x' }] },
    ],
    ['a malformed address', { to: ['not an address'] }],
    ['a non-ASCII local part', { to: ['zoë@example.com'] }],
    ['51 recipients', { to: Array.from({ length: 51 }, (_, i) => `r${i}@example.com`) }],
    [
      'an attachment over 10 MB once encoded',
      {
        attachments: [
          {
            filename: 'big.bin',
            contentType: 'application/octet-stream',
            content: new Uint8Array(8 * 1024 * 1024),
          },
        ],
      },
    ],
    ['an empty body', { text: '' }],
  ];

  for (const [label, overrides] of bad) {
    it(`refuses ${label} before the wire`, async () => {
      const error = await rejection(adapter().send(message(overrides)));
      expect(isInvalidMessageError(error), String(error)).toBe(true);
      expect(error).toMatchObject({ kind: 'invalid', scope: 'message', retryable: false });
      expect(server.requests).toHaveLength(0);
    });
  }

  it('refuses an already-aborted signal without a request', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(adapter().send(message(), { signal: controller.signal })).rejects.toBe(reason);
    expect(server.requests).toHaveLength(0);
  });
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
