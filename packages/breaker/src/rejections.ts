const openStateBrand: unique symbol = Symbol.for('tracks.OpenStateError');
const tooManyRequestsBrand: unique symbol = Symbol.for('tracks.TooManyRequestsError');
const rejectionBrand: unique symbol = Symbol.for('tracks.BreakerRejection');

/** Options of {@link OpenStateError}. */
export interface OpenStateErrorOptions {
  /** Name of the breaker that rejected the call. */
  breaker: string;
  /** Milliseconds until the breaker will admit a probe. */
  retryAfterMs: number;
}

/** Options of {@link TooManyRequestsError}. */
export interface TooManyRequestsErrorOptions {
  /** Name of the breaker that rejected the call. */
  breaker: string;
  /**
   * Milliseconds until a probe slot frees at the latest, when the breaker knows it.
   * @default undefined (unknown: probes without a `probeTimeout`)
   */
  retryAfterMs?: number | undefined;
}

/**
 * Thrown (as a rejection) by a breaker that is open: the call was not made. `retryAfterMs` says
 * when the breaker will let a probe through; `breaker` names it.
 *
 * Message: `circuit breaker is open`, as gobreaker's `ErrOpenState`.
 */
export class OpenStateError extends Error {
  /** Name of the breaker that rejected the call. */
  readonly breaker: string;
  /** Milliseconds until the breaker will admit a probe (for an isolated breaker: its open `timeout`). */
  readonly retryAfterMs: number;

  constructor(options: OpenStateErrorOptions) {
    super('circuit breaker is open');
    this.breaker = options.breaker;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Thrown (as a rejection) by a half-open breaker whose `maxRequests` probes are all in flight: the
 * call was not made. `retryAfterMs`, when present, is when the oldest probe's slot frees at the
 * latest (its `probeTimeout`).
 *
 * Message: `too many requests`, as gobreaker's `ErrTooManyRequests`.
 */
export class TooManyRequestsError extends Error {
  /** Name of the breaker that rejected the call. */
  readonly breaker: string;
  /** Milliseconds until a probe slot frees at the latest, when known. */
  declare readonly retryAfterMs?: number;

  constructor(options: TooManyRequestsErrorOptions) {
    super('too many requests');
    this.breaker = options.breaker;
    if (options.retryAfterMs !== undefined) {
      (this as { retryAfterMs?: number }).retryAfterMs = options.retryAfterMs;
    }
  }
}

// Name, message and brands live on the prototypes, shared by every instance.
for (const [type, name, message, brand] of [
  [OpenStateError, 'OpenStateError', 'circuit breaker is open', openStateBrand],
  [TooManyRequestsError, 'TooManyRequestsError', 'too many requests', tooManyRequestsBrand],
] as const) {
  const proto = type.prototype;
  Object.defineProperty(proto, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(proto, 'message', { value: message, writable: true, configurable: true });
  Object.defineProperty(proto, brand, { value: true });
  Object.defineProperty(proto, rejectionBrand, { value: true });
  Object.defineProperty(proto, Symbol.toStringTag, { value: 'Error', configurable: true });
  // Rejections made by a breaker carry no captured stack (see `openStateError` below); this
  // getter gives them a one-line one that says what and where. Errors built with `new` have
  // their own `stack`, which shadows it.
  Object.defineProperty(proto, 'stack', {
    configurable: true,
    get(this: OpenStateError | TooManyRequestsError): string {
      const retry = this.retryAfterMs === undefined ? '' : `, retry after ${this.retryAfterMs} ms`;
      return `${this.name}: ${this.message} (breaker ${JSON.stringify(this.breaker)}${retry})`;
    },
    set(this: object, value: unknown): void {
      Object.defineProperty(this, 'stack', { value, writable: true, configurable: true });
    },
  });
}

// Why rejections are built this way: an open breaker may reject many thousands of calls a
// second, and `new Error()` captures a stack each time (about 3x the cost of the rejection
// itself, measured). Sharing one frozen error per open period was the other option, but a shared
// object leaks whatever one caller attaches to it (`err.requestId = …`) into every other caller's
// error, or — frozen — makes that assignment throw in strict code. So each rejection is a fresh
// object with its own `breaker` and `retryAfterMs` (plain data, right at the moment of rejection,
// serializable), made by a plain constructor function that shares the class's prototype: it is
// `instanceof OpenStateError` and `instanceof Error`, carries the brand, but has no captured stack
// frames (none of them would be useful: the call was never made).
interface FastOpenState {
  new (breaker: string, retryAfterMs: number): OpenStateError;
}
interface FastTooManyRequests {
  new (breaker: string, retryAfterMs: number | undefined): TooManyRequestsError;
}

const FastOpenState = function (
  this: { breaker: string; retryAfterMs: number },
  breaker: string,
  retryAfterMs: number,
) {
  this.breaker = breaker;
  this.retryAfterMs = retryAfterMs;
} as unknown as FastOpenState;
FastOpenState.prototype = OpenStateError.prototype;

const FastTooManyRequests = function (
  this: { breaker: string; retryAfterMs?: number },
  breaker: string,
  retryAfterMs: number | undefined,
) {
  this.breaker = breaker;
  if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
} as unknown as FastTooManyRequests;
FastTooManyRequests.prototype = TooManyRequestsError.prototype;

/** @internal The rejection an open breaker throws: no stack capture. */
export function openStateError(breaker: string, retryAfterMs: number): OpenStateError {
  return new FastOpenState(breaker, retryAfterMs);
}

/** @internal The rejection a saturated half-open breaker throws: no stack capture. */
export function tooManyRequestsError(
  breaker: string,
  retryAfterMs: number | undefined,
): TooManyRequestsError {
  return new FastTooManyRequests(breaker, retryAfterMs);
}

/** True for an {@link OpenStateError} from any copy of this package. */
export function isOpenStateError(error: unknown): error is OpenStateError {
  return (
    typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[openStateBrand] === true
  );
}

/** True for a {@link TooManyRequestsError} from any copy of this package. */
export function isTooManyRequestsError(error: unknown): error is TooManyRequestsError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[tooManyRequestsBrand] === true
  );
}

/**
 * True for either rejection of a breaker ({@link OpenStateError}, {@link TooManyRequestsError}),
 * from any copy of this package: the call was not made, and trying another provider is safe.
 */
export function isBreakerRejection(error: unknown): error is OpenStateError | TooManyRequestsError {
  return (
    typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[rejectionBrand] === true
  );
}
