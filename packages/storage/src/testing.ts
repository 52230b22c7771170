import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isProviderError, type ProviderErrorKind } from '@tracks/breaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageAdapter } from './types.js';
import { compareKeys, isInvalidKeyError } from './validation.js';

/** The failures a harness can make its provider produce. */
export type StorageFaultKind = Extract<ProviderErrorKind, 'throttled' | 'transient' | 'timeout' | 'auth'>;

/** How {@link describeStorageAdapterContract} reaches an adapter and what it can do. */
export interface StorageContractHarness {
  /**
   * Makes the adapter under test, once for the suite, on an empty store. Tests write under
   * prefixes of their own, so they never see each other's objects.
   */
  create(): StorageAdapter | Promise<StorageAdapter>;
  /**
   * Releases it after the suite (stops servers, removes folders).
   * @default calls `adapter.close()` when it has one
   */
  destroy?(adapter: StorageAdapter): void | Promise<void>;
  /** What the adapter can do; the suite tests that what it cannot do is really absent. */
  capabilities?: {
    /**
     * The adapter has `signedUrl`, and its URLs work with plain `fetch`.
     * @default false
     */
    signedUrl?: boolean;
    /**
     * The size of the object the streaming test round-trips.
     * @default 104857600 (100 MiB)
     */
    largeObjectBytes?: number;
    /**
     * How much the process's heap and buffer memory may grow while the large object streams
     * in and out; `false` for an adapter that holds objects in memory.
     * @default largeObjectBytes / 2
     */
    maxMemoryGrowthBytes?: number | false;
    /**
     * The store lists keys in UTF-8 byte order even where a key is a prefix of another (`a`,
     * `a-b`, `a/b`). s3rver does not: it walks its folders and sorts file names, so it lists
     * `a/b` before `a` and its pagination then loses keys. With `false` the listing test uses
     * keys where no key is a prefix of another.
     * @default true
     */
    strictKeyOrder?: boolean;
    /**
     * The longest key the adapter stores, in UTF-8 bytes.
     * @default 1024
     */
    maxKeyBytes?: number;
  };
  /**
   * Fault controls, to test error mapping: `adapter(kind)` returns an adapter whose provider
   * fails every call that way (a fault server, an injected fault). Without it the suite does not
   * test error mapping; the adapter's own tests must.
   */
  faults?: {
    /** An adapter whose provider fails with `kind` (it is closed after use when it can be). */
    adapter(kind: StorageFaultKind): StorageAdapter | Promise<StorageAdapter>;
    /**
     * The kinds to test.
     * @default ['throttled', 'transient', 'timeout', 'auth']
     */
    kinds?: readonly StorageFaultKind[];
    /** Credentials that must appear in no error's message, `JSON.stringify` or `util.inspect`. */
    secrets?: readonly string[];
  };
}

const MiB = 1024 * 1024;

/**
 * Registers the storage contract as vitest tests: what every {@link StorageAdapter} must do.
 * Call it at the top level of a test file, with a harness that makes the adapter:
 *
 * ```ts
 * describeStorageAdapterContract('FsStorageAdapter', {
 *   create: () => new FsStorageAdapter({ root: mkdtempSync(join(tmpdir(), 'store-')) }),
 * });
 * ```
 */
