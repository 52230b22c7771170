export type { DistributedSettings, StoreErrorEvent } from './distributed-breaker.js';
export {
  BREAKER_KEY_PREFIX,
  createDistributedBreaker,
  DistributedCircuitBreaker,
} from './distributed-breaker.js';
export type { RedisClient } from './redis-client.js';
export type { RedisOtpStoreOptions } from './redis-otp-store.js';
export { OTP_KEY_PREFIX, RedisOtpStore } from './redis-otp-store.js';
export { isStoreTimeoutError, StoreTimeoutError } from './store-budget.js';
