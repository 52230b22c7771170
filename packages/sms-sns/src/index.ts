export { mapSnsError } from './errors.js';
export type { SnsSmsAdapterOptions, SnsSmsType } from './sns-adapter.js';
export { SnsSmsAdapter } from './sns-adapter.js';
