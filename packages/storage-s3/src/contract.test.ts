import { describeStorageAdapterContract } from '@tracks/storage/testing';
import { afterAll } from 'vitest';
import { S3StorageAdapter, type S3StorageAdapterOptions } from './s3-adapter.js';
import { type FaultServer, type S3rver, startFaultServer, startS3rver } from './test-support/servers.js';

const SECRET = 'fault-secret-key-do-not-leak-0123456789';
let s3rver: S3rver | undefined;
const faultServers: FaultServer[] = [];

// s3rver checks signatures against its fixed S3RVER/S3RVER account
const s3rverSettings = (endpoint: string): S3StorageAdapterOptions => ({
  bucket: 'tracks',
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  // with the SDK's default checksums s3rver stores the aws-chunked encoding as the body
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

describeStorageAdapterContract('S3StorageAdapter on s3rver', {
  create: async () => {
    s3rver = await startS3rver();
    // 5 MiB parts (S3's minimum), two at a time: an upload holds about 20 MiB
    return new S3StorageAdapter({ ...s3rverSettings(s3rver.endpoint), partSizeBytes: 5 * 1024 * 1024 });
  },
  destroy: async (adapter) => {
    await adapter.close?.();
    await s3rver?.stop();
  },
  // s3rver sorts its file names, not keys: see strictKeyOrder
  capabilities: { signedUrl: true, strictKeyOrder: false },
  faults: {
    adapter: async (kind) => {
      const server = await startFaultServer(kind);
      faultServers.push(server);
      return new S3StorageAdapter({
        bucket: 'tracks',
        endpoint: server.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIAFAULTSERVER', secretAccessKey: SECRET },
        requestTimeoutMs: kind === 'timeout' ? 100 : 5_000,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    },
    secrets: [SECRET],
  },
});

afterAll(async () => {
  await Promise.all(faultServers.map((server) => server.close()));
});