export function describeStorageAdapterContract(name: string, harness: StorageContractHarness): void {
  const capabilities = harness.capabilities ?? {};
  const largeBytes = capabilities.largeObjectBytes ?? 100 * MiB;
  const maxGrowth = capabilities.maxMemoryGrowthBytes ?? largeBytes / 2;
  const maxKeyBytes = capabilities.maxKeyBytes ?? 1024;
  const strictKeyOrder = capabilities.strictKeyOrder ?? true;

  describe(`${name} (storage contract)`, () => {
    let adapter: StorageAdapter;
    let counter = 0;
    const run = randomBytes(4).toString('hex');
    // a prefix of this test's own, so tests never see each other's objects
    const scope = (): string => `contract-${run}/${++counter}/`;

    beforeAll(async () => {
      adapter = await harness.create();
    });
    afterAll(async () => {
      if (adapter === undefined) return;
      if (harness.destroy) await harness.destroy(adapter);
      else await adapter.close?.();
    });

    it('names its provider', () => {
      expect(typeof adapter.provider).toBe('string');
      expect(adapter.provider.length).toBeGreaterThan(0);
    });

    it('round-trips a binary body with its content type, size and etag', async () => {
      const key = `${scope()}binary.bin`;
      const data = new Uint8Array(256 * 3).map((_, i) => i % 256);
      const put = await adapter.put(key, data, { contentType: 'image/png' });
      expect(put).toMatchObject({ key, size: data.byteLength });
      const object = await adapter.get(key);
      expect(object).not.toBeNull();
      expect(object!.size).toBe(data.byteLength);
      expect(object!.contentType).toBe('image/png');
      expect(await object!.bytes()).toEqual(data);
      const head = await adapter.head(key);
      expect(head).toMatchObject({ key, size: data.byteLength, contentType: 'image/png' });
      expect(head!.lastModified).toBeInstanceOf(Date);
      if (put.etag !== undefined && head!.etag !== undefined) expect(head!.etag).toBe(put.etag);
      if (head!.etag !== undefined) expect(head!.etag).not.toMatch(/^"|"$/);
    });

    it('round-trips empty bodies', async () => {
      const base = scope();
      for (const [key, body] of [
        [`${base}empty-bytes`, new Uint8Array(0)],
        [`${base}empty-string`, ''],
        [`${base}empty-stream`, new ReadableStream<Uint8Array>({ start: (c) => c.close() })],
      ] as const) {
        expect(await adapter.put(key, body)).toMatchObject({ key, size: 0 });
        const object = await adapter.get(key);
        expect(object?.size).toBe(0);
        expect((await object!.bytes()).byteLength).toBe(0);
        expect((await adapter.head(key))?.size).toBe(0);
      }
    });

    it('stores strings as UTF-8 and reads them back as text', async () => {
      const key = `${scope()}text.txt`;
      const text = 'héllo wörld ✓ 😀\n';
      const put = await adapter.put(key, text, { contentType: 'text/plain; charset=utf-8' });
      expect(put.size).toBe(Buffer.byteLength(text));
      const object = await adapter.get(key);
      expect(await object!.text()).toBe(text);
      expect(object!.contentType).toBe('text/plain; charset=utf-8');
    });

    it('accepts web and Node.js streams as bodies and streams the body back', async () => {
      const base = scope();
      const chunks = ['one,', 'two,', 'three'];
      const web = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
        },
      });
      expect((await adapter.put(`${base}web`, web)).size).toBe(13);
      expect((await adapter.put(`${base}node`, Readable.from(chunks.map((c) => Buffer.from(c))))).size).toBe(
        13,
      );
      for (const key of [`${base}web`, `${base}node`]) {
        const object = await adapter.get(key);
        const reader = object!.body.getReader();
        let text = '';
        for (let r = await reader.read(); !r.done; r = await reader.read())
          text += Buffer.from(r.value).toString();
        expect(text).toBe('one,two,three');
      }
    });

    it('round-trips metadata and defaults content type and metadata', async () => {
      const base = scope();
      const metadata = { owner: 'user-42', 'x-trace': 'abc_DEF 1/2', empty: '' };
      await adapter.put(`${base}with`, 'x', { metadata, contentType: 'application/json' });
      expect((await adapter.head(`${base}with`))?.metadata).toEqual(metadata);
      const object = await adapter.get(`${base}with`);
      expect(object?.metadata).toEqual(metadata);
      await object?.body.cancel();
      await adapter.put(`${base}without`, 'x');
      const bare = await adapter.head(`${base}without`);
      expect(bare?.metadata).toEqual({});
      expect(bare?.contentType).toBe('application/octet-stream');
    });

    it('replaces an object on a second put, metadata included', async () => {
      const key = `${scope()}replaced`;
      await adapter.put(key, 'first version', { metadata: { v: '1' }, contentType: 'text/plain' });
      await adapter.put(key, 'second', { metadata: { w: '2' } });
      const object = await adapter.get(key);
      expect(await object!.text()).toBe('second');
      expect(object!.metadata).toEqual({ w: '2' });
      expect(object!.contentType).toBe('application/octet-stream');
    });

    it('returns null from get and head of a missing key', async () => {
      const key = `${scope()}missing`;
      expect(await adapter.get(key)).toBeNull();
      expect(await adapter.head(key)).toBeNull();
      expect(await adapter.get(`${key}/deeper/still`)).toBeNull();
    });

    it('deletes idempotently', async () => {
      const key = `${scope()}doomed`;
      await adapter.put(key, 'bye');
      await adapter.delete(key);
      expect(await adapter.get(key)).toBeNull();
      expect(await adapter.head(key)).toBeNull();
      await expect(adapter.delete(key)).resolves.toBeUndefined();
      await expect(adapter.delete(`${key}/never-was`)).resolves.toBeUndefined();
    });

    it('keeps a key and the keys it is a prefix of apart', async () => {
      const base = scope();
      await adapter.put(`${base}a`, 'file');
      await adapter.put(`${base}a/b`, 'nested');
      expect(await (await adapter.get(`${base}a`))!.text()).toBe('file');
      expect(await (await adapter.get(`${base}a/b`))!.text()).toBe('nested');
      await adapter.delete(`${base}a`);
      expect(await (await adapter.get(`${base}a/b`))!.text()).toBe('nested');
    });

    it('lists in key order, page by page, with a prefix', async () => {
      const base = scope();
      const names = strictKeyOrder
        ? ['b', 'a', 'a/b', 'a-b', 'a/a/a', 'c.txt', 'B', 'ä', '~tilde', '%25', 'z/z']
        : ['b', 'ab', 'a/b', 'a/a/a', 'c.txt', 'B', 'ä', '~tilde', '%25', 'z/z', 'y'];
      for (const n of names) await adapter.put(`${base}${n}`, n);
      const expected = names.map((n) => `${base}${n}`).sort(compareKeys);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await adapter.list(base, cursor === undefined ? { limit: 3 } : { limit: 3, cursor });
        expect(page.items.length).toBeLessThanOrEqual(3);
        if (page.cursor !== undefined) expect(page.items.length).toBe(3);
        for (const item of page.items) {
          expect(item.size).toBe(Buffer.byteLength(item.key.slice(base.length)));
          seen.push(item.key);
        }
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined && pages < 10);
      expect(seen).toEqual(expected);
      expect(pages).toBe(4);

      const nested = await adapter.list(`${base}a/`);
      expect(nested.items.map((i) => i.key)).toEqual([`${base}a/a/a`, `${base}a/b`]);
      expect(nested.cursor).toBeUndefined();
      const partial = await adapter.list(`${base}a`);
      const startingWithA = strictKeyOrder ? ['a', 'a-b', 'a/a/a', 'a/b'] : ['a/a/a', 'a/b', 'ab'];
      expect(partial.items.map((i) => i.key)).toEqual(startingWithA.map((n) => `${base}${n}`));
      expect(await adapter.list(`${base}nothing/`)).toEqual({ items: [] });
    });

    it('stores a key of the longest length it supports', async () => {
      const base = scope();
      const segment = 'é'.repeat(90); // 180 UTF-8 bytes
      let key = base;
      while (Buffer.byteLength(key) + 181 < maxKeyBytes) key += `${segment}/`;
      key += 'k'.repeat(maxKeyBytes - Buffer.byteLength(key));
      expect(Buffer.byteLength(key)).toBe(maxKeyBytes);
      await adapter.put(key, 'long');
      expect(await (await adapter.get(key))!.text()).toBe('long');
      expect((await adapter.list(base)).items.map((i) => i.key)).toEqual([key]);
    });

    it('refuses invalid keys before any I/O, with InvalidKeyError', async () => {
      const bad = [
        '',
        '/abs',
        'a/../b',
        './a',
        'a/.',
        'a//b',
        'a/',
        'a\\b',
        'a%2Fb',
        'a%5cb',
        'nul\u0000',
        'tab\t',
        'x'.repeat(1025),
        '%2e%2e/x',
      ];
      for (const key of bad) {
        for (const call of [
          () => adapter.put(key, 'x'),
          () => adapter.get(key),
          () => adapter.head(key),
          () => adapter.delete(key),
        ]) {
          const error = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isInvalidKeyError(error), `key ${JSON.stringify(key)}`).toBe(true);
          expect(error).toMatchObject({ kind: 'invalid', field: 'key', scope: 'message', retryable: false });
        }
      }
    });

    it('refuses invalid metadata, content types and list options', async () => {
      const key = `${scope()}x`;
      const invalid = { kind: 'invalid', scope: 'message' };
      await expect(adapter.put(key, 'x', { metadata: { 'Upper-Case': 'v' } })).rejects.toMatchObject(invalid);
      await expect(adapter.put(key, 'x', { metadata: { ok: 'line\r\nbreak' } })).rejects.toMatchObject(
        invalid,
      );
      await expect(
        adapter.put(key, 'x', { contentType: 'text/plain\r\nX-Injected: 1' }),
      ).rejects.toMatchObject(invalid);
      await expect(adapter.list('', { limit: 0 })).rejects.toMatchObject({ ...invalid, field: 'limit' });
      await expect(adapter.list('', { limit: 1001 })).rejects.toMatchObject({ ...invalid, field: 'limit' });
      await expect(adapter.list('/abs')).rejects.toMatchObject({ ...invalid, field: 'prefix' });
      expect(await adapter.head(key)).toBeNull();
    });

    it(`streams a ${Math.round(largeBytes / MiB)} MiB object in and out${maxGrowth === false ? '' : ' with bounded memory'}`, async () => {
      const key = `${scope()}large.bin`;
      const chunkBytes = MiB;
      const baseline = liveMemory();
      let peak = 0;
      let sampled = 0;
      // every 8 MiB: a buffering adapter shows up long before the end
      const sample = (bytes: number) => {
        sampled += bytes;
        if (sampled < 8 * MiB) return;
        sampled = 0;
        peak = Math.max(peak, liveMemory() - baseline);
      };
      const written = createHash('sha1');
      let produced = 0;
      // generated as it is read, one fresh chunk at a time: nothing holds the whole object
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (produced >= largeBytes) return controller.close();
            const size = Math.min(chunkBytes, largeBytes - produced);
            const chunk = new Uint8Array(size).fill((produced / chunkBytes) % 251);
            chunk[0] = 0xff;
            written.update(chunk);
            produced += size;
            sample(size);
            controller.enqueue(chunk);
          },
        },
        { highWaterMark: 0 },
      );
      // a live signal on the way: abort handling must not hold on to the chunks it saw
      const { signal } = new AbortController();
      const put = await adapter.put(key, body, { contentType: 'application/octet-stream', signal });
      expect(put.size).toBe(largeBytes);
      expect((await adapter.head(key))?.size).toBe(largeBytes);
      const object = await adapter.get(key, { signal });
      expect(object?.size).toBe(largeBytes);
      const read = createHash('sha1');
      let received = 0;
      const reader = object!.body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        read.update(r.value);
        received += r.value.byteLength;
        sample(r.value.byteLength);
      }
      expect(received).toBe(largeBytes);
      expect(read.digest('hex')).toBe(written.digest('hex'));
      await adapter.delete(key);
      if (process.env.STORAGE_CONTRACT_DEBUG)
        console.log(`${name}: peak growth ${(peak / MiB).toFixed(1)} MiB`);
      if (maxGrowth !== false) {
        expect(peak, `memory grew by ${Math.round(peak / MiB)} MiB`).toBeLessThan(maxGrowth);
      }
    });

    it('rejects with the reason of an aborted signal, and stores nothing', async () => {
      const key = `${scope()}aborted`;
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      const { signal } = controller;
      await expect(adapter.put(key, 'x', { signal })).rejects.toBe(reason);
      await expect(adapter.get(key, { signal })).rejects.toBe(reason);
      await expect(adapter.head(key, { signal })).rejects.toBe(reason);
      await expect(adapter.delete(key, { signal })).rejects.toBe(reason);
      await expect(adapter.list('', { signal })).rejects.toBe(reason);
      expect(await adapter.head(key)).toBeNull();
    });

    it('stops an upload when its signal aborts mid-stream, and stores nothing', async () => {
      const key = `${scope()}stalled`;
      const controller = new AbortController();
      let cancelled = false;
      // one chunk, then nothing: only the abort can end this upload. It aborts once the adapter
      // has read the first chunk, so the adapter has really started (no timing guess).
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>(
        {
          pull(c) {
            if (pulls++ > 0) return new Promise<void>(() => {});
            c.enqueue(new Uint8Array(1024).fill(7));
            setTimeout(() => controller.abort(new Error('deadline')), 10);
          },
          cancel() {
            cancelled = true;
          },
        },
        { highWaterMark: 0 },
      );
      const upload = adapter.put(key, body, { signal: controller.signal });
      await expect(upload).rejects.toThrow('deadline');
      expect(await adapter.head(key)).toBeNull();
      // the source is released, not left pending
      expect(cancelled).toBe(true);
    });

    if (capabilities.signedUrl) {
      it('signs URLs that plain fetch can download and upload with', async () => {
        const key = `${scope()}signed.txt`;
        await adapter.put(key, 'signed content', { contentType: 'text/plain' });
        const getUrl = await adapter.signedUrl!(key, { method: 'GET', expiresIn: 60 });
        const response = await fetch(getUrl);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe('signed content');

        const putKey = `${scope()}uploaded.txt`;
        const putUrl = await adapter.signedUrl!(putKey, { method: 'PUT', expiresIn: 60 });
        const upload = await fetch(putUrl, { method: 'PUT', body: 'uploaded with fetch' });
        expect(upload.status).toBe(200);
        await upload.arrayBuffer();
        expect(await (await adapter.get(putKey))!.text()).toBe('uploaded with fetch');
      });

      it('refuses to sign invalid keys and options', async () => {
        await expect(adapter.signedUrl!('../x', { method: 'GET', expiresIn: 60 })).rejects.toSatisfy(
          isInvalidKeyError,
        );
        await expect(adapter.signedUrl!('ok', { method: 'GET', expiresIn: 0 })).rejects.toMatchObject({
          kind: 'invalid',
          field: 'expiresIn',
        });
      });
    } else {
      it('has no signedUrl (the capability is off)', () => {
        expect(adapter.signedUrl).toBeUndefined();
      });
    }

    const faults = harness.faults;
    if (faults !== undefined) {
      describe('error mapping', () => {
        for (const kind of faults.kinds ?? (['throttled', 'transient', 'timeout', 'auth'] as const)) {
          it(`maps a ${kind} failure to ProviderError kind ${kind}, with no secret in it`, async () => {
            const failing = await faults.adapter(kind);
            try {
              const calls: [string, () => Promise<unknown>][] = [
                ['head', () => failing.head('fault/key')],
                ['get', () => failing.get('fault/key')],
                ['put', () => failing.put('fault/key', 'body')],
                ['delete', () => failing.delete('fault/key')],
                ['list', () => failing.list('fault/')],
              ];
              for (const [operation, call] of calls) {
                const error = await call().then(
                  () => undefined,
                  (e: unknown) => e,
                );
                expect(isProviderError(error), `${operation}: ${String(error)}`).toBe(true);
                expect(error).toMatchObject({
                  kind,
                  operation,
                  provider: failing.provider,
                  scope: 'provider',
                  retryable: kind !== 'auth',
                });
                const shown = [String(error), JSON.stringify(error), inspect(error, { depth: 5 })];
                for (const secret of faults.secrets ?? []) {
                  for (const text of shown) expect(text).not.toContain(secret);
                }
              }
            } finally {
              await failing.close?.();
            }
          });
        }
      });
    }
  });
}

// Live memory: heap and buffers after a full collection, so garbage not yet collected (fresh
// chunks already written) does not count. `gc` is exposed at run time, without a CLI flag.
let collect: (() => void) | undefined;
function liveMemory(): number {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}
