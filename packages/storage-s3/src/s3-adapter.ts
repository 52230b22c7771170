import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  type CallOptions,
  iterateBody,
  type ListOptions,
  type ListResult,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  replayableBytes,
  type SignedUrlOptions,
  type StorageAdapter,
  type StorageBody,
  type StorageOperation,
  type StoredObject,
  storedObject,
  toWebStream,
  validateKey,
  validateListLimit,
  validatePrefix,
  validatePutOptions,
  validateSignedUrlOptions,
} from '@tracks/storage';
import { isNotFound, mapS3Error } from './errors.js';

/** Static credentials for the client the adapter builds. */
export interface S3Credentials {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. Never appears in an error the adapter throws. */
  secretAccessKey: string;
  /** A session token, for temporary credentials. */
  sessionToken?: string;
}

/** Options of {@link S3StorageAdapter}: a `bucket`, and either a `client` or the settings to build one. */
export interface S3StorageAdapterOptions {
  /** The bucket that holds the objects. */
  bucket: string;
  /**
   * A configured client. Configure it with `maxAttempts: 1` (retries belong to the policy
   * around the adapter) and `requestHandler: { requestTimeout, throwOnRequestTimeout: true }`.
   * The adapter does not destroy a client it was given.
   * @default a client the adapter builds from the settings below (and destroys on `close()`)
   */
  client?: S3Client;
  /**
   * The region.
   * @default process.env.AWS_REGION, else 'us-east-1'
   */
  region?: string;
  /**
   * The endpoint of an S3-compatible store (MinIO, R2, s3rver): `http://127.0.0.1:9000`.
   * @default AWS's endpoint for the region
   */
  endpoint?: string;
  /**
   * Address buckets as `endpoint/bucket/key` rather than `bucket.endpoint/key`; most
   * S3-compatible stores need it.
   * @default false
   */
  forcePathStyle?: boolean;
  /**
   * Static credentials.
   * @default the SDK's default provider chain (environment, shared files, instance role)
   */
  credentials?: S3Credentials;
  /**
   * The longest a request may take to send its body and get the response's headers, in ms.
   * @default 30000
   */
  requestTimeoutMs?: number;
  /**
   * The longest connecting may take, in ms.
   * @default 5000
   */
  connectionTimeoutMs?: number;
  /**
   * When the client adds request checksums. `'WHEN_REQUIRED'` for stores that do not
   * understand the SDK's default `aws-chunked` trailing checksums (s3rver, older MinIO).
   * @default 'WHEN_SUPPORTED' (the SDK's default)
   */
  requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  /**
   * When the client validates response checksums.
   * @default 'WHEN_SUPPORTED' (the SDK's default)
   */
  responseChecksumValidation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  /**
   * The part size of multipart uploads, in bytes (S3's minimum is 5 MiB). Streams and bodies
   * larger than this are uploaded in parts; an upload buffers at most
   * `partSizeBytes * uploadQueueSize` bytes.
   * @default 8388608 (8 MiB)
   */
  partSizeBytes?: number;
  /**
   * How many parts of one upload are sent at once. (lib-storage holds each part in memory
   * while it is sent, and a second copy while it gathers it: an upload's memory is about
   * `2 * partSizeBytes * uploadQueueSize`.)
   * @default 2
   */
  uploadQueueSize?: number;
  /**
   * The provider name, used in errors and in the breaker's name (`storage:<provider>`).
   * @default 's3'
   */
  provider?: string;
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * A {@link StorageAdapter} on Amazon S3 or an S3-compatible store, through `@aws-sdk/client-s3`.
 * Streams and large bodies go up as multipart uploads (`@aws-sdk/lib-storage`), signed URLs come
 * from `@aws-sdk/s3-request-presigner`, and every SDK failure becomes a `ProviderError`
 * (see {@link mapS3Error}). The adapter makes one attempt per call: compose retries, a breaker
 * and timeouts around it with `withResilience`.
 */
export class S3StorageAdapter implements StorageAdapter {
  /** The provider name. */
  readonly provider: string;
  /** The bucket. */
  readonly bucket: string;
  /** The client the adapter sends through. */
  readonly client: S3Client;
  readonly #ownsClient: boolean;
  readonly #secrets: (string | undefined)[];
  readonly #partSize: number;
  readonly #queueSize: number;

