export type { TwilioErrorFields } from './errors.js';
export { mapTwilioError, twilioCode } from './errors.js';
export type { TwilioHttpClientOptions } from './http-client.js';
export { TwilioHttpClient, TwilioTransportError } from './http-client.js';
export type { TwilioClient, TwilioSmsAdapterOptions } from './twilio-adapter.js';
export { TwilioSmsAdapter } from './twilio-adapter.js';
