import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { FsStorageAdapter, type StorageAdapter, withResilience } from '@tracks/storage';
import type { StorageProviderName } from './config.js';
import type { StorageService } from './services.js';
import type { WireContext, Wiring } from './wiring.js';

/** The storage family: the configured store behind its fault layer and its `storage:<provider>` breaker. */
export async function wireStorage(context: WireContext, wiring: Wiring): Promise<StorageService> {
  const raw = await storageAdapter(context.config.storage.provider, context);
  wiring.closers.push(() => raw.close?.());
  const adapter = wiring.guard('storage', raw, withResilience, {
    operations: ['put', 'get', 'head', 'delete', 'list'],
    primary: true,
  });
  const options = (signal: AbortSignal | undefined) => (signal === undefined ? {} : { signal });
  return {
    put: (key, body, contentType, signal) =>
      adapter.put(key, body, { ...(contentType !== undefined && { contentType }), ...options(signal) }),
    async get(key, signal) {
      const object = await adapter.get(key, options(signal));
      if (object === null) return null;
      return {
        body: Readable.fromWeb(object.body as NodeReadableStream<Uint8Array>),
        contentType: object.contentType,
        size: object.size,
        ...(object.etag !== undefined && { etag: object.etag }),
      };
    },
    delete: (key, signal) => adapter.delete(key, options(signal)),
  };
}

async function storageAdapter(name: StorageProviderName, context: WireContext): Promise<StorageAdapter> {
  const { config } = context;
  switch (name) {
    case 'fs':
      return new FsStorageAdapter({ root: config.storage.fsRoot });
    case 's3': {
      const { S3StorageAdapter } = await import('@tracks/storage-s3');
      return new S3StorageAdapter({
        bucket: config.storage.s3Bucket ?? '',
        ...(config.awsRegion !== undefined && { region: config.awsRegion }),
        forcePathStyle: config.storage.s3ForcePathStyle,
        requestTimeoutMs: config.providerTimeoutMs,
      });
    }
  }
}
