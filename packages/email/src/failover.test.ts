import type { ProviderErrorKind } from '@tracks/breaker';
import { CircuitBreaker, ProviderError, presets } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { isInvalidMessageError } from './errors.js';
import { failover } from './failover.js';
import { MemoryEmailAdapter } from './memory.js';
import { withResilience } from './resilience.js';
import type { EmailMessage } from './types.js';

const msg: EmailMessage = { from: 'a@example.com', to: ['b@example.com'], subject: 's', text: 't' };
const error = (kind: ProviderErrorKind, provider: string, scope?: 'message' | 'provider') =>
  new ProviderError({ kind, provider, operation: 'send', ...(scope ? { scope } : {}) });

function pair() {
  return [
    new MemoryEmailAdapter({ provider: 'ses' }),
    new MemoryEmailAdapter({ provider: 'sendgrid' }),
  ] as const;
}

describe('failover', () => {
  it.each([
    ['transient', undefined],
    ['throttled', undefined],
    ['auth', undefined],
    ['permanent', 'provider'],
  ] as const)('moves on after %s (%s scope) and names the provider that sent', async (kind, scope) => {
    const [ses, sendgrid] = pair();
    ses.failNext(error(kind, 'ses', scope));
    const email = failover([ses, sendgrid], { strategy: 'fallback' });
    const moves: unknown[] = [];
    email.onFailover((event) => moves.push({ from: event.from, to: event.to }));
    await expect(email.send(msg)).resolves.toMatchObject({ provider: 'sendgrid' });
    expect(moves).toEqual([{ from: 'ses', to: 'sendgrid' }]);
  });

  it('never moves on after a message-scoped error', async () => {
    const [ses, sendgrid] = pair();
    ses.failNext(error('permanent', 'ses', 'message'));
    const email = failover([ses, sendgrid]);
    await expect(email.send(msg)).rejects.toMatchObject({
      kind: 'permanent',
      scope: 'message',
      provider: 'ses',
    });
    expect(sendgrid.requests).toBe(0);
  });

  it('refuses an invalid message before any adapter sees it', async () => {
    const [ses, sendgrid] = pair();
    const email = failover([ses, sendgrid]);
    await expect(email.send({ ...msg, subject: 'x\r\nBcc: y@example.com' })).rejects.toSatisfy(
      isInvalidMessageError,
    );
    expect(ses.requests + sendgrid.requests).toBe(0);
  });

  it('does not move on after an ambiguous timeout unless retryAmbiguous', async () => {
    const [ses, sendgrid] = pair();
    ses.failNext(error('timeout', 'ses'), 2);
    await expect(failover([ses, sendgrid]).send(msg)).rejects.toMatchObject({ kind: 'timeout' });
    expect(sendgrid.requests).toBe(0);
    await expect(failover([ses, sendgrid], { retryAmbiguous: true }).send(msg)).resolves.toMatchObject({
      provider: 'sendgrid',
    });
  });

  it('throws the last error when every provider fails', async () => {
    const [ses, sendgrid] = pair();
    ses.failNext(error('transient', 'ses'));
    sendgrid.failNext(error('throttled', 'sendgrid'));
    await expect(failover([ses, sendgrid]).send(msg)).rejects.toMatchObject({
      kind: 'throttled',
      provider: 'sendgrid',
    });
  });

  it('round-robin starts each send with the next provider', async () => {
    const [ses, sendgrid] = pair();
    const email = failover([ses, sendgrid], { strategy: 'round-robin' });
    const providers = [];
    for (let i = 0; i < 4; i++) providers.push((await email.send(msg)).provider);
    expect(providers).toEqual(['ses', 'sendgrid', 'ses', 'sendgrid']);
    ses.failNext(error('transient', 'ses'));
    expect((await email.send(msg)).provider).toBe('sendgrid');
  });

  it("is not blocked by one provider's open breaker: it fails over at once, without I/O", async () => {
    const [ses, sendgrid] = pair();
    const sesBreaker = new CircuitBreaker({ ...presets.email, name: 'email:ses' });
    const primary = withResilience(ses, { retry: false, breaker: sesBreaker });
    const secondary = withResilience(sendgrid, { retry: false });
    expect(secondary.policy.breaker?.name).toBe('email:sendgrid');
    ses.failureRate = 1;
    const email = failover([primary, secondary]);
    for (let i = 0; i < 5; i++) await email.send(msg);
    expect(sesBreaker.state).toBe('open');
    const before = ses.requests;
    const result = await email.send(msg);
    expect(result.provider).toBe('sendgrid');
    expect(ses.requests).toBe(before);
    expect(secondary.policy.breaker?.state).toBe('closed');
  });

  it('validates against the strictest limits and closes every adapter', async () => {
    const small = new MemoryEmailAdapter({ provider: 'small', limits: { maxRecipients: 2 } });
    const big = new MemoryEmailAdapter({ provider: 'big', limits: { maxRecipients: 1000 } });
    const email = failover([big, small]);
    expect(email.limits.maxRecipients).toBe(2);
    await expect(
      email.send({ ...msg, to: ['a@example.com', 'b@example.com', 'c@example.com'] }),
    ).rejects.toSatisfy(isInvalidMessageError);
    await email.close?.();
    await expect(big.send(msg)).rejects.toBeDefined();
    await expect(small.send(msg)).rejects.toBeDefined();
  });

  it('refuses an empty list and an unknown strategy', () => {
    expect(() => failover([])).toThrow(TypeError);
    expect(() => failover(pair(), { strategy: 'random' as 'fallback' })).toThrow(TypeError);
  });
});
