// Outside-in: the names issue 7 fixes, imported from the built package exactly as a user does.
// A rename, a changed field or a dropped export fails here (at runtime, and under tsc).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CircuitBreaker, ProviderError, resilience } from '@tracks/breaker';
import type { ObjectInfo, StorageAdapter, StoredObject } from '@tracks/storage';
import {
  FsStorageAdapter,
  InvalidKeyError,
  isInvalidKeyError,
  MemoryStorageAdapter,
  withResilience,
} from '@tracks/storage';
import { describeStorageAdapterContract } from '@tracks/storage/testing';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';

type IssueBody = Uint8Array | string | ReadableStream<Uint8Array> | NodeJS.ReadableStream;

// the issue's StorageAdapter without its optional members: a third-party adapter written to it must fit
function issueShapedAdapter(calls: string[]): StorageAdapter {
  const adapter: {
    readonly provider: string;
    put: StorageAdapter['put'];
    get: StorageAdapter['get'];
    head: StorageAdapter['head'];
    delete: StorageAdapter['delete'];
    list: StorageAdapter['list'];
  } = {
    provider: 'plain',
    async put(key) {
      calls.push(`put ${key}`);
      return { key, size: 0 };
    },
    async get(key) {
      calls.push(`get ${key}`);
      return null;
    },
    async head(key) {
      calls.push(`head ${key}`);
      return null;
    },
    async delete(key) {
      calls.push(`delete ${key}`);
    },
    async list(prefix) {
      calls.push(`list ${prefix}`);
      return { items: [] };
    },
  };
  return adapter;
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tracks-storage-public-api-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('@tracks/storage public API', () => {
  it('exports the names issue 7 fixes', () => {
    for (const value of [
      FsStorageAdapter,
      MemoryStorageAdapter,
      InvalidKeyError,
      withResilience,
      describeStorageAdapterContract,
    ]) {
      expect(typeof value).toBe('function');
    }
  });

  it('keeps the method signatures of StorageAdapter', () => {
    expectTypeOf<StorageAdapter['put']>().toEqualTypeOf<
      (
        key: string,
        body: IssueBody,
        options?: { contentType?: string; metadata?: Record<string, string>; signal?: AbortSignal },
      ) => Promise<{ key: string; etag?: string; size: number }>
    >();
    expectTypeOf<StorageAdapter['get']>().toEqualTypeOf<
      (key: string, options?: { signal?: AbortSignal }) => Promise<StoredObject | null>
    >();
    expectTypeOf<StorageAdapter['head']>().toEqualTypeOf<
      (key: string, options?: { signal?: AbortSignal }) => Promise<ObjectInfo | null>
    >();
    expectTypeOf<StorageAdapter['delete']>().toEqualTypeOf<
      (key: string, options?: { signal?: AbortSignal }) => Promise<void>
    >();
    // the issue's list options ({ limit, cursor }) must be accepted; a signal on top is an extension
    expectTypeOf<Parameters<StorageAdapter['list']>[0]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<{ limit?: number; cursor?: string }>().toMatchTypeOf<
      NonNullable<Parameters<StorageAdapter['list']>[1]>
    >();
    expectTypeOf<ReturnType<StorageAdapter['list']>>().toEqualTypeOf<
      Promise<{ items: ObjectInfo[]; cursor?: string }>
    >();
    expectTypeOf<NonNullable<StorageAdapter['signedUrl']>>().toEqualTypeOf<
      (
        key: string,
        options: { method: 'GET' | 'PUT'; expiresIn: number; contentType?: string },
      ) => Promise<string>
    >();
    expectTypeOf<StoredObject['body']>().toEqualTypeOf<ReadableStream<Uint8Array>>();
    expectTypeOf<StoredObject['bytes']>().toEqualTypeOf<() => Promise<Uint8Array>>();
    expectTypeOf<StoredObject>().toMatchTypeOf<{
      contentType: string;
      size: number;
      etag?: string;
      metadata: Record<string, string>;
    }>();
  });

  it('refuses bad keys with an InvalidKeyError before any adapter call or breaker count', async () => {
    const calls: string[] = [];
    const wrapped = withResilience(issueShapedAdapter(calls), { retry: false });
    const bad = ['', '/a', 'a/../b', 'a/./b', '..', 'a\u0000b', 'a\nb', 'é'.repeat(513)];
    for (const key of bad) {
      for (const call of [
        () => wrapped.put(key, 'x'),
        () => wrapped.get(key),
        () => wrapped.head(key),
        () => wrapped.delete(key),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error, JSON.stringify(key)).toBeInstanceOf(InvalidKeyError);
        expect(isInvalidKeyError(error)).toBe(true);
        expect(error).toMatchObject({ kind: 'invalid' });
      }
    }
    expect(calls).toEqual([]);
    expect((wrapped.policy.breaker as CircuitBreaker).counts.requests).toBe(0);
    await expect(wrapped.put('a'.repeat(1024), 'x')).resolves.toMatchObject({ key: 'a'.repeat(1024) });
  });

  it('withResilience takes a resilience() policy or its options, and names the breaker storage:<provider>', async () => {
    const policy = resilience({ retry: false });
    expect(withResilience(new MemoryStorageAdapter(), policy).policy).toBe(policy);
    const fs = withResilience(new FsStorageAdapter({ root }), { retry: false });
    expect(fs.policy.breaker?.name).toBe('storage:fs');
    await expect(fs.put('docs/a.txt', 'hello', { contentType: 'text/plain' })).resolves.toMatchObject({
      key: 'docs/a.txt',
      size: 5,
    });
    const stored = await fs.get('docs/a.txt');
    expect(new TextDecoder().decode(await stored?.bytes())).toBe('hello');
    expect(stored?.contentType).toBe('text/plain');
    await expect(fs.get('docs/missing.txt')).resolves.toBeNull();
    await expect(fs.head('docs/missing.txt')).resolves.toBeNull();
    await fs.delete('docs/missing.txt');
    await expect(fs.list('docs/')).resolves.toMatchObject({ items: [{ key: 'docs/a.txt', size: 5 }] });
    await fs.close();
  });

  it('lays breaker settings given in the options over the storage preset and the storage:<provider> name', async () => {
    const memory = new MemoryStorageAdapter();
    const wrapped = withResilience(memory, { retry: false, breaker: { timeout: 30_000 } });
    const breaker = wrapped.policy.breaker as CircuitBreaker;
    expect(breaker.name).toBe('storage:memory');
    // the preset excludes message-scoped errors: one bad request never counts as a failure
    const refused = new ProviderError({
      kind: 'invalid',
      scope: 'message',
      provider: 'memory',
      operation: 'get',
    });
    const failing = withResilience(
      { ...issueShapedAdapter([]), provider: 'memory', get: async () => Promise.reject(refused) },
      { retry: false, breaker: { timeout: 30_000 } },
    );
    await expect(failing.get('a')).rejects.toBe(refused);
    expect((failing.policy.breaker as CircuitBreaker).counts).toMatchObject({
      totalFailures: 0,
      totalExclusions: 1,
    });
    expect(withResilience(memory, { breaker: { name: 'mine' } }).policy.breaker?.name).toBe('mine');
  });

  it('keeps the published shape: ESM, no side effects, Node >=20.19, dist only, types before default, peers also dev', () => {
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
    );
    expect(manifest).toMatchObject({ type: 'module', sideEffects: false, engines: { node: '>=20.19' } });
    expect(manifest.files).toEqual(['dist']);
    for (const [path, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
      if (typeof target === 'object' && target !== null)
        expect(Object.keys(target), path).toEqual(['types', 'default']);
    }
    const optional = (manifest.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      expect(manifest.devDependencies?.[peer], peer).toBeDefined();
      // only a ./testing suite's vitest may be optional: a vendor SDK is a required peer
      if (optional[peer]?.optional) expect(peer).toBe('vitest');
    }
  });

  it('starts no timer and holds nothing open when imported', () => {
    // every timer started while importing is recorded, unref'd ones too (those do not show
    // among the active resources); timers and sockets still open afterwards are listed
    const script = `
      import { createRequire, syncBuiltinESMExports } from 'node:module';
      const timers = createRequire(process.cwd() + '/')('node:timers');
      const started = [];
      for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
        const original = timers[name];
        const recorded = function (...args) {
          started.push(name);
          return original.apply(this, args);
        };
        timers[name] = recorded;
        globalThis[name] = recorded;
      }
      syncBuiltinESMExports();
      await import('@tracks/storage');
      // TTY and pipe wraps are the process's own stdio, *Req entries module loading's fs calls
      const held = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && !r.endsWith('Req'));
      console.log(JSON.stringify({ started, held }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.error).toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ started: [], held: [] });
  });
});
