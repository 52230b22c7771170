export {
  bytesStream,
  isReplayableBody,
  iterateBody,
  readAll,
  replayableBytes,
  storedObject,
  toNodeReadable,
  toWebStream,
} from './body.js';
export type { FsStorageAdapterOptions } from './fs-adapter.js';
export { FsStorageAdapter, mapFsError } from './fs-adapter.js';
export type { MemoryStorageAdapterOptions, StorageFault } from './memory-adapter.js';
export { MemoryStorageAdapter } from './memory-adapter.js';
export type { ResilientStorageAdapter } from './resilience.js';
export { withResilience } from './resilience.js';
export type {
  CallOptions,
  ListOptions,
  ListResult,
  ObjectInfo,
  PutOptions,
  PutResult,
  SignedUrlOptions,
  StorageAdapter,
  StorageBody,
  StorageOperation,
  StoredObject,
} from './types.js';
export type { ValidationContext } from './validation.js';
export {
  compareKeys,
  InvalidKeyError,
  invalidInput,
  isInvalidKeyError,
  keyProblem,
  MAX_KEY_BYTES,
  MAX_LIST_LIMIT,
  MAX_METADATA_BYTES,
  validateKey,
  validateListLimit,
  validatePrefix,
  validatePutOptions,
  validateSignedUrlOptions,
} from './validation.js';
