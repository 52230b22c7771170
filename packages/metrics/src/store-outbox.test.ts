import { EventEmitter } from 'node:events';
import { Emitter } from '@tracks/breaker';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import type {
  ObservableOutbox,
  ObservableStore,
  OutboxOutcome,
  OutboxStats,
  StoreErrorEvent,
} from './observable.js';
import { parseExposition, sample } from './test-helpers.js';

const scrape = async (registry: Registry) => parseExposition(await registry.metrics());

function fakeStore(name?: string) {
  const errors = new Emitter<StoreErrorEvent>();
  const store: ObservableStore = {
    onStoreError: (l) => errors.on(l),
    ...(name === undefined ? {} : { name }),
  };
  return { store, errors };
}

function fakeOutbox(stats: () => OutboxStats | Promise<OutboxStats>, name?: string) {
  const emitters = {
    delivered: new Emitter<unknown>(),
    failed: new Emitter<unknown>(),
    dead: new Emitter<unknown>(),
  };
  const outbox: ObservableOutbox = {
    on: (event: OutboxOutcome, l) => emitters[event].on(l),
    stats,
    ...(name === undefined ? {} : { name }),
  };
  return { outbox, emitters };
}

describe('observeStore', () => {
  it('counts store errors per service, by the store name or the event name', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const named = fakeStore('sms:twilio');
    const shared = fakeStore();
    metrics.observeStore(named.store);
    const stop = metrics.observeStore(shared.store);
    named.errors.emit({ error: new Error('ECONNREFUSED') });
    shared.errors.emit({ name: 'email:ses', error: new Error('ECONNREFUSED') });
    shared.errors.emit({ name: 'email:ses', error: new Error('ECONNREFUSED') });
    shared.errors.emit({ error: new Error('no name: nothing to label it with') });
    const e = await scrape(registry);
    expect(e.type.get('circuit_breaker_store_errors_total')).toBe('counter');
    expect(e.help.get('circuit_breaker_store_errors_total')).toBeTruthy();
    expect(sample(e, 'circuit_breaker_store_errors_total', { service: 'sms:twilio' })).toBe(1);
    expect(sample(e, 'circuit_breaker_store_errors_total', { service: 'email:ses' })).toBe(2);
    stop();
    expect(shared.errors.size).toBe(0);
  });
});

describe('observeOutbox', () => {
  it('counts deliveries by outcome and reads job counts at scrape time', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    let pending = 3;
    const { outbox, emitters } = fakeOutbox(
      async () => ({ pending, inflight: 1, dead: 2, note: 'x' }),
      'email',
    );
    const stop = metrics.observeOutbox(outbox);
    emitters.delivered.emit({});
    emitters.delivered.emit({});
    emitters.failed.emit({ outcome: 'failed' });
    emitters.failed.emit({ outcome: 'ambiguous' });
    emitters.failed.emit({ outcome: 'ambiguous' });
    emitters.dead.emit({});
    let e = await scrape(registry);
    expect(e.type.get('outbox_jobs')).toBe('gauge');
    expect(e.type.get('outbox_deliveries_total')).toBe('counter');
    expect(sample(e, 'outbox_jobs', { queue: 'email', state: 'pending' })).toBe(3);
    expect(sample(e, 'outbox_jobs', { queue: 'email', state: 'inflight' })).toBe(1);
    expect(sample(e, 'outbox_jobs', { queue: 'email', state: 'note' })).toBeUndefined(); // not a number
    expect(sample(e, 'outbox_deliveries_total', { queue: 'email', outcome: 'delivered' })).toBe(2);
    expect(sample(e, 'outbox_deliveries_total', { queue: 'email', outcome: 'failed' })).toBe(1);
    expect(sample(e, 'outbox_deliveries_total', { queue: 'email', outcome: 'ambiguous' })).toBe(2);
    expect(sample(e, 'outbox_deliveries_total', { queue: 'email', outcome: 'dead' })).toBe(1);
    pending = 0;
    e = await scrape(registry);
    expect(sample(e, 'outbox_jobs', { queue: 'email', state: 'pending' })).toBe(0);
    stop();
    emitters.delivered.emit({});
    e = await scrape(registry);
    expect(emitters.delivered.size + emitters.failed.size + emitters.dead.size).toBe(0);
    expect(sample(e, 'outbox_deliveries_total', { queue: 'email', outcome: 'delivered' })).toBe(2);
    expect(sample(e, 'outbox_jobs', { queue: 'email', state: 'pending' })).toBeUndefined();
  });

  it('drops the series of an outbox whose stats() fails, not the scrape', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    metrics.observeOutbox(fakeOutbox(() => Promise.reject(new Error('redis down')), 'sms').outbox);
    metrics.observeOutbox(fakeOutbox(() => ({ pending: 5 }), 'email').outbox);
    const e = await scrape(registry);
    expect(sample(e, 'outbox_jobs', { queue: 'sms', state: 'pending' })).toBeUndefined();
    expect(sample(e, 'outbox_jobs', { queue: 'email', state: 'pending' })).toBe(5);
  });

  it('accepts an EventEmitter-style outbox, detaching through off()', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const emitter = Object.assign(new EventEmitter(), { stats: () => ({ pending: 0 }) });
    const stop = metrics.observeOutbox(emitter as unknown as ObservableOutbox);
    emitter.emit('delivered', {});
    expect(
      sample(await scrape(registry), 'outbox_deliveries_total', { queue: 'default', outcome: 'delivered' }),
    ).toBe(1);
    stop();
    expect(
      emitter.listenerCount('delivered') + emitter.listenerCount('failed') + emitter.listenerCount('dead'),
    ).toBe(0);
  });
});
