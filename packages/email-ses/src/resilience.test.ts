import {
  CircuitBreaker,
  isOpenStateError,
  isProviderError,
  isTimeoutError,
  type ProviderError,
  presets,
} from '@tracks/breaker';
import {
  type EmailMessage,
  failover,
  isInvalidMessageError,
  MemoryEmailAdapter,
  withResilience,
} from '@tracks/email';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SesEmailAdapter, type SesEmailAdapterOptions } from './ses-email-adapter.js';
import { type SesReply, type SesTestServer, startSesServer } from './test-server.js';

// Issue 5's failure tests, composed the way apps compose them: the adapter inside withResilience
// with the email preset's breaker, on an injected clock so that "open for two minutes" takes none.

const credentials = { accessKeyId: 'AKIDTRACKSTEST', secretAccessKey: 'resilience-secret' };
const unavailable: SesReply = {
  kind: 'error',
  status: 503,
  code: 'ServiceUnavailable',
  message: 'Service unavailable.',
};

let server: SesTestServer;
const closers: (() => Promise<void>)[] = [];

function adapter(options: SesEmailAdapterOptions = {}): SesEmailAdapter {
  const a = new SesEmailAdapter({
    region: 'us-east-1',
    endpoint: server.url,
    credentials,
    requestTimeoutMs: 2_000,
    ...options,
  });
  closers.push(() => a.close());
  return a;
}

function clockedBreaker(): { breaker: CircuitBreaker; advance(ms: number): void } {
  let now = Date.UTC(2026, 11, 3, 12);
  return {
    breaker: new CircuitBreaker({ ...presets.email, name: 'email:ses', now: () => now }),
    advance(ms) {
      now += ms;
    },
  };
}

