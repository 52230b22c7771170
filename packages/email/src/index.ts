export type { AddressProblem, ParseAddressResult, ParsedAddress } from './address.js';
export { parseAddress } from './address.js';
export type { InvalidMessageErrorOptions } from './errors.js';
export { InvalidMessageError, isInvalidMessageError } from './errors.js';
export type { FailoverEmailAdapter, FailoverEvent, FailoverOptions } from './failover.js';
export { failover } from './failover.js';
export type { MemoryEmailAdapterOptions, MemoryFault, SentEmail } from './memory.js';
export { MemoryEmailAdapter } from './memory.js';
export type { ResilientEmailAdapter } from './resilience.js';
export { withResilience } from './resilience.js';
export type {
  Attachment,
  EmailAdapter,
  EmailLimits,
  EmailMessage,
  SendOptions,
  SendResult,
} from './types.js';
export { DEFAULT_EMAIL_LIMITS } from './types.js';
export type { ValidateOptions } from './validate.js';
export { estimateEncodedSize, PROTECTED_HEADERS, validateEmailMessage } from './validate.js';
