/**
 * A body a {@link StorageAdapter} can store. A `Uint8Array` or a `string` (stored as UTF-8) can
 * be sent again, so a `put` of one is idempotent and may be retried; a stream is read once and
 * is never retried.
 */
export type StorageBody = Uint8Array | string | ReadableStream<Uint8Array> | NodeJS.ReadableStream;

/** The storage operations, as named in errors (`operation`) and in fault injection. */
export type StorageOperation = 'put' | 'get' | 'head' | 'delete' | 'list' | 'signedUrl';

/** Options of {@link StorageAdapter.put}. */
export interface PutOptions {
  /**
   * The object's media type, returned by `get` and `head`. No control characters.
   * @default 'application/octet-stream'
   */
  contentType?: string;
  /**
   * User metadata stored with the object. Names are lowercase letters, digits, `-` and `_`
   * (S3 sends them as HTTP headers, which are case-insensitive); values are printable ASCII;
   * names and values together at most 2 KiB, S3's limit.
   * @default {}
   */
  metadata?: Record<string, string>;
  /** Aborts the upload: the call rejects with `signal.reason` and no object is written. */
  signal?: AbortSignal;
}

/** Options of the reading calls (`get`, `head`) and of `delete`. */
export interface CallOptions {
  /** Aborts the call: it rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of {@link StorageAdapter.list}. */
export interface ListOptions {
  /**
   * The most items one page holds, an integer from 1 to 1000.
   * @default 1000
   */
  limit?: number;
  /**
   * The `cursor` of the previous page, to read the next one. Opaque: pass it back as it came.
   * @default undefined (the first page)
   */
  cursor?: string;
  /** Aborts the call: it rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of {@link StorageAdapter.signedUrl}. */
export interface SignedUrlOptions {
  /** What the URL lets its holder do: download (`GET`) or upload (`PUT`) the object. */
  method: 'GET' | 'PUT';
  /** How long the URL is valid, in seconds. */
  expiresIn: number;
  /** For `PUT`: the content type the upload must send (it is part of the signature). */
  contentType?: string;
}

/** What `put` reports about the stored object. */
export interface PutResult {
  /** The object's key. */
  key: string;
  /** The entity tag the store computed, without surrounding quotes. */
  etag?: string;
  /** The number of bytes stored. */
  size: number;
}

/** What a store knows about an object without reading its body. */
export interface ObjectInfo {
  /** The object's key. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** The entity tag, without surrounding quotes. It changes when the content does. */
  etag?: string;
  /** When the object was last written. */
  lastModified?: Date;
  /** The media type; `head` and `get` return it, `list` may not (S3 does not). */
  contentType?: string;
  /** User metadata; `head` and `get` return it, `list` may not (S3 does not). */
  metadata?: Record<string, string>;
}

/** A stored object: its {@link ObjectInfo} and its body. */
export interface StoredObject extends ObjectInfo {
  /** The media type. */
  contentType: string;
  /** User metadata (`{}` when there is none). */
  metadata: Record<string, string>;
  /**
   * The content as a web stream. It can be read once: read it, or `cancel()` it to release the
   * file or connection behind it.
   */
  readonly body: ReadableStream<Uint8Array>;
  /** Reads the whole body into memory. Uses up `body`. */
  bytes(): Promise<Uint8Array>;
  /** Reads the whole body as UTF-8 text. Uses up `body`. */
  text(): Promise<string>;
}

/** One page of {@link StorageAdapter.list}. */
export interface ListResult {
  /** Objects in lexicographic order of their keys' UTF-8 bytes. */
  items: ObjectInfo[];
  /** Present when there is a next page: pass it as `cursor`. */
  cursor?: string;
}

/**
 * An object store. Every adapter validates keys before any I/O (an {@link InvalidKeyError}
 * never reaches a provider), maps its SDK's failures onto `ProviderError` kinds, and returns
 * `null` for an absent object. Resilience (retries, breaker, timeouts) is composed around it with
 * `withResilience`; adapters neither retry nor hold a breaker.
 */
export interface StorageAdapter {
  /** The provider's name, as its breaker is named after it (`storage:<provider>`): `s3`, `fs`, `memory`. */
  readonly provider: string;
  /** Stores `body` under `key`, replacing any object there. */
  put(key: string, body: StorageBody, options?: PutOptions): Promise<PutResult>;
  /** The object under `key`, or `null` when there is none. */
  get(key: string, options?: CallOptions): Promise<StoredObject | null>;
  /** What is known about the object under `key` without its body, or `null` when there is none. */
  head(key: string, options?: CallOptions): Promise<ObjectInfo | null>;
  /** Removes the object under `key`. Removing an absent object succeeds. */
  delete(key: string, options?: CallOptions): Promise<void>;
  /** One page of the objects whose keys start with `prefix`, in key order. */
  list(prefix?: string, options?: ListOptions): Promise<ListResult>;
  /**
   * A URL that lets anyone holding it `GET` or `PUT` the object with plain HTTP until it
   * expires. Absent on adapters that cannot sign (the file-system and memory adapters).
   */
  signedUrl?(key: string, options: SignedUrlOptions): Promise<string>;
  /** Releases the adapter's resources (connections, file handles). */
  close?(): Promise<void>;
}