const message = (overrides: Partial<EmailMessage> = {}): EmailMessage => ({
  from: 'sender@example.com',
  to: ['rita@example.com'],
  subject: 'Hello',
  text: 'Hi',
  ...overrides,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  server = await startSesServer();
});
beforeEach(() => {
  server.reset();
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(async () => {
  await server.close();
});

describe('SesEmailAdapter under withResilience', () => {
  it('gets its own breaker, email:ses, from the email preset', () => {
    expect(withResilience(adapter()).policy.breaker?.name).toBe('email:ses');
  });

  it('opens after 503s for a while, rejects fast without the wire, recovers through half-open', async () => {
    const { breaker, advance } = clockedBreaker();
    const ses = withResilience(adapter(), { retry: false, breaker });
    server.fallback = unavailable;
    for (let i = 0; i < 5; i++) {
      expect(await rejection(ses.send(message()))).toMatchObject({ kind: 'transient', provider: 'ses' });
    }
    // the email preset trips at 30 % failures over at least 5 calls
    expect(breaker.state).toBe('open');
    expect(server.requests).toHaveLength(5);

    const calls = 200;
    const started = performance.now();
    for (let i = 0; i < calls; i++) {
      const error = await rejection(ses.send(message()));
      expect(isOpenStateError(error)).toBe(true);
    }
    expect((performance.now() - started) / calls, 'ms per rejected call').toBeLessThan(1);
    expect(server.requests, 'an open breaker never touches the wire').toHaveLength(5);

    server.fallback = { kind: 'ok' };
    advance(presets.email.timeout ?? 120_000);
    expect(breaker.state).toBe('half-open');
    for (let i = 0; i < (presets.email.maxRequests ?? 5); i++) {
      expect(await ses.send(message())).toMatchObject({ provider: 'ses' });
    }
    expect(breaker.state).toBe('closed');
    expect(server.requests).toHaveLength(5 + (presets.email.maxRequests ?? 5));
  });

  it('bounds the latency of a hung provider by the timeout, and the hangs open the breaker', async () => {
    const { breaker } = clockedBreaker();
    // the policy's deadline is the shorter one here: the SDK's own timeout is far away
    const ses = withResilience(adapter({ requestTimeoutMs: 5_000 }), { retry: false, breaker, timeout: 60 });
    server.fallback = { kind: 'hang' };
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const error = await rejection(ses.send(message()));
      expect(performance.now() - started).toBeLessThan(60 + 1_000);
      expect(
        isTimeoutError(error) || (isProviderError(error) && error.kind === 'timeout'),
        String(error),
      ).toBe(true);
    }
    expect(breaker.state).toBe('open');
  });

  it('opens on connection resets too, and does not retry them (the send may have landed)', async () => {
    const { breaker } = clockedBreaker();
    const ses = withResilience(adapter(), { retry: { maxRetries: 3, backoff: () => 0 }, breaker });
    server.fallback = { kind: 'reset' };
    for (let i = 0; i < 5; i++) {
      expect(await rejection(ses.send(message()))).toMatchObject({ kind: 'timeout' });
    }
    expect(server.requests, 'one request per send: ambiguous sends are not retried').toHaveLength(5);
    expect(breaker.state).toBe('open');
  });

  it('retries a throttled send and succeeds on the next attempt', async () => {
    const ses = withResilience(adapter(), { retry: { maxRetries: 2, backoff: () => 0 }, breaker: false });
    server.queue.push({
      kind: 'error',
      status: 400,
      code: 'Throttling',
      message: 'Maximum sending rate exceeded.',
    });
    expect(await ses.send(message())).toMatchObject({ provider: 'ses' });
    expect(server.requests).toHaveLength(2);
  });

  it('keeps bad input away from the wire and the breaker counts', async () => {
    const { breaker } = clockedBreaker();
    const ses = withResilience(adapter(), { retry: false, breaker });
    const before = { ...breaker.counts };
    const bad: Partial<EmailMessage>[] = [
      { subject: 'a\r\nBcc: x@example.com' },
      { headers: { 'X-A': 'b\nc' } },
      { to: ['"Eve\r\nBcc: x@example.com" <eve@example.com>'] },
      { attachments: [{ filename: 'x\n.pdf', contentType: 'application/pdf', content: 'x' }] },
      { to: ['@example.com'] },
      { to: Array.from({ length: 51 }, (_, i) => `r${i}@example.com`) },
      {
        attachments: [
          {
            filename: 'big.bin',
            contentType: 'application/octet-stream',
            content: new Uint8Array(8 * 1024 * 1024),
          },
        ],
      },
      { text: '' },
    ];
    for (const overrides of bad) {
      const error = await rejection(ses.send(message(overrides)));
      expect(isInvalidMessageError(error), String(error)).toBe(true);
    }
    expect(server.requests).toHaveLength(0);
    expect(breaker.counts).toEqual(before);
  });

  it('does not count message-scoped rejections against the breaker', async () => {
    const { breaker } = clockedBreaker();
    const ses = withResilience(adapter(), { retry: false, breaker });
    server.fallback = {
      kind: 'error',
      status: 400,
      code: 'MessageRejected',
      message: 'Email address is not verified.',
    };
    for (let i = 0; i < 10; i++) {
      expect(await rejection(ses.send(message()))).toMatchObject({ kind: 'permanent', scope: 'message' });
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.counts.totalFailures).toBe(0);
  });
});

describe('SesEmailAdapter in failover', () => {
  it('fails over on a provider-side failure and names the provider that sent', async () => {
    const backup = new MemoryEmailAdapter();
    const email = failover([
      withResilience(adapter(), { retry: false }),
      withResilience(backup, { retry: false }),
    ]);
    server.fallback = {
      kind: 'error',
      status: 400,
      code: 'AccountSendingPausedException',
      message: 'Sending paused.',
    };
    expect(await email.send(message())).toMatchObject({ provider: 'memory' });
    expect(backup.sent).toHaveLength(1);
  });

  it('never fails over a message-scoped rejection', async () => {
    const backup = new MemoryEmailAdapter();
    const email = failover([
      withResilience(adapter(), { retry: false }),
      withResilience(backup, { retry: false }),
    ]);
    server.fallback = {
      kind: 'error',
      status: 400,
      code: 'MessageRejected',
      message: 'Email address is not verified.',
    };
    const error = (await rejection(email.send(message()))) as ProviderError;
    expect(error).toMatchObject({ provider: 'ses', kind: 'permanent', scope: 'message' });
    expect(backup.sent).toHaveLength(0);
  });
});
