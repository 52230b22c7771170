export type { MapSendGridErrorContext } from './map-error.js';
export { mapSendGridError } from './map-error.js';
export type { SendGridEmailAdapterOptions } from './sendgrid-email-adapter.js';
export { SENDGRID_LIMITS, SendGridEmailAdapter } from './sendgrid-email-adapter.js';
