export type {
  ExclusionEvent,
  FailureEvent,
  RejectEvent,
  StateChangeEvent,
  SuccessEvent,
} from './breaker-events.js';
export type { ExecuteResult } from './circuit-breaker.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type { ErrorScope, ErrorSummary, ProviderErrorKind, ProviderErrorOptions } from './errors.js';
export { isMessageScoped, isProviderError, ProviderError, summarizeError } from './errors.js';
export type { Disposer, Listener } from './event.js';
export { Emitter } from './event.js';
export type { OpenStateErrorOptions, TooManyRequestsErrorOptions } from './rejections.js';
export {
  isBreakerRejection,
  isOpenStateError,
  isTooManyRequestsError,
  OpenStateError,
  TooManyRequestsError,
} from './rejections.js';
export type { Settings } from './settings.js';
export { defaultReadyToTrip } from './settings.js';
export type { BreakerSnapshot } from './snapshot.js';
export type { Counts } from './state.js';
export { State } from './state.js';
export { TwoStepCircuitBreaker } from './two-step.js';
