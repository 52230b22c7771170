import { isProviderError } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { FaultInjector, withFaults } from './faults.js';

class Adapter {
  readonly provider = 'fake';
  #sent = 0;
  async send(_message: string, _options?: { signal?: AbortSignal }): Promise<number> {
    this.#sent += 1;
    return this.#sent;
  }
  get sent(): number {
    return this.#sent;
  }
}

describe('FaultInjector', () => {
  it('passes calls through untouched when no fault is set', async () => {
    const adapter = withFaults(new Adapter(), 'email', new FaultInjector(), ['send']);
    await expect(adapter.send('a')).resolves.toBe(1);
    expect(adapter.provider).toBe('fake');
    expect(adapter.sent).toBe(1);
  });

  it('fails calls at the failure rate with a transient provider error, before the adapter', async () => {
    const draws = [0.1, 0.9];
    const faults = new FaultInjector({ random: () => draws.shift() ?? 0 });
    const raw = new Adapter();
    const adapter = withFaults(raw, 'email', faults, ['send']);
    faults.set('email', 'fake', { failureRate: 0.5 });
    const error = await adapter.send('a').catch((e: unknown) => e);
    expect(isProviderError(error)).toBe(true);
    expect(error).toMatchObject({
      kind: 'transient',
      provider: 'fake',
      operation: 'send',
      scope: 'provider',
    });
    expect(raw.sent).toBe(0);
    await expect(adapter.send('b')).resolves.toBe(1);
  });

  it('holds a hanging call until the caller aborts, and leaves nothing held', async () => {
    const faults = new FaultInjector();
    const adapter = withFaults(new Adapter(), 'email', faults, ['send']);
    faults.set('email', 'fake', { failureRate: 0, hang: true });
    const controller = new AbortController();
    const call = adapter.send('a', { signal: controller.signal });
    await Promise.resolve();
    expect(faults.held).toBe(1);
    controller.abort(new Error('deadline'));
    await expect(call).rejects.toThrow('deadline');
    expect(faults.held).toBe(0);
  });

  it('releases hanging calls when the faults are cleared', async () => {
    const faults = new FaultInjector();
    const adapter = withFaults(new Adapter(), 'email', faults, ['send']);
    faults.set('email', 'fake', { failureRate: 0, hang: true });
    const call = adapter.send('a');
    await Promise.resolve();
    faults.clear();
    await expect(call).resolves.toBe(1);
    expect(faults.all()).toEqual([]);
  });

  it('adds latency', async () => {
    const faults = new FaultInjector();
    const adapter = withFaults(new Adapter(), 'email', faults, ['send']);
    faults.set('email', 'fake', { failureRate: 0, latencyMs: 30 });
    const started = performance.now();
    await adapter.send('a');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(faults.get('email', 'fake')).toEqual({
      service: 'email',
      provider: 'fake',
      failureRate: 0,
      latencyMs: 30,
      hang: false,
    });
  });
});
