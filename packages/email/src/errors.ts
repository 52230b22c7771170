import { ProviderError } from '@tracks/breaker';

const invalidMessageBrand: unique symbol = Symbol.for('tracks.InvalidMessageError');

/** Options of {@link InvalidMessageError}. */
export interface InvalidMessageErrorOptions {
  /** The field at fault, as a path into the message: `to[2]`, `headers.X-Campaign`, `attachments[0].filename`. */
  field: string;
  /** What is wrong with it, for people. */
  reason: string;
  /**
   * The provider whose limits were applied.
   * @default 'email'
   */
  provider?: string;
}

/**
 * A message that was refused before anything was sent: a `ProviderError` of kind `invalid`,
 * scope `message`, never retried, never counted by a breaker and never failed over. `field`
 * names the part of the message at fault. The offending value is not repeated in the message
 * (it may be an address, or an injection attempt).
 */
export class InvalidMessageError extends ProviderError {
  /** The field at fault. */
  declare readonly field: string;

  constructor(options: InvalidMessageErrorOptions) {
    const provider = options.provider ?? 'email';
    super({
      kind: 'invalid',
      scope: 'message',
      retryable: false,
      provider,
      operation: 'send',
      field: options.field,
      message: `invalid email message: ${options.field} ${options.reason}; not sent`,
    });
    this.name = 'InvalidMessageError';
    Object.defineProperty(this, invalidMessageBrand, { value: true });
  }
}

/** True for an {@link InvalidMessageError} from any copy of this package. */
export function isInvalidMessageError(error: unknown): error is InvalidMessageError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[invalidMessageBrand] === true
  );
}
