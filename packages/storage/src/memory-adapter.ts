import { createHash } from 'node:crypto';
import { ProviderError, type ProviderErrorKind } from '@tracks/breaker';
import { bytesStream, iterateBody, storedObject } from './body.js';
import type {
  CallOptions,
  ListOptions,
  ListResult,
  ObjectInfo,
  PutOptions,
  PutResult,
  StorageAdapter,
  StorageBody,
  StorageOperation,
  StoredObject,
} from './types.js';
import {
  compareKeys,
  invalidInput,
  validateKey,
  validateListLimit,
  validatePrefix,
  validatePutOptions,
} from './validation.js';

/** Options of {@link MemoryStorageAdapter}. */
export interface MemoryStorageAdapterOptions {
  /**
   * The provider name, used in errors and in the breaker's name (`storage:<provider>`).
   * @default 'memory'
   */
  provider?: string;
  /** The clock for `lastModified`, in ms since the epoch. @default Date.now */
  now?: () => number;
}

/** A failure {@link MemoryStorageAdapter.injectFault} makes calls fail with. */
export interface StorageFault {
  /** The kind of the `ProviderError` the calls reject with. */
  kind: ProviderErrorKind;
  /**
   * The operations that fail.
   * @default every operation
   */
  operations?: readonly StorageOperation[];
  /**
   * How many calls fail before the fault clears by itself.
   * @default Infinity
   */
  times?: number;
  /** The `retryAfterMs` of the error, as a throttling provider would send. */
  retryAfterMs?: number;
}

interface Entry {
  data: Uint8Array;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  lastModified: Date;
}

/**
 * A {@link StorageAdapter} in memory, for tests and demos. It behaves as the other adapters do
 * (validation, key order, pagination, `null` for absent objects) and can be made to fail on
 * purpose with {@link MemoryStorageAdapter.injectFault} — an outage to watch a breaker open.
 * It holds every object whole, so it is no place for large ones. It cannot sign URLs.
 */
export class MemoryStorageAdapter implements StorageAdapter {
  /** The provider name. */
  readonly provider: string;
  readonly #objects = new Map<string, Entry>();
  readonly #now: () => number;
  #faults: (StorageFault & { remaining: number })[] = [];

  constructor(options: MemoryStorageAdapterOptions = {}) {
    this.provider = options.provider ?? 'memory';
    this.#now = options.now ?? Date.now;
  }

  /** The number of stored objects. */
  get size(): number {
    return this.#objects.size;
  }

  /**
   * Makes the matching calls reject with a `ProviderError` of `fault.kind` (after validation, as
   * a real provider's failure would come). Returns a function that removes the fault.
   */
  injectFault(fault: StorageFault): () => void {
    const entry = { ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY };
    this.#faults.push(entry);
    return () => {
      this.#faults = this.#faults.filter((f) => f !== entry);
    };
  }

  /** Removes every injected fault. */
  clearFaults(): void {
    this.#faults = [];
  }

  /** Reads the whole body into memory and stores a copy. */
  async put(key: string, body: StorageBody, options: PutOptions = {}): Promise<PutResult> {
    validateKey(key, { provider: this.provider, operation: 'put' });
    validatePutOptions(options, { provider: this.provider, operation: 'put' });
    this.#begin('put', options.signal);
    const chunks: Uint8Array[] = [];
    let size = 0;
    const hash = createHash('md5');
    for await (const chunk of iterateBody(body, options.signal)) {
      // copied: the caller may reuse its buffer
      chunks.push(chunk.slice());
      hash.update(chunk);
      size += chunk.byteLength;
    }
    options.signal?.throwIfAborted();
    const data = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      data.set(chunk, offset);
      offset += chunk.byteLength;
    }
    const entry: Entry = {
      data,
      etag: hash.digest('hex'),
      contentType: options.contentType ?? 'application/octet-stream',
      metadata: { ...options.metadata },
      lastModified: new Date(this.#now()),
    };
    this.#objects.set(key, entry);
    return { key, etag: entry.etag, size };
  }

  /** The object, with a copy of its bytes as the body. */
  async get(key: string, options: CallOptions = {}): Promise<StoredObject | null> {
    validateKey(key, { provider: this.provider, operation: 'get' });
    this.#begin('get', options.signal);
    const entry = this.#objects.get(key);
    if (entry === undefined) return null;
    return storedObject(info(key, entry), bytesStream(entry.data.slice()));
  }

  /** What is known about the object. */
  async head(key: string, options: CallOptions = {}): Promise<ObjectInfo | null> {
    validateKey(key, { provider: this.provider, operation: 'head' });
    this.#begin('head', options.signal);
    const entry = this.#objects.get(key);
    return entry === undefined ? null : info(key, entry);
  }

  /** Removes the object; removing an absent one succeeds. */
  async delete(key: string, options: CallOptions = {}): Promise<void> {
    validateKey(key, { provider: this.provider, operation: 'delete' });
    this.#begin('delete', options.signal);
    this.#objects.delete(key);
  }

  /** One page in key order; the cursor is the last key returned, base64url-encoded. */
  async list(prefix = '', options: ListOptions = {}): Promise<ListResult> {
    const context = { provider: this.provider, operation: 'list' } as const;
    validatePrefix(prefix, context);
    const limit = validateListLimit(options, context);
    let after: string | undefined;
    if (options.cursor !== undefined) {
      after = Buffer.from(options.cursor, 'base64url').toString('utf8');
      if (after.length === 0 || Buffer.from(after, 'utf8').toString('base64url') !== options.cursor) {
        throw invalidInput('cursor', 'must be a cursor returned by list', context);
      }
    }
    this.#begin('list', options.signal);
    const keys = [...this.#objects.keys()]
      .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
      .sort(compareKeys);
    const page = keys.slice(0, limit);
    const items = page.map((key) => info(key, this.#objects.get(key)!));
    const last = page.at(-1);
    return keys.length > limit && last !== undefined
      ? { items, cursor: Buffer.from(last, 'utf8').toString('base64url') }
      : { items };
  }

  /** Forgets every object (faults stay). */
  async close(): Promise<void> {
    this.#objects.clear();
  }

  #begin(operation: StorageOperation, signal: AbortSignal | undefined): void {
    signal?.throwIfAborted();
    const fault = this.#faults.find((f) => f.remaining > 0 && (f.operations?.includes(operation) ?? true));
    if (fault === undefined) return;
    fault.remaining--;
    throw new ProviderError({
      kind: fault.kind,
      provider: this.provider,
      operation,
      ...(fault.retryAfterMs !== undefined ? { retryAfterMs: fault.retryAfterMs } : {}),
      message: `${this.provider} ${operation} failed (${fault.kind}, injected fault)`,
    });
  }
}

function info(
  key: string,
  entry: Entry,
): ObjectInfo & { contentType: string; metadata: Record<string, string> } {
  return {
    key,
    size: entry.data.byteLength,
    etag: entry.etag,
    lastModified: entry.lastModified,
    contentType: entry.contentType,
    metadata: { ...entry.metadata },
  };
}
