import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { isProviderError } from '@tracks/breaker';
import { withResilience } from '@tracks/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3StorageAdapter, type S3StorageAdapterOptions } from './s3-adapter.js';
import {
  type FaultMode,
  type FaultServer,
  type S3rver,
  startFaultServer,
  startS3rver,
} from './test-support/servers.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

let s3rver: S3rver;
let faults: FaultServer;
const adapters: S3StorageAdapter[] = [];

const s3rverOptions = (): S3StorageAdapterOptions => ({
  bucket: 'tracks',
  endpoint: s3rver.endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

function faulty(mode: FaultMode, extra: Partial<S3StorageAdapterOptions> = {}): S3StorageAdapter {
  faults.mode = mode;
  faults.requests.length = 0;
  const adapter = new S3StorageAdapter({
    bucket: 'tracks',
    endpoint: faults.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: SECRET,
      sessionToken: 'session-token-secret-123',
    },
    // short only where the server hangs: elsewhere a loaded CI core must not turn answers into timeouts
    requestTimeoutMs: mode === 'timeout' ? 80 : 5_000,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...extra,
  });
  adapters.push(adapter);
  return adapter;
}

const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );

beforeAll(async () => {
  [s3rver, faults] = await Promise.all([startS3rver(), startFaultServer('transient')]);
});
afterAll(async () => {
  await Promise.all(adapters.map((adapter) => adapter.close()));
  await Promise.all([s3rver?.stop(), faults?.close()]);
});

