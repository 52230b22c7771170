import { describe, expect, it } from 'vitest';
import { MemoryStorageAdapter } from './memory-adapter.js';

describe('MemoryStorageAdapter', () => {
  it('fails the matching operations with an injected fault, a given number of times', async () => {
    const adapter = new MemoryStorageAdapter({ provider: 'mem' });
    adapter.injectFault({ kind: 'throttled', operations: ['put'], times: 2, retryAfterMs: 250 });
    const throttled = {
      kind: 'throttled',
      provider: 'mem',
      operation: 'put',
      retryAfterMs: 250,
      retryable: true,
    };
    await expect(adapter.put('a', 'x')).rejects.toMatchObject(throttled);
    expect(await adapter.get('a')).toBeNull(); // other operations are unaffected
    await expect(adapter.put('a', 'x')).rejects.toMatchObject(throttled);
    await expect(adapter.put('a', 'x')).resolves.toMatchObject({ size: 1 });
  });

  it('removes a fault with its disposer and all faults with clearFaults', async () => {
    const adapter = new MemoryStorageAdapter();
    const remove = adapter.injectFault({ kind: 'transient' });
    await expect(adapter.head('a')).rejects.toMatchObject({ kind: 'transient' });
    remove();
    expect(await adapter.head('a')).toBeNull();
    adapter.injectFault({ kind: 'auth' });
    adapter.clearFaults();
    expect(await adapter.head('a')).toBeNull();
  });

  it('validates before a fault applies: bad input is never a provider failure', async () => {
    const adapter = new MemoryStorageAdapter();
    adapter.injectFault({ kind: 'transient' });
    await expect(adapter.get('../x')).rejects.toMatchObject({ kind: 'invalid', field: 'key' });
  });

  it('copies bodies in and out, so callers cannot change what is stored', async () => {
    const adapter = new MemoryStorageAdapter();
    const data = new Uint8Array([1, 2, 3]);
    await adapter.put('k', data);
    data[0] = 9;
    const first = await (await adapter.get('k'))!.bytes();
    first[1] = 9;
    expect(await (await adapter.get('k'))!.bytes()).toEqual(new Uint8Array([1, 2, 3]));
    expect(adapter.size).toBe(1);
  });

  it('stamps lastModified from its clock', async () => {
    const adapter = new MemoryStorageAdapter({ now: () => 1_700_000_000_000 });
    await adapter.put('k', 'x');
    expect((await adapter.head('k'))?.lastModified).toEqual(new Date(1_700_000_000_000));
  });
});
