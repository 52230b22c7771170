import { consecutiveFailures, ProviderError, resilience, TimeoutError } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { memoryDriver } from './memory-driver.js';
import { createOutbox } from './outbox.js';
import { queueWhenUnavailable, type SmsJob } from './queue-when-unavailable.js';

interface Mail {
  to: string[];
  subject: string;
  idempotencyKey?: string;
}

// shaped like the families' adapters, with a private field so that `this` matters
class FakeEmail {
  readonly provider = 'fake';
  readonly #sent: Mail[] = [];
  failure: unknown;
  get sent(): Mail[] {
    return this.#sent;
  }
  async send(
    msg: Mail,
    _options?: { signal?: AbortSignal },
  ): Promise<{ provider: string; messageId: string }> {
    if (this.failure !== undefined) throw this.failure;
    this.#sent.push(msg);
    return { provider: this.provider, messageId: `m${this.#sent.length}` };
  }
}

class FakeSms {
  readonly provider = 'fake-sms';
  readonly #sent: SmsJob[] = [];
  failure: unknown;
  async sendMessage(to: string, body: string): Promise<{ messageId: string }> {
    if (this.failure !== undefined) throw this.failure;
    this.#sent.push({ to, body });
    return { messageId: `s${this.#sent.length}` };
  }
  async sendOtp(to: string): Promise<{ provider: string; to: string }> {
    return { provider: this.provider, to: `${to}:${this.#sent.length}` };
  }
}

const unavailable = () =>
  new ProviderError({ kind: 'transient', provider: 'fake', operation: 'send', status: 503 });

describe('queueWhenUnavailable', () => {
  it('queues an email the provider could not take, and the outbox delivers it later', async () => {
    const raw = new FakeEmail();
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: { email: (msg: Mail) => raw.send(msg) },
      now: () => 0,
    });
    const email = queueWhenUnavailable(raw, outbox);
    expect(await email.send({ to: ['a@example.com'], subject: 'now' })).toEqual({
      provider: 'fake',
      messageId: 'm1',
    });
    raw.failure = unavailable();
    const result = await email.send({ to: ['b@example.com'], subject: 'later', idempotencyKey: 'k-1' });
    expect(result).toMatchObject({ queued: true, id: expect.any(String) });
    if (!('queued' in result)) throw new Error('not queued');
    expect(result.error).toBe(raw.failure);
    expect(await outbox.get(result.id)).toMatchObject({
      queue: 'email',
      idempotencyKey: 'k-1',
      payload: { to: ['b@example.com'], subject: 'later', idempotencyKey: 'k-1' },
    });
    // the same key queued twice is one job
    expect(
      await email.send({ to: ['b@example.com'], subject: 'later', idempotencyKey: 'k-1' }),
    ).toMatchObject({
      id: result.id,
    });
    raw.failure = undefined;
    await outbox.tick();
    expect(raw.sent.map((m) => m.subject)).toEqual(['now', 'later']);
    expect(email.provider).toBe('fake');
  });

  it('queues without calling the provider once its breaker is open', async () => {
    const raw = new FakeEmail();
    const policy = resilience({
      retry: false,
      breaker: { name: 'email:fake', readyToTrip: consecutiveFailures(1) },
    });
    let calls = 0;
    const guarded = {
      provider: 'fake',
      send: (msg: Mail) =>
        policy.execute(() => {
          calls++;
          return raw.send(msg);
        }),
    };
    const outbox = createOutbox({ driver: memoryDriver(), handlers: { email: (_m: Mail) => {} } });
    const email = queueWhenUnavailable(guarded, outbox);
    raw.failure = unavailable();
    expect(await email.send({ to: ['a@example.com'], subject: '1' })).toMatchObject({ queued: true });
    expect(policy.breaker?.state).toBe('open');
    const second = await email.send({ to: ['a@example.com'], subject: '2' });
    expect(second).toMatchObject({ queued: true, error: { name: 'OpenStateError' } });
    expect(calls).toBe(1);
    expect((await outbox.stats()).pending).toBe(2);
  });

  it('fails at once for invalid input and message-scoped refusals, queueing nothing', async () => {
    const raw = new FakeEmail();
    const outbox = createOutbox({ driver: memoryDriver(), handlers: { email: (_m: Mail) => {} } });
    const email = queueWhenUnavailable(raw, outbox, {
      validate: (msg) => {
        if ((msg as Mail).to.length === 0) throw new TypeError('to: at least one recipient');
      },
    });
    raw.failure = unavailable();
    await expect(email.send({ to: [], subject: 'x' })).rejects.toThrow('to: at least one recipient');
    raw.failure = new ProviderError({ kind: 'permanent', provider: 'fake', operation: 'send' });
    await expect(email.send({ to: ['a@example.com'], subject: 'x' })).rejects.toBe(raw.failure);
    raw.failure = new ProviderError({ kind: 'auth', provider: 'fake', operation: 'send' });
    await expect(email.send({ to: ['a@example.com'], subject: 'x' })).rejects.toBe(raw.failure);
    expect((await outbox.stats()).pending).toBe(0);
  });

  it('leaves an ambiguous timeout to the caller unless queueAmbiguous is set', async () => {
    const raw = new FakeEmail();
    raw.failure = new TimeoutError(5_000);
    const outbox = createOutbox({ driver: memoryDriver(), handlers: { email: (_m: Mail) => {} } });
    await expect(
      queueWhenUnavailable(raw, outbox).send({ to: ['a@example.com'], subject: 'x' }),
    ).rejects.toBe(raw.failure);
    expect(
      await queueWhenUnavailable(raw, outbox, { queueAmbiguous: true }).send({
        to: ['a@example.com'],
        subject: 'x',
      }),
    ).toMatchObject({ queued: true });
  });

  it('queues SMS as { to, body } and passes the other methods through', async () => {
    const raw = new FakeSms();
    const delivered: SmsJob[] = [];
    const outbox = createOutbox({
      driver: memoryDriver(),
      handlers: { sms: (job: SmsJob) => void delivered.push(job) },
      now: () => 0,
    });
    const sms = queueWhenUnavailable(raw, outbox);
    raw.failure = new ProviderError({ kind: 'throttled', provider: 'fake-sms', operation: 'sendMessage' });
    const result = await sms.sendMessage('+447700900123', 'hello');
    expect(result).toMatchObject({ queued: true });
    expect(await sms.sendOtp('+447700900123')).toEqual({ provider: 'fake-sms', to: '+447700900123:0' });
    await outbox.tick();
    expect(delivered).toEqual([{ to: '+447700900123', body: 'hello' }]);
  });

  it('refuses what is neither an email nor an SMS adapter', () => {
    const outbox = createOutbox({ driver: memoryDriver(), handlers: { email: () => {} } });
    expect(() => queueWhenUnavailable({} as never, outbox)).toThrow(/email adapter/);
    expect(() => queueWhenUnavailable(new FakeEmail(), {} as never)).toThrow(/enqueue/);
  });
});
