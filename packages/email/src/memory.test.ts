import { isProviderError, ProviderError } from '@tracks/breaker';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isInvalidMessageError } from './errors.js';
import { MemoryEmailAdapter } from './memory.js';
import type { EmailMessage } from './types.js';

const msg: EmailMessage = { from: 'a@example.com', to: ['b@example.com'], subject: 's', text: 't' };

describe('MemoryEmailAdapter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('records what it sent and names itself in the result', async () => {
    const adapter = new MemoryEmailAdapter({ provider: 'primary' });
    const result = await adapter.send({ ...msg, idempotencyKey: 'order-1' });
    expect(result).toEqual({ provider: 'primary', messageId: '<order-1@primary.memory>' });
    expect(adapter.sent).toHaveLength(1);
    expect(adapter.sent[0]?.message.subject).toBe('s');
    expect(adapter.requests).toBe(1);
  });

  it('validates before counting a request', async () => {
    const adapter = new MemoryEmailAdapter({ limits: { maxRecipients: 1 } });
    const error = await adapter.send({ ...msg, to: ['b@example.com', 'c@example.com'] }).catch((e) => e);
    expect(isInvalidMessageError(error)).toBe(true);
    expect(adapter.requests).toBe(0);
  });

  it('fails the next sends with programmed errors, then recovers', async () => {
    const adapter = new MemoryEmailAdapter();
    const auth = new ProviderError({ kind: 'auth', provider: 'memory', operation: 'send' });
    adapter.failNext(auth, 2);
    await expect(adapter.send(msg)).rejects.toBe(auth);
    await expect(adapter.send(msg)).rejects.toBe(auth);
    await expect(adapter.send(msg)).resolves.toMatchObject({ provider: 'memory' });
    expect(adapter.requests).toBe(3);
  });

  it('fails at the failure rate drawn from its random source', async () => {
    const draws = [0.1, 0.9, 0.2, 0.8];
    const adapter = new MemoryEmailAdapter({ failureRate: 0.5, random: () => draws.shift() ?? 1 });
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map(() =>
        adapter.send(msg).then(
          () => 'ok',
          (e) => e.kind,
        ),
      ),
    );
    expect(outcomes).toEqual(['transient', 'ok', 'transient', 'ok']);
  });

  it('lists refused recipients and fails when all are refused', async () => {
    const adapter = new MemoryEmailAdapter().rejectRecipient('gone@example.com');
    const partial = await adapter.send({ ...msg, to: ['b@example.com', 'Gone <GONE@example.com>'] });
    expect(partial.rejected).toEqual(['Gone <GONE@example.com>']);
    const error = await adapter.send({ ...msg, to: ['gone@example.com'] }).catch((e) => e);
    expect(error).toMatchObject({ kind: 'permanent', scope: 'message' });
  });

  it('takes latencyMs per send', async () => {
    vi.useFakeTimers();
    const adapter = new MemoryEmailAdapter({ latencyMs: 200 });
    let done = false;
    const pending = adapter.send(msg).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(199);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(done).toBe(true);
  });

  it('hangs until aborted and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const adapter = new MemoryEmailAdapter({ timeoutMs: 10_000 });
    adapter.hanging = true;
    const controller = new AbortController();
    const pending = adapter.send(msg, { signal: controller.signal });
    expect(vi.getTimerCount()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toBe(controller.signal.reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times a hang out as the SDK would', async () => {
    vi.useFakeTimers();
    const adapter = new MemoryEmailAdapter({ timeoutMs: 100 });
    adapter.hanging = true;
    const pending = adapter.send(msg).catch((e) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await pending).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('rejects pending sends on close and clears their timers', async () => {
    vi.useFakeTimers();
    const adapter = new MemoryEmailAdapter({ latencyMs: 5_000 });
    const pending = adapter.send(msg).catch((e) => e);
    await adapter.close();
    const error = await pending;
    expect(isProviderError(error)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await expect(adapter.send(msg)).rejects.toMatchObject({ kind: 'permanent', scope: 'provider' });
    adapter.reopen();
    adapter.latencyMs = 0;
    await expect(adapter.send(msg)).resolves.toBeDefined();
  });

  it('reset clears faults and records', async () => {
    const adapter = new MemoryEmailAdapter({ failureRate: 1 });
    adapter.failNext(
      new ProviderError({ kind: 'auth', provider: 'memory', operation: 'send' }),
      Number.POSITIVE_INFINITY,
    );
    adapter.reset();
    await adapter.send(msg);
    expect(adapter.sent).toHaveLength(1);
  });
});