  constructor(options: S3StorageAdapterOptions) {
    if (typeof options?.bucket !== 'string' || options.bucket.length === 0) {
      throw new TypeError('S3StorageAdapter: `bucket` is required');
    }
    this.bucket = options.bucket;
    this.provider = options.provider ?? 's3';
    this.#partSize = options.partSizeBytes ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(this.#partSize) || this.#partSize < MIN_PART_SIZE) {
      throw new RangeError('S3StorageAdapter: `partSizeBytes` must be an integer of at least 5 MiB');
    }
    this.#queueSize = options.uploadQueueSize ?? 2;
    this.#secrets = [options.credentials?.secretAccessKey, options.credentials?.sessionToken];
    if (options.client) {
      this.client = options.client;
      this.#ownsClient = false;
    } else {
      this.client = new S3Client(clientConfig(options));
      this.#ownsClient = true;
    }
  }

  /**
   * A replayable body up to the part size goes up in one `PutObject`; a stream or a larger body
   * as a multipart upload, read as it is sent.
   */
  async put(key: string, body: StorageBody, options: PutOptions = {}): Promise<PutResult> {
    validateKey(key, { provider: this.provider, operation: 'put' });
    validatePutOptions(options, { provider: this.provider, operation: 'put' });
    options.signal?.throwIfAborted();
    const params = {
      Bucket: this.bucket,
      Key: key,
      ContentType: options.contentType ?? 'application/octet-stream',
      Metadata: { ...options.metadata },
    };
    try {
      const bytes = replayableBytes(body);
      if (bytes !== undefined && bytes.byteLength <= this.#partSize) {
        const out = await this.client.send(
          new PutObjectCommand({ ...params, Body: bytes, ContentLength: bytes.byteLength }),
          abortOptions(options.signal),
        );
        return result(key, out.ETag, bytes.byteLength);
      }
      let size = 0;
      const counted = async function* (signal: AbortSignal | undefined) {
        for await (const chunk of iterateBody(body, signal)) {
          size += chunk.byteLength;
          yield chunk;
        }
      };
      const abortController = new AbortController();
      const onAbort = () => abortController.abort(options.signal?.reason);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const upload = new Upload({
          client: this.client,
          // bytes go as they are (lib-storage slices them without copying); a stream is counted as it passes
          params: {
            ...params,
            Body: bytes ?? Readable.from(counted(abortController.signal), { objectMode: false }),
          },
          partSize: this.#partSize,
          queueSize: this.#queueSize,
          abortController,
        });
        const out = await upload.done();
        return result(key, out.ETag, bytes?.byteLength ?? size);
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
    } catch (error) {
      throw this.#map(error, 'put', options.signal);
    }
  }

