export type { MapSesErrorContext } from './map-error.js';
export { mapSesError, nextUtcMidnight } from './map-error.js';
export type { SesEmailAdapterOptions } from './ses-email-adapter.js';
export { SesEmailAdapter } from './ses-email-adapter.js';