describe('S3StorageAdapter error mapping', () => {
  it.each([
    ['throttled', 'throttled', 503],
    ['transient', 'transient', 500],
    ['internal', 'transient', 502],
    ['auth', 'auth', 403],
    ['signature', 'auth', 403],
  ] as const)(
    'maps a %s answer to %s, from the body code and from a bare HEAD status',
    async (mode, kind, status) => {
      const adapter = faulty(mode);
      const get = await failure(adapter.get('a/b'));
      expect(get).toMatchObject({ kind, status, provider: 's3', operation: 'get', scope: 'provider' });
      expect((get as { cause: { requestId?: string } }).cause.requestId).toBe('fault-request-1');
      // HEAD answers carry no body: the status alone decides
      expect(await failure(adapter.head('a/b'))).toMatchObject({ kind, status, operation: 'head' });
    },
  );

  it('carries a Retry-After of a throttling answer as retryAfterMs', async () => {
    expect(await failure(faulty('throttled').get('k'))).toMatchObject({
      kind: 'throttled',
      retryAfterMs: 2000,
    });
    expect(
      ((await failure(faulty('transient').get('k'))) as { retryAfterMs?: number }).retryAfterMs,
    ).toBeUndefined();
  });

  it('makes one attempt per call: retries belong to the policy', async () => {
    const adapter = faulty('throttled');
    await failure(adapter.get('once'));
    await failure(adapter.put('once', 'x'));
    expect(faults.requests.map((r) => r.method)).toEqual(['GET', 'PUT']);
  });

  it('maps a missing bucket to a provider-scoped permanent failure, not to null', async () => {
    const adapter = faulty('no-such-bucket');
    expect(await failure(adapter.get('k'))).toMatchObject({
      kind: 'permanent',
      scope: 'provider',
      retryable: false,
    });
    expect(await failure(adapter.list())).toMatchObject({ kind: 'permanent', scope: 'provider' });
  });

  it('times out a hung request after requestTimeoutMs', async () => {
    const adapter = faulty('timeout');
    const started = performance.now();
    expect(await failure(adapter.head('hang'))).toMatchObject({ kind: 'timeout', retryable: true });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('rejects with the caller’s reason when the caller aborts, unmapped', async () => {
    const adapter = faulty('timeout', { requestTimeoutMs: 10_000 });
    const controller = new AbortController();
    const reason = new Error('caller left');
    setTimeout(() => controller.abort(reason), 20);
    await expect(adapter.get('hang', { signal: controller.signal })).rejects.toBe(reason);
  });

  it('maps a refused connection to transient', async () => {
    const adapter = new S3StorageAdapter({
      bucket: 'tracks',
      endpoint: 'http://127.0.0.1:9', // discard port: nothing listens
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET },
    });
    adapters.push(adapter);
    expect(await failure(adapter.head('k'))).toMatchObject({ kind: 'transient', retryable: true });
  });

  it('keeps the secret key and session token out of messages, JSON and inspect', async () => {
    for (const mode of ['auth', 'signature', 'transient', 'timeout'] as const) {
      const error = await failure(faulty(mode).put('k', 'x'));
      expect(isProviderError(error)).toBe(true);
      for (const text of [
        String(error),
        JSON.stringify(error),
        inspect(error, { depth: 10, showHidden: true }),
      ]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain('session-token-secret-123');
      }
    }
    // the request was signed with the key, so the secret really was in play
    expect(faults.requests[0]?.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE\//);
  });
});

describe('S3StorageAdapter on s3rver', () => {
  it('maps credentials s3rver does not know to auth', async () => {
    const adapter = new S3StorageAdapter({
      ...s3rverOptions(),
      credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'not-the-key' },
    });
    adapters.push(adapter);
    expect(await failure(adapter.put('k', 'x'))).toMatchObject({ kind: 'auth', status: 403 });
  });

  it('uploads a replayable body larger than a part in parts', async () => {
    const adapter = new S3StorageAdapter({ ...s3rverOptions(), partSizeBytes: 5 * 1024 * 1024 });
    adapters.push(adapter);
    const data = randomBytes(6 * 1024 * 1024);
    expect(await adapter.put('multipart/bytes', data)).toMatchObject({ size: data.byteLength });
    const back = await (await adapter.get('multipart/bytes'))!.bytes();
    // Buffer.equals, not toEqual: a deep comparison of 6 Mi elements takes a minute
    expect(Buffer.from(back).equals(data)).toBe(true);
  });

  it('signs a PUT for a content type that the upload must send', async () => {
    const adapter = new S3StorageAdapter(s3rverOptions());
    adapters.push(adapter);
    const url = await adapter.signedUrl('signed/typed.json', {
      method: 'PUT',
      expiresIn: 60,
      contentType: 'application/json',
    });
    const response = await fetch(url, {
      method: 'PUT',
      body: '{"ok":true}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    const object = await adapter.get('signed/typed.json');
    expect(object?.contentType).toBe('application/json');
    expect(await object?.text()).toBe('{"ok":true}');
  });

  it('uses a client it is given and leaves it open on close', async () => {
    const client = new S3Client({
      endpoint: s3rver.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
    const adapter = new S3StorageAdapter({ client, bucket: 'tracks' });
    expect(adapter.client).toBe(client);
    await adapter.put('given/client', 'x');
    await adapter.close();
    await expect(client.send(new HeadBucketCommand({ Bucket: 'tracks' }))).resolves.toBeDefined();
    client.destroy();
  });
});

describe('S3StorageAdapter options', () => {
  it('needs a bucket and a part size S3 accepts', () => {
    expect(() => new S3StorageAdapter({ bucket: '' })).toThrow(TypeError);
    expect(() => new S3StorageAdapter({ bucket: 'b', partSizeBytes: 1024 })).toThrow(RangeError);
  });

  it('builds its client with one attempt and the path style asked for', async () => {
    const adapter = new S3StorageAdapter({ bucket: 'b', region: 'eu-west-1', forcePathStyle: true });
    adapters.push(adapter);
    expect(await adapter.client.config.maxAttempts()).toBe(1);
    expect(adapter.client.config.forcePathStyle).toBe(true);
    expect(await adapter.client.config.region()).toBe('eu-west-1');
  });
});

describe('S3StorageAdapter with withResilience', () => {
  it('retries a throttled read through the policy, one SDK attempt each, on the storage:s3 breaker', async () => {
    const storage = withResilience(faulty('throttled'), { retry: { maxRetries: 2, backoff: () => 0 } });
    const retries: number[] = [];
    storage.policy.onRetry((event) => retries.push(event.attempt));
    expect(await failure(storage.get('k'))).toMatchObject({ kind: 'throttled' });
    expect(faults.requests).toHaveLength(3);
    expect(retries).toEqual([1, 2]);
    expect(storage.policy.breaker?.name).toBe('storage:s3');
  });

  it('sends a stream once: a put the store already read is not retried', async () => {
    const storage = withResilience(faulty('transient'), { retry: { maxRetries: 2, backoff: () => 0 } });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('once'));
        controller.close();
      },
    });
    expect(await failure(storage.put('stream', body))).toMatchObject({ kind: 'transient', retryable: false });
    expect(faults.requests.map((r) => r.method)).toEqual(['PUT']);
    // a replayable body is sent again
    faults.requests.length = 0;
    expect(await failure(storage.put('bytes', 'again'))).toMatchObject({ kind: 'transient' });
    expect(faults.requests).toHaveLength(3);
  });
});