  /** `GetObject`; the body streams from the response. */
  async get(key: string, options: CallOptions = {}): Promise<StoredObject | null> {
    validateKey(key, { provider: this.provider, operation: 'get' });
    options.signal?.throwIfAborted();
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
        abortOptions(options.signal),
      );
      const info: ObjectInfo & { contentType: string; metadata: Record<string, string> } = {
        key,
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? 'application/octet-stream',
        metadata: { ...out.Metadata },
      };
      if (out.ETag !== undefined) info.etag = unquote(out.ETag);
      if (out.LastModified !== undefined) info.lastModified = out.LastModified;
      // on Node the body is the IncomingMessage; the SDK's transformToWebStream (Readable.toWeb)
      // is about 3x slower than reading it on demand
      const body =
        out.Body instanceof Readable
          ? toWebStream(out.Body)
          : out.Body
            ? (out.Body.transformToWebStream() as ReadableStream<Uint8Array>)
            : new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      return storedObject(info, body);
    } catch (error) {
      if (isNotFound(error) && !options.signal?.aborted) return null;
      throw this.#map(error, 'get', options.signal);
    }
  }

  /** `HeadObject`. */
  async head(key: string, options: CallOptions = {}): Promise<ObjectInfo | null> {
    validateKey(key, { provider: this.provider, operation: 'head' });
    options.signal?.throwIfAborted();
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
        abortOptions(options.signal),
      );
      const info: ObjectInfo = {
        key,
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? 'application/octet-stream',
        metadata: { ...out.Metadata },
      };
      if (out.ETag !== undefined) info.etag = unquote(out.ETag);
      if (out.LastModified !== undefined) info.lastModified = out.LastModified;
      return info;
    } catch (error) {
      if (isNotFound(error) && !options.signal?.aborted) return null;
      throw this.#map(error, 'head', options.signal);
    }
  }

  /** `DeleteObject` (S3 answers 204 for an absent key too). */
  async delete(key: string, options: CallOptions = {}): Promise<void> {
    validateKey(key, { provider: this.provider, operation: 'delete' });
    options.signal?.throwIfAborted();
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: key }),
        abortOptions(options.signal),
      );
    } catch (error) {
      if (isNotFound(error) && !options.signal?.aborted) return;
      throw this.#map(error, 'delete', options.signal);
    }
  }

  /** `ListObjectsV2`; the cursor is S3's continuation token. */
  async list(prefix = '', options: ListOptions = {}): Promise<ListResult> {
    const context = { provider: this.provider, operation: 'list' } as const;
    validatePrefix(prefix, context);
    const limit = validateListLimit(options, context);
    options.signal?.throwIfAborted();
    try {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          MaxKeys: limit,
          ...(prefix ? { Prefix: prefix } : {}),
          ...(options.cursor ? { ContinuationToken: options.cursor } : {}),
        }),
        abortOptions(options.signal),
      );
      const items = (out.Contents ?? []).map((object) => {
        const info: ObjectInfo = { key: object.Key ?? '', size: object.Size ?? 0 };
        if (object.ETag !== undefined) info.etag = unquote(object.ETag);
        if (object.LastModified !== undefined) info.lastModified = object.LastModified;
        return info;
      });
      return out.IsTruncated && out.NextContinuationToken
        ? { items, cursor: out.NextContinuationToken }
        : { items };
    } catch (error) {
      throw this.#map(error, 'list', options.signal);
    }
  }

  /**
   * A presigned `GetObject` or `PutObject` URL. A `PUT` with `contentType` signs the
   * `content-type` header: the upload must send that exact value.
   */
  async signedUrl(key: string, options: SignedUrlOptions): Promise<string> {
    validateKey(key, { provider: this.provider, operation: 'signedUrl' });
    validateSignedUrlOptions(options, { provider: this.provider, operation: 'signedUrl' });
    try {
      const command =
        options.method === 'GET'
          ? new GetObjectCommand({ Bucket: this.bucket, Key: key })
          : new PutObjectCommand({
              Bucket: this.bucket,
              Key: key,
              ...(options.contentType ? { ContentType: options.contentType } : {}),
            });
      return await getSignedUrl(this.client, command, { expiresIn: options.expiresIn });
    } catch (error) {
      throw this.#map(error, 'signedUrl', undefined);
    }
  }

  /** Destroys the client when the adapter built it; a client passed in is left to its owner. */
  async close(): Promise<void> {
    if (this.#ownsClient) this.client.destroy();
  }

  #map(error: unknown, operation: StorageOperation, signal: AbortSignal | undefined): unknown {
    // the caller's abort is not the store's failure: it must not count against a breaker
    if (signal?.aborted) return signal.reason;
    return mapS3Error(error, this.provider, operation, this.#secrets);
  }
}

function clientConfig(options: S3StorageAdapterOptions): S3ClientConfig {
  const config: S3ClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    // one attempt: retries are the policy's, and would multiply with it
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      // without it the SDK only logs a warning when requestTimeout passes
      throwOnRequestTimeout: true,
    },
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
  if (options.credentials !== undefined) config.credentials = { ...options.credentials };
  if (options.requestChecksumCalculation !== undefined) {
    config.requestChecksumCalculation = options.requestChecksumCalculation;
  }
  if (options.responseChecksumValidation !== undefined) {
    config.responseChecksumValidation = options.responseChecksumValidation;
  }
  return config;
}

function abortOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

function result(key: string, etag: string | undefined, size: number): PutResult {
  return etag === undefined ? { key, size } : { key, etag: unquote(etag), size };
}
