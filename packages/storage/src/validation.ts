import { ProviderError } from '@tracks/breaker';
import type { ListOptions, PutOptions, SignedUrlOptions, StorageOperation } from './types.js';

/** The longest key, in UTF-8 bytes (S3's limit). */
export const MAX_KEY_BYTES = 1024;
/** The most items one `list` page may hold (S3's limit). */
export const MAX_LIST_LIMIT = 1000;
/** The most bytes of user metadata, names and values together (S3's limit). */
export const MAX_METADATA_BYTES = 2048;

const encoder = new TextEncoder();
const invalidKeyBrand: unique symbol = Symbol.for('tracks.InvalidKeyError');

// C0, DEL and C1 controls: they break logs, headers and file names alike.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// `%2F` / `%5C` decode to separators in any layer that URL-decodes a key (a proxy, a route
// handler, a signed URL): rejecting them keeps "one key = one path" true end to end.
const ENCODED_SEPARATOR = /%(2f|5c)/i;
// `.` and `..`, also percent-encoded (`%2e%2E`), as whole segments.
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
const METADATA_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const METADATA_VALUE = /^[\u0020-\u007e]*$/;

/**
 * A key that no adapter will accept, thrown before any I/O: a validation error, so it never
 * reaches a breaker or a retry. A message-scoped `invalid` {@link ProviderError} with
 * `field: 'key'`, plus the `reason` and the offending `key`.
 */
export class InvalidKeyError extends ProviderError {
  /** Why the key was refused, for people. */
  readonly reason: string;
  /** The refused key (truncated to 200 characters; control characters escaped in the message). */
  readonly key: string;

  constructor(key: unknown, reason: string, options: { provider?: string; operation?: string } = {}) {
    const shown = typeof key === 'string' ? key.slice(0, 200) : String(key);
    super({
      kind: 'invalid',
      scope: 'message',
      retryable: false,
      provider: options.provider ?? 'storage',
      operation: options.operation ?? 'validate',
      field: 'key',
      message: `invalid storage key ${JSON.stringify(shown)}: ${reason}; fix the key, the request was not sent`,
    });
    this.name = 'InvalidKeyError';
    this.reason = reason;
    this.key = shown;
    Object.defineProperty(this, invalidKeyBrand, { value: true });
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), reason: this.reason, key: this.key };
  }
}

/** True for an {@link InvalidKeyError} from any copy of this package. */
export function isInvalidKeyError(error: unknown): error is InvalidKeyError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[invalidKeyBrand] === true
  );
}

/** Where a validation error is reported: the adapter's provider and the operation. */
export interface ValidationContext {
  /** @default 'storage' */
  provider?: string;
  /** @default 'validate' */
  operation?: StorageOperation | 'validate';
}

