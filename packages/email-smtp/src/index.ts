export { mapSmtpError } from './map-error.js';
export type {
  SmtpAddress,
  SmtpAuth,
  SmtpEmailAdapterOptions,
  SmtpMail,
  SmtpSentInfo,
  SmtpTransporter,
} from './smtp-email-adapter.js';
export { SmtpEmailAdapter } from './smtp-email-adapter.js';
