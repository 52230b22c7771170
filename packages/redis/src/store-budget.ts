const brand: unique symbol = Symbol.for('tracks.StoreTimeoutError');

/**
 * Redis did not answer within the breaker's `storeTimeout`: the call went on with the breaker's
 * local state. Reported through `onStoreError`, never thrown to the caller of `execute`.
 */
export class StoreTimeoutError extends Error {
  /** Name of the breaker whose state Redis did not serve in time. */
  readonly breaker: string;
  /** The budget that ran out, in ms. */
  readonly timeoutMs: number;

  constructor(breaker: string, timeoutMs: number) {
    super(
      `Redis did not answer within ${timeoutMs} ms for breaker ${JSON.stringify(breaker)}; using its local state until Redis answers again`,
    );
    this.name = 'StoreTimeoutError';
    this.breaker = breaker;
    this.timeoutMs = timeoutMs;
  }
}

Object.defineProperty(StoreTimeoutError.prototype, brand, { value: true });

/** True for a {@link StoreTimeoutError} from any copy of this package. */
export function isStoreTimeoutError(error: unknown): error is StoreTimeoutError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[brand] === true;
}

/**
 * @internal `promise`, or a {@link StoreTimeoutError} after `ms`. The late answer is swallowed:
 * a command that outlives its budget must not become an unhandled rejection.
 */
export function withBudget<T>(promise: Promise<T>, ms: number, breaker: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeoutError(breaker, ms)), ms);
    // a pending budget never keeps a process alive; the command's socket decides that
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * @internal Resolves when `promise` settles or after `ms`, whichever comes first; never rejects.
 * What is left of a call's budget after its admission bounds how long it waits for its outcome
 * to be recorded: the recording itself goes on, under its own budget.
 */
export function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}
