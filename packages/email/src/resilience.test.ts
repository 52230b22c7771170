import {
  CircuitBreaker,
  isBulkheadRejection,
  isOpenStateError,
  ProviderError,
  presets,
  resilience,
} from '@tracks/breaker';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isInvalidMessageError } from './errors.js';
import { MemoryEmailAdapter } from './memory.js';
import { withResilience } from './resilience.js';
import type { EmailMessage } from './types.js';

const msg: EmailMessage = { from: 'a@example.com', to: ['b@example.com'], subject: 's', text: 't' };
const noSleep = { sleep: async () => {} };
const transient = () => new ProviderError({ kind: 'transient', provider: 'memory', operation: 'send' });
const timeout = () => new ProviderError({ kind: 'timeout', provider: 'memory', operation: 'send' });

describe('withResilience', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives each provider a breaker named email:<provider> with the email preset', async () => {
    const ses = withResilience(new MemoryEmailAdapter({ provider: 'ses' }));
    const sendgrid = withResilience(new MemoryEmailAdapter({ provider: 'sendgrid' }), { retry: false });
    expect(ses.policy.breaker?.name).toBe('email:ses');
    expect(sendgrid.policy.breaker?.name).toBe('email:sendgrid');
    expect(ses.policy.breaker).not.toBe(sendgrid.policy.breaker);
    expect(ses.provider).toBe('ses');
    expect(ses.limits).toEqual({ maxRecipients: 50, maxMessageBytes: 10 * 1024 * 1024 });
  });

  it('validates before the policy: no request, no retry, breaker counts unchanged', async () => {
    const memory = new MemoryEmailAdapter();
    const email = withResilience(memory, { retry: { ...noSleep } });
    const breaker = email.policy.breaker as CircuitBreaker;
    const before = breaker.counts;
    const bad: EmailMessage[] = [
      { ...msg, subject: 'hi\r\nBcc: victim@example.com' },
      { ...msg, headers: { 'X-A': 'b\nc' } },
      { ...msg, to: Array.from({ length: 51 }, (_, i) => `r${i}@example.com`) },
      { ...msg, text: '' },
    ];
    for (const m of bad) {
      await expect(email.send(m)).rejects.toSatisfy(isInvalidMessageError);
    }
    expect(memory.requests).toBe(0);
    expect(breaker.counts).toEqual(before);
  });

  it('retries errors that prove nothing was sent', async () => {
    const memory = new MemoryEmailAdapter().failNext(transient(), 2);
    const email = withResilience(memory, { retry: { maxRetries: 3, ...noSleep } });
    await expect(email.send(msg)).resolves.toMatchObject({ provider: 'memory' });
    expect(memory.requests).toBe(3);
  });

  it('does not retry an ambiguous timeout unless retryAmbiguous is set', async () => {
    const once = new MemoryEmailAdapter().failNext(timeout(), 1);
    await expect(
      withResilience(once, { retry: { maxRetries: 3, ...noSleep } }).send(msg),
    ).rejects.toMatchObject({
      kind: 'timeout',
    });
    expect(once.requests).toBe(1);

    const again = new MemoryEmailAdapter().failNext(timeout(), 1);
    const email = withResilience(again, { retry: { maxRetries: 3, ...noSleep }, retryAmbiguous: true });
    await expect(email.send(msg)).resolves.toBeDefined();
    expect(again.requests).toBe(2);
  });

  it('never retries a message-scoped rejection, and the breaker does not count it', async () => {
    const memory = new MemoryEmailAdapter().rejectRecipient('b@example.com');
    const email = withResilience(memory, { retry: { maxRetries: 3, ...noSleep } });
    await expect(email.send(msg)).rejects.toMatchObject({ kind: 'permanent', scope: 'message' });
    expect(memory.requests).toBe(1);
    const counts = (email.policy.breaker as CircuitBreaker).counts;
    expect(counts.totalFailures).toBe(0);
    expect(counts.totalExclusions).toBe(1);
  });

  it('opens per the email preset and then rejects without touching the adapter', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ ...presets.email, name: 'email:memory', now: () => now });
    const memory = new MemoryEmailAdapter();
    memory.failureRate = 1;
    const email = withResilience(memory, { retry: false, breaker });
    for (let i = 0; i < 5; i++) await expect(email.send(msg)).rejects.toMatchObject({ kind: 'transient' });
    expect(breaker.state).toBe('open');
    const error = await email.send(msg).catch((e: unknown) => e);
    expect(isOpenStateError(error)).toBe(true);
    expect(memory.requests).toBe(5);
    now += 120_000;
    memory.failureRate = 0;
    await email.send(msg);
    expect(breaker.state).toBe('half-open');
  });

  it('passes the caller signal to the adapter', async () => {
    const memory = new MemoryEmailAdapter();
    memory.hanging = true;
    const email = withResilience(memory, { retry: false });
    const controller = new AbortController();
    const pending = email.send(msg, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBe(controller.signal.reason);
  });

  it('takes a policy as it is', async () => {
    const policy = resilience({ retry: false, breaker: false });
    const email = withResilience(new MemoryEmailAdapter(), policy);
    expect(email.policy).toBe(policy);
    await expect(email.send(msg)).resolves.toBeDefined();
  });

  it('offers the seed sendWithRetry(msg, maxRetries) through the same breaker', async () => {
    const memory = new MemoryEmailAdapter().failNext(transient(), 4);
    const email = withResilience(memory, { retry: { maxRetries: 0, ...noSleep } });
    await expect(email.sendWithRetry(msg, 2)).rejects.toMatchObject({ kind: 'transient' });
    expect(memory.requests).toBe(3);
    await expect(email.sendWithRetry(msg, 3)).resolves.toBeDefined();
    expect(memory.requests).toBe(5);
    expect((email.policy.breaker as CircuitBreaker).counts.requests).toBe(5);
    await expect(email.sendWithRetry(msg, -1)).rejects.toThrow(RangeError);
  });

  it('runs sendWithRetry around a policy of the caller with the seed backoff', async () => {
    vi.useFakeTimers();
    const memory = new MemoryEmailAdapter().failNext(transient(), 2);
    const email = withResilience(memory, resilience({ retry: false, breaker: false }));
    const pending = email.sendWithRetry(msg, 2);
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(pending).resolves.toBeDefined();
    expect(memory.requests).toBe(3);
  });

  it('shares one bulkhead between send and sendWithRetry', async () => {
    const memory = new MemoryEmailAdapter({ latencyMs: 30 });
    const email = withResilience(memory, { retry: false, bulkhead: { limit: 1, queue: 0 } });
    const first = email.send(msg);
    await expect(email.sendWithRetry(msg, 0)).rejects.toSatisfy(isBulkheadRejection);
    await first;
  });

  it('closes the adapter it wraps', async () => {
    const memory = new MemoryEmailAdapter();
    await withResilience(memory).close?.();
    await expect(memory.send(msg)).rejects.toMatchObject({ kind: 'permanent', retryable: false });
  });
});
