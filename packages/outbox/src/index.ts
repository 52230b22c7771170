export type { BullmqDriverOptions } from './bullmq-driver.js';
export { bullmqDriver } from './bullmq-driver.js';
export type {
  ClaimRequest,
  DeadReason,
  EnqueueResult,
  JobCounts,
  JobState,
  ListRequest,
  NewJob,
  OutboxDriver,
  Reschedule,
  StoredJob,
} from './driver.js';
export { memoryDriver } from './memory-driver.js';
export type {
  DeadEvent,
  DeferredEvent,
  Deliver,
  DeliveredEvent,
  DeliveryContext,
  Enqueued,
  EnqueueOptions,
  FailedEvent,
  Handler,
  HandlerSpec,
  Outbox,
  OutboxErrorEvent,
  OutboxEvents,
  OutboxJob,
  OutboxOptions,
  OutboxRetryOptions,
  OutboxStats,
  PayloadOf,
} from './outbox.js';
export { createOutbox } from './outbox.js';
export type {
  EmailSender,
  OutboxQueue,
  Queued,
  QueueingEmailAdapter,
  QueueingSmsAdapter,
  QueueWhenUnavailableOptions,
  SmsJob,
  SmsSender,
} from './queue-when-unavailable.js';
export { queueWhenUnavailable } from './queue-when-unavailable.js';
export type { SqliteDriverOptions } from './sqlite-driver.js';
export { sqliteDriver } from './sqlite-driver.js';
