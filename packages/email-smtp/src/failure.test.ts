// The "bad input and failure tests" for SMTP, through withResilience with the email
// preset's breaker on an injected clock: bad input never reaches the wire or the breaker; a
// provider that hangs, resets or refuses for a while costs bounded latency, opens the breaker,
// is then skipped in well under a millisecond, and is let back in through half-open.
import { CircuitBreaker, isOpenStateError, presets } from '@tracks/breaker';
import { type EmailMessage, isInvalidMessageError, withResilience } from '@tracks/email';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SmtpEmailAdapter } from './smtp-email-adapter.js';
import { FaultProxy } from './test/fault-proxy.js';
import { SmtpTestServer, TEST_PASSWORD, TEST_USER } from './test/smtp-test-server.js';

const SOCKET_TIMEOUT_MS = 200;
// what a failing send may take beyond the socket timeout on a loaded CI machine
const SLACK_MS = 400;

const server = new SmtpTestServer();
let proxy: FaultProxy;
let proxyPort: number;
const msg: EmailMessage = {
  from: 'Sender <sender@example.com>',
  to: ['rita@example.com'],
  subject: 's',
  text: 't',
};

function setup(limits?: { maxMessageBytes?: number }) {
  let now = 0;
  const breaker = new CircuitBreaker({ ...presets.email, name: 'email:smtp', now: () => now });
  const transitions: string[] = [];
  breaker.onStateChange((e) => transitions.push(`${e.from}->${e.to}`));
  const smtp = new SmtpEmailAdapter({
    host: '127.0.0.1',
    port: proxyPort,
    auth: { user: TEST_USER, pass: TEST_PASSWORD },
    socketTimeoutMs: SOCKET_TIMEOUT_MS,
    greetingTimeoutMs: 500,
    connectionTimeoutMs: 500,
    ...(limits ? { limits } : {}),
  });
  const email = withResilience(smtp, { retry: false, breaker, timeout: 2000 });
  return {
    email,
    breaker,
    transitions,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

beforeAll(async () => {
  const port = await server.listen();
  proxy = new FaultProxy(port);
  proxyPort = await proxy.listen();
});
beforeEach(() => {
  server.reset();
  proxy.reset(false);
  proxy.clearRecording();
});
afterAll(async () => {
  await proxy.close();
  await server.close();
});

describe('SmtpEmailAdapter with bad input', () => {
  const many = Array.from({ length: 51 }, (_, i) => `r${i}@example.com`);
  const cases: [string, Partial<EmailMessage>, string][] = [
    ['header injection in the subject', { subject: 'Hi\r\nBcc: victim@example.com' }, 'subject'],
    ['a bare LF in the subject', { subject: 'Hi\nBcc: victim@example.com' }, 'subject'],
    [
      'header injection in a header value',
      { headers: { 'X-Ref': 'a\r\nBcc: victim@example.com' } },
      'headers.X-Ref',
    ],
    [
      'header injection in a header name',
      { headers: { 'X-Ref\r\nBcc': 'victim@example.com' } },
      'headers.X-Ref\\n\\nBcc',
    ],
    ['a protected header', { headers: { Bcc: 'victim@example.com' } }, 'headers.Bcc'],
    [
      'header injection in a display name',
      { to: ['Rita\r\nBcc: victim@example.com <rita@example.com>'] },
      'to[0]',
    ],
    [
      'header injection in the sender name',
      { from: 'Evil\nBcc: victim@example.com <evil@example.com>' },
      'from',
    ],
    [
      'header injection in a filename',
      {
        attachments: [
          { filename: 'a.txt\r\nContent-Type: text/html', contentType: 'text/plain', content: 'x' },
        ],
      },
      'attachments[0].filename',
    ],
    ['a malformed address', { to: ['rita@'] }, 'to[0]'],
    ['two addresses in one entry', { cc: ['a@example.com, b@example.com'] }, 'cc[0]'],
    ['an internationalised local part (needs SMTPUTF8)', { bcc: ['zoë@example.com'] }, 'bcc[0]'],
    ['51 recipients', { to: many }, 'to'],
    [
      "an attachment over the adapter's limit",
      {
        attachments: [
          { filename: 'big.bin', contentType: 'application/octet-stream', content: new Uint8Array(48_000) },
        ],
      },
      'attachments[0].content',
    ],
    ['an empty body', { text: '' }, 'text'],
  ];

  it.each(cases)(
    'refuses %s: typed error, nothing on the wire, breaker untouched',
    async (_label, patch, field) => {
      const { email, breaker } = setup({ maxMessageBytes: 64 * 1024 });
      const before = breaker.counts;
      const error = await email.send({ ...msg, ...patch }).catch((e: unknown) => e);
      expect(isInvalidMessageError(error), String(error)).toBe(true);
      expect(error).toMatchObject({ kind: 'invalid', scope: 'message', field, provider: 'smtp' });
      expect(proxy.connections).toBe(0);
      expect(server.requestCount()).toBe(0);
      expect(breaker.counts).toEqual(before);
      await email.close?.();
    },
  );

  it('delivers to an internationalised domain in its Punycode form', async () => {
    const { email } = setup();
    await email.send({ ...msg, to: ['José <jose@exämple.de>'] });
    // smtp-server decodes Punycode when it parses the envelope: look at the bytes themselves
    expect(proxy.clientBytes()).toContain('RCPT TO:<jose@xn--exmple-cua.de>');
    expect(proxy.clientBytes()).not.toContain('exämple');
    expect(server.received()[0]?.to[0]?.name).toBe('José');
    await email.close?.();
  });
});

describe('SmtpEmailAdapter when the provider fails for a while', () => {
  const scenarios: [string, () => void, () => void, string][] = [
    ['hangs after DATA', () => server.hang(), () => server.clearFaults(), 'timeout'],
    ['resets the connection', () => proxy.reset(true), () => proxy.reset(false), 'transient'],
    [
      'answers 421 (service not available)',
      () => server.replyAt('MAIL', 421),
      () => server.clearFaults(),
      'transient',
    ],
    ['answers 503', () => server.replyAt('MAIL', 503), () => server.clearFaults(), 'transient'],
  ];

  it.each(scenarios)(
    '%s: bounded latency, opens, rejects fast without I/O, recovers through half-open',
    async (_label, fail, heal, kind) => {
      const { email, breaker, transitions, advance } = setup();
      await email.send(msg); // a warm pool: the fault meets an open connection, as in production
      fail();

      // the email preset trips at >= 30 % failures of >= 5 calls
      for (let i = 0; i < 4; i++) {
        const started = performance.now();
        const error = await email.send(msg).catch((e: unknown) => e);
        expect(performance.now() - started, 'latency bounded by the socket timeout').toBeLessThan(
          SOCKET_TIMEOUT_MS + SLACK_MS,
        );
        expect(error).toMatchObject({ kind, provider: 'smtp' });
      }
      expect(breaker.state).toBe('open');

      const wire = { connections: proxy.connections, requests: server.requestCount() };
      const rejections = 200;
      const started = performance.now();
      for (let i = 0; i < rejections; i++) {
        const error = await email.send(msg).catch((e: unknown) => e);
        if (!isOpenStateError(error))
          throw new Error(`expected an open-state rejection, got ${String(error)}`);
      }
      const perCallMs = (performance.now() - started) / rejections;
      expect(perCallMs, 'an open breaker answers in well under a millisecond').toBeLessThan(0.5);
      expect({ connections: proxy.connections, requests: server.requestCount() }).toEqual(wire);

      heal();
      advance(presets.email.timeout as number);
      for (let i = 0; i < (presets.email.maxRequests as number); i++) {
        await expect(email.send(msg)).resolves.toMatchObject({ provider: 'smtp' });
      }
      expect(breaker.state).toBe('closed');
      expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
      await email.close?.();
    },
  );
});
