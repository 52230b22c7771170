export type { Backoff, ExponentialBackoffOptions, Jitter } from './backoff.js';
export { constantBackoff, exponentialBackoff } from './backoff.js';
export type {
  ExclusionEvent,
  FailureEvent,
  RejectEvent,
  StateChangeEvent,
  SuccessEvent,
} from './breaker-events.js';
export type { BulkheadOptions, BulkheadWaiter } from './bulkhead.js';
export { Bulkhead, BulkheadRejectedError, isBulkheadRejection } from './bulkhead.js';
export type { ExecuteResult } from './circuit-breaker.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type { ErrorScope, ErrorSummary, ProviderErrorKind, ProviderErrorOptions } from './errors.js';
export { isMessageScoped, isProviderError, ProviderError, summarizeError } from './errors.js';
export type { Disposer, Listener } from './event.js';
export { Emitter } from './event.js';
export type {
  AsPolicyDefaults,
  Breaker,
  ExecuteContext,
  ExecuteOptions,
  Policy,
  PolicyGiveUpEvent,
  PolicyRetryEvent,
  PolicySuccessEvent,
  ResilienceOptions,
} from './policy.js';
export { asPolicy, isPolicy, resilience } from './policy.js';
export type { FailureRatioOptions, Presets, ServiceBreakers, ServiceBreakersOptions } from './presets.js';
export { consecutiveFailures, failureRatio, presets, serviceBreakers } from './presets.js';
export type { BreakerCreatedEvent } from './registry.js';
export { BreakerRegistry } from './registry.js';
export type { OpenStateErrorOptions, TooManyRequestsErrorOptions } from './rejections.js';
export {
  isBreakerRejection,
  isOpenStateError,
  isTooManyRequestsError,
  OpenStateError,
  TooManyRequestsError,
} from './rejections.js';
export type { GiveUpEvent, RetryContext, RetryEvent, RetryOptions, Sleep } from './retry.js';
export { retry, sleep } from './retry.js';
export { parseRetryAfter } from './retry-after.js';
export type { Settings } from './settings.js';
export { defaultReadyToTrip } from './settings.js';
export type { BreakerSnapshot } from './snapshot.js';
export type { Counts } from './state.js';
export { State } from './state.js';
export type { FailoverOptions, RetryableOptions } from './taxonomy.js';
export { isAmbiguous, isExcludedFromBreaker, isRetryable, shouldFailover } from './taxonomy.js';
export type { WithTimeoutOptions } from './timeout.js';
export { isTimeoutError, TimeoutError, withTimeout } from './timeout.js';
export { TwoStepCircuitBreaker } from './two-step.js';
