export { Emitter } from './event.js';
export type { Disposer, Listener } from './event.js';
export { ProviderError, isMessageScoped, isProviderError, summarizeError } from './errors.js';
export type { ErrorScope, ErrorSummary, ProviderErrorKind, ProviderErrorOptions } from './errors.js';
