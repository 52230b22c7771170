export { codeOf, isNotFound, mapS3Error, statusOf } from './errors.js';
export type { S3Credentials, S3StorageAdapterOptions } from './s3-adapter.js';
export { S3StorageAdapter } from './s3-adapter.js';
