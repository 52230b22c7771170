import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CircuitBreaker, isProviderError, resilience, State } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { FsStorageAdapter } from './fs-adapter.js';
import { MemoryStorageAdapter } from './memory-adapter.js';
import { withResilience } from './resilience.js';
import type { StorageAdapter } from './types.js';

// no real waiting: retries back off by 0 ms
const fast = { retry: { maxRetries: 2, backoff: () => 0 } } as const;

// counts the calls that reach the adapter
function counted(adapter: StorageAdapter) {
  const calls: string[] = [];
  const proxy = new Proxy(adapter, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { proxy, calls };
}

describe('withResilience', () => {
  it('names the breaker storage:<provider> with the storage preset and exposes the policy', () => {
    const storage = withResilience(new MemoryStorageAdapter({ provider: 's3' }));
    expect(storage.policy.breaker?.name).toBe('storage:s3');
    expect(storage.provider).toBe('s3');
    expect(storage.policy.breaker?.state).toBe(State.Closed);
  });

  it('uses a policy it is given as it is', () => {
    const policy = resilience({ breaker: false, retry: false });
    expect(withResilience(new MemoryStorageAdapter(), policy).policy).toBe(policy);
  });

  it('retries reads, heads, lists and deletes on throttling and timeouts', async () => {
    const memory = new MemoryStorageAdapter();
    await memory.put('k', 'v');
    const { proxy, calls } = counted(memory);
    const storage = withResilience(proxy, fast);
    memory.injectFault({ kind: 'throttled', operations: ['get'], times: 1 });
    for (const operation of ['head', 'list', 'delete'] as const) {
      memory.injectFault({ kind: 'timeout', operations: [operation], times: 1 });
    }
    expect(await (await storage.get('k'))!.text()).toBe('v');
    expect(await storage.head('k')).toMatchObject({ size: 1 });
    expect((await storage.list()).items).toHaveLength(1);
    await storage.delete('k');
    expect(calls).toEqual(['get', 'get', 'head', 'head', 'list', 'list', 'delete', 'delete']);
  });

  it('retries a put of a replayable body, even after a timeout', async () => {
    const memory = new MemoryStorageAdapter();
    const storage = withResilience(memory, fast);
    memory.injectFault({ kind: 'timeout', operations: ['put'], times: 1 });
    memory.injectFault({ kind: 'transient', operations: ['put'], times: 1 });
    await expect(storage.put('k', 'bytes')).resolves.toMatchObject({ size: 5 });
    expect(await (await memory.get('k'))!.text()).toBe('bytes');
  });

  it('does not retry a put of a stream the adapter already read', async () => {
    // an adapter that reads the body, then fails as a throttled provider would
    let attempts = 0;
    const reading: StorageAdapter = {
      ...new MemoryStorageAdapter(),
      provider: 'reader',
      get: async () => null,
      head: async () => null,
      delete: async () => {},
      list: async () => ({ items: [] }),
      put: async (_key, body) => {
        attempts++;
        const reader = (body as ReadableStream<Uint8Array>).getReader();
        await reader.read();
        const { ProviderError } = await import('@tracks/breaker');
        throw new ProviderError({ kind: 'throttled', provider: 'reader', operation: 'put' });
      },
    };
    const storage = withResilience(reading, fast);
    const body = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(new Uint8Array(4)),
    });
    const error = await storage.put('k', body).catch((e: unknown) => e);
    expect(attempts).toBe(1);
    expect(isProviderError(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'throttled', retryable: false });
    expect((error as Error).message).toMatch(/body stream was already read/);
  });

  it('still retries a put of a stream that no attempt has read yet', async () => {
    const memory = new MemoryStorageAdapter();
    const storage = withResilience(memory, fast);
    // the fault fires before the memory adapter touches the body
    memory.injectFault({ kind: 'transient', operations: ['put'], times: 1 });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('streamed'));
        c.close();
      },
    });
    await expect(storage.put('k', body)).resolves.toMatchObject({ size: 8 });
    expect(await (await memory.get('k'))!.text()).toBe('streamed');
  });

  it('validates before the policy: a bad key never reaches the breaker or a retry', async () => {
    const { proxy, calls } = counted(new MemoryStorageAdapter());
    const breaker = new CircuitBreaker({ name: 'storage:memory', readyToTrip: () => true });
    const storage = withResilience(proxy, { ...fast, breaker });
    for (let i = 0; i < 5; i++) {
      await expect(storage.get('../escape')).rejects.toMatchObject({ kind: 'invalid', field: 'key' });
      await expect(storage.put('/abs', 'x')).rejects.toMatchObject({ kind: 'invalid', field: 'key' });
      await expect(storage.list('', { limit: 0 })).rejects.toMatchObject({ field: 'limit' });
    }
    expect(calls).toEqual([]);
    expect(breaker.counts.requests).toBe(0);
    expect(breaker.state).toBe(State.Closed);
  });

  it('opens the breaker on a provider outage and then fails fast without calling the adapter', async () => {
    const memory = new MemoryStorageAdapter();
    const { proxy, calls } = counted(memory);
    const storage = withResilience(proxy, { retry: false });
    memory.injectFault({ kind: 'transient' });
    for (let i = 0; i < 10; i++) await expect(storage.head('k')).rejects.toMatchObject({ kind: 'transient' });
    expect(storage.policy.breaker?.state).toBe(State.Open);
    const before = calls.length;
    await expect(storage.head('k')).rejects.toMatchObject({ name: 'OpenStateError' });
    expect(calls.length).toBe(before);
  });

  it('does not count absent objects or message-scoped refusals against the breaker', async () => {
    const storage = withResilience(new MemoryStorageAdapter(), { retry: false });
    for (let i = 0; i < 20; i++) expect(await storage.get(`missing-${i}`)).toBeNull();
    expect(storage.policy.breaker?.state).toBe(State.Closed);
  });

  it('keeps the body of a get readable after the policy’s timeout passes', async () => {
    const memory = new MemoryStorageAdapter();
    await memory.put('k', 'still here');
    const storage = withResilience(memory, { retry: false, timeout: 20 });
    const object = await storage.get('k');
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(await object!.text()).toBe('still here');
  });

  it('keeps a file body streaming after the policy’s deadline, which only bounds the call', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tracks-resilience-'));
    try {
      const fs = new FsStorageAdapter({ root, readChunkBytes: 16 });
      await fs.put('k', 'x'.repeat(64));
      // a deadline the get itself meets even on a loaded CI core, then outlived by the read
      const storage = withResilience(fs, { retry: false, timeout: 150 });
      const object = await storage.get('k');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await object!.text()).toBe('x'.repeat(64));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('rejects with the caller’s abort reason and does not retry it', async () => {
    const { proxy, calls } = counted(new MemoryStorageAdapter());
    const storage = withResilience(proxy, fast);
    const reason = new Error('gave up');
    await expect(storage.get('k', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(calls.length).toBeLessThanOrEqual(1);
  });

  it('passes signedUrl through when the adapter has one, validated, and omits it otherwise', async () => {
    expect(withResilience(new MemoryStorageAdapter()).signedUrl).toBeUndefined();
    const signing: StorageAdapter = Object.assign(new MemoryStorageAdapter(), {
      signedUrl: async (key: string) => `https://example.invalid/${key}`,
    });
    const storage = withResilience(signing);
    expect(await storage.signedUrl!('a/b', { method: 'GET', expiresIn: 60 })).toBe(
      'https://example.invalid/a/b',
    );
    await expect(storage.signedUrl!('../x', { method: 'GET', expiresIn: 60 })).rejects.toMatchObject({
      field: 'key',
    });
  });
});
