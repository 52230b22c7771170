export { defaultBuckets } from './duration-histogram.js';
export type {
  Metrics,
  MetricsOptions,
  MetricsRegistry,
  ObserveOutboxOptions,
  ObserveRetryOptions,
  ObserveStoreOptions,
} from './metrics.js';
export { createMetrics, isAbortGiveUp } from './metrics.js';
export type { MetricsRequestHandler } from './metrics-handler.js';
export { metricsHandler } from './metrics-handler.js';
export type {
  BreakerCreatedEvent,
  BreakerState,
  CallErrorEvent,
  CallEvent,
  GiveUpEvent,
  ObservableBreaker,
  ObservableBreakerRegistry,
  ObservableOutbox,
  ObservablePolicy,
  ObservableStore,
  OutboxOutcome,
  OutboxStats,
  RejectEvent,
  RetryEvent,
  StateChangeEvent,
  StoreErrorEvent,
  Subscribe,
} from './observable.js';
