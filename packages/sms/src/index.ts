export type {
  SendOtpOptions,
  SendOtpResult,
  SendResult,
  SmsAdapter,
  SmsCallOptions,
  VerifyResult,
} from './adapter.js';
export type { SegmentCount, SmsEncoding, ValidateBodyOptions } from './body.js';
export { countSegments, DEFAULT_MAX_SEGMENTS, validateSmsBody } from './body.js';
export type { RateLimitReason, SmsValidationErrorOptions } from './errors.js';
export {
  InvalidMessageError,
  InvalidPhoneNumberError,
  isRateLimitedError,
  RateLimitedError,
} from './errors.js';
export type { FailoverSmsAdapter, SmsFailoverEvent, SmsFailoverOptions } from './failover.js';
export { failover } from './failover.js';
export type { LogSmsAdapterOptions, SmsLogger } from './log-adapter.js';
export { LogSmsAdapter } from './log-adapter.js';
export type { MemorySmsAdapterOptions, MemorySmsFault, MemorySmsMessage } from './memory-adapter.js';
export { MemorySmsAdapter } from './memory-adapter.js';
export type { MemoryOtpStoreOptions } from './memory-otp-store.js';
export { MemoryOtpStore } from './memory-otp-store.js';
export type { IssuedOtp, OtpServiceOptions } from './otp.js';
export { OtpService } from './otp.js';
export type { OtpMessage, OtpMessageContext } from './otp-delivery.js';
export { defaultOtpMessage, provesNotSent, sendIssuedOtp } from './otp-delivery.js';
export type { OtpAttemptOutcome, OtpIssueLimits, OtpIssueOutcome, OtpRecord, OtpStore } from './otp-store.js';
export type { NormalizePhoneOptions } from './phone.js';
export { isValidPhoneNumber, maskPhoneNumber, normalizePhoneNumber } from './phone.js';
export type { ResilientSmsAdapter } from './resilience.js';
export { withResilience } from './resilience.js';