/**
 * Returns why `key` is not a valid storage key, or `undefined` when it is. A key is a non-empty
 * string of at most 1024 UTF-8 bytes of well-formed Unicode, without control characters or
 * backslashes, not starting or ending with `/`, without empty, `.` or `..` segments (also
 * percent-encoded) and without percent-encoded separators (`%2F`, `%5C`).
 */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'must be a string';
  if (key.length === 0) return 'must not be empty';
  if (!isWellFormed(key)) return 'must be well-formed Unicode (no lone surrogates)';
  if (encoder.encode(key).byteLength > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} UTF-8 bytes`;
  if (CONTROL.test(key)) return 'must not contain control characters';
  if (key.includes('\\')) return 'must not contain backslashes';
  if (ENCODED_SEPARATOR.test(key)) return 'must not contain percent-encoded separators (%2F, %5C)';
  if (key.startsWith('/')) return "must not start with '/'";
  if (key.endsWith('/')) return "must not end with '/'";
  for (const segment of key.split('/')) {
    if (segment.length === 0) return "must not contain empty segments ('//')";
    if (DOT_SEGMENT.test(segment)) return "must not contain '.' or '..' segments";
  }
  return undefined;
}

/** Throws an {@link InvalidKeyError} unless `key` is valid (see {@link keyProblem}). */
export function validateKey(key: unknown, context: ValidationContext = {}): asserts key is string {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new InvalidKeyError(key, problem, context);
}

/**
 * Validates a `list` prefix: `''` or the start of some valid key (so it may end with `/`, but
 * not start with one, and holds no control characters, backslashes or encoded separators).
 */
export function validatePrefix(prefix: unknown, context: ValidationContext = {}): asserts prefix is string {
  if (typeof prefix !== 'string') throw invalidInput('prefix', 'must be a string', context);
  if (prefix.length === 0) return;
  // A prefix is valid when some key starts with it: complete it into one and check that.
  const completed = prefix.endsWith('/') ? `${prefix}x` : prefix;
  const problem = keyProblem(completed);
  if (problem !== undefined) throw invalidInput('prefix', problem, context);
}

/** Validates {@link PutOptions} `contentType` and `metadata`. */
export function validatePutOptions(options: PutOptions | undefined, context: ValidationContext = {}): void {
  if (options === undefined) return;
  const { contentType, metadata } = options;
  if (contentType !== undefined) {
    if (typeof contentType !== 'string' || contentType.length === 0 || contentType.length > 256) {
      throw invalidInput('contentType', 'must be a non-empty string of at most 256 characters', context);
    }
    if (!METADATA_VALUE.test(contentType)) {
      throw invalidInput('contentType', 'must be printable ASCII (no CR, LF or control characters)', context);
    }
  }
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null) {
      throw invalidInput('metadata', 'must be an object of strings', context);
    }
    let bytes = 0;
    for (const [name, value] of Object.entries(metadata)) {
      if (!METADATA_NAME.test(name)) {
        throw invalidInput(
          'metadata',
          `name ${JSON.stringify(name)} must be lowercase letters, digits, '-' and '_'`,
          context,
        );
      }
      if (typeof value !== 'string' || !METADATA_VALUE.test(value)) {
        throw invalidInput('metadata', `value of ${JSON.stringify(name)} must be printable ASCII`, context);
      }
      bytes += name.length + value.length;
    }
    if (bytes > MAX_METADATA_BYTES) {
      throw invalidInput('metadata', `must be at most ${MAX_METADATA_BYTES} bytes in total`, context);
    }
  }
}

/** Validates {@link ListOptions} `limit` and returns it (1000 when absent). */
export function validateListLimit(options: ListOptions | undefined, context: ValidationContext = {}): number {
  const limit = options?.limit ?? MAX_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw invalidInput('limit', `must be an integer from 1 to ${MAX_LIST_LIMIT}`, context);
  }
  if (options?.cursor !== undefined && (typeof options.cursor !== 'string' || options.cursor.length === 0)) {
    throw invalidInput('cursor', 'must be a cursor returned by list', context);
  }
  return limit;
}

/** Validates {@link SignedUrlOptions}. */
export function validateSignedUrlOptions(
  options: SignedUrlOptions | undefined,
  context: ValidationContext = {},
): asserts options is SignedUrlOptions {
  if (options?.method !== 'GET' && options?.method !== 'PUT') {
    throw invalidInput('method', "must be 'GET' or 'PUT'", context);
  }
  // one week is SigV4's longest validity
  if (!Number.isInteger(options.expiresIn) || options.expiresIn < 1 || options.expiresIn > 604_800) {
    throw invalidInput('expiresIn', 'must be an integer number of seconds from 1 to 604800', context);
  }
  if (options.contentType !== undefined) validatePutOptions({ contentType: options.contentType }, context);
}

/**
 * A message-scoped `invalid` {@link ProviderError} for a request field other than the key:
 * bad input, refused before any I/O.
 */
export function invalidInput(field: string, reason: string, context: ValidationContext = {}): ProviderError {
  return new ProviderError({
    kind: 'invalid',
    scope: 'message',
    retryable: false,
    provider: context.provider ?? 'storage',
    operation: context.operation ?? 'validate',
    field,
    message: `invalid storage ${field}: ${reason}; the request was not sent`,
  });
}

/**
 * Orders keys as S3 does: by their UTF-8 bytes. (JavaScript's `<` compares UTF-16 code units,
 * which puts U+E000–U+FFFF after astral characters; UTF-8 puts them before.)
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

function isWellFormed(text: string): boolean {
  // String.prototype.isWellFormed is in Node 20; the regex is the fallback for older lib typings.
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof native === 'function') return native.call(text);
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}
