import { onAbort } from './abort.js';
import type { Disposer } from './event.js';

const bulkheadRejectionBrand: unique symbol = Symbol.for('tracks.BulkheadRejectedError');
const COMPACT_AT = 1024;

/** Options of {@link Bulkhead}. */
export interface BulkheadOptions {
  /** How many calls may run at once; an integer >= 1. */
  limit: number;
  /**
   * How many more calls may wait for a free slot; beyond that, calls are rejected at once.
   * @default 0
   */
  queue?: number;
}

/**
 * A bulkhead was full: `limit` calls were running and `queue` more waiting. The call was not
 * started. It is not the provider's fault, so a policy never lets it reach a breaker; it may be
 * retried after a backoff.
 */
export class BulkheadRejectedError extends Error {
  /** Calls that may run at once. */
  readonly limit: number;
  /** Calls that may wait. */
  readonly queue: number;

  constructor(limit: number, queue: number) {
    super(`bulkhead is full: ${limit} calls running and ${queue} queued; this call was not started`);
    this.name = 'BulkheadRejectedError';
    this.limit = limit;
    this.queue = queue;
    Object.defineProperty(this, bulkheadRejectionBrand, { value: true });
  }
}

/** True for a {@link BulkheadRejectedError} from any copy of this package. */
export function isBulkheadRejection(error: unknown): error is BulkheadRejectedError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[bulkheadRejectionBrand] === true
  );
}

/** A place in a {@link Bulkhead}'s queue, from {@link Bulkhead.enqueue}. */
export interface BulkheadWaiter {
  /** Resolves when the waiter holds a slot; rejects with the signal's reason if it aborts first. */
  readonly ready: Promise<void>;
  /** Leaves the queue if still waiting, or frees the slot if it was granted. Idempotent. */
  release(): void;
}

const WAITING = 0;
const GRANTED = 1;
const DONE = 2;

class Waiter implements BulkheadWaiter {
  readonly ready: Promise<void>;
  state: number = WAITING;
  grant!: () => void;
  reject!: (reason: unknown) => void;
  unhook: Disposer | undefined;
  #leave: (waiter: Waiter) => void;

  constructor(leave: (waiter: Waiter) => void) {
    this.#leave = leave;
    this.ready = new Promise<void>((resolve, reject) => {
      this.grant = resolve;
      this.reject = reject;
    });
  }

  release(): void {
    this.#leave(this);
  }
}

/**
 * Limits how many calls run at once (`limit`) and how many wait (`queue`), so one slow provider
 * cannot hold every connection or request of the app. Calls beyond both are rejected at once with
 * a {@link BulkheadRejectedError}. A waiting call leaves the queue when its signal aborts.
 *
 * @example
 * const bulkhead = new Bulkhead({ limit: 10, queue: 100 });
 * await bulkhead.execute(() => upload(file), { signal });
 */
export class Bulkhead {
  /** Calls that may run at once. */
  readonly limit: number;
  /** Calls that may wait for a slot. */
  readonly queue: number;
  #running = 0;
  #waiting: (Waiter | undefined)[] = [];
  #head = 0;
  #queued = 0;

  constructor(options: BulkheadOptions) {
    const limit = options?.limit;
    const queue = options?.queue ?? 0;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
      throw new TypeError(`bulkhead: limit must be an integer >= 1, got ${String(limit)}`);
    }
    if (
      typeof queue !== 'number' ||
      !(Number.isInteger(queue) || queue === Number.POSITIVE_INFINITY) ||
      queue < 0
    ) {
      throw new TypeError(`bulkhead: queue must be an integer >= 0, got ${String(queue)}`);
    }
    this.limit = limit;
    this.queue = queue;
  }

  /** Calls running now. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Runs `fn` when a slot is free: at once, after waiting in the queue, or never (rejects with
   * {@link BulkheadRejectedError} when the queue is full too; with the signal's reason if it
   * aborts while waiting).
   */
  execute<T>(fn: () => PromiseLike<T> | T, options: { signal?: AbortSignal } = {}): Promise<T> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.tryAcquire()) return this.#run(fn);
    const waiter = this.enqueue(options.signal);
    if (waiter === undefined) return Promise.reject(new BulkheadRejectedError(this.limit, this.queue));
    return waiter.ready.then(() => this.#run(fn));
  }

  /** Takes a slot if one is free; the caller must {@link Bulkhead.release} it. Lower-level API for composing layers. */
  tryAcquire(): boolean {
    if (this.#running >= this.limit) return false;
    this.#running++;
    return true;
  }

  /** Frees a slot taken with {@link Bulkhead.tryAcquire}, handing it to the next waiter. */
  release(): void {
    while (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head];
      this.#waiting[this.#head++] = undefined;
      if (next === undefined || next.state !== WAITING) continue;
      this.#queued--;
      this.#compact();
      // the slot passes to the waiter directly, so #running does not change
      next.state = GRANTED;
      next.unhook?.();
      next.grant();
      return;
    }
    this.#running--;
    this.#compact();
  }

  /**
   * Joins the queue, or returns `undefined` when it is full. The waiter's `ready` resolves with a
   * slot held; call its `release()` when done (or to give up its place). Lower-level API.
   */
  enqueue(signal?: AbortSignal): BulkheadWaiter | undefined {
    if (this.#queued >= this.queue) return undefined;
    const waiter = new Waiter(this.#leave);
    this.#waiting.push(waiter);
    this.#queued++;
    if (signal !== undefined) {
      waiter.unhook = onAbort(signal, (reason) => {
        if (waiter.state !== WAITING) return;
        this.#leave(waiter);
        waiter.reject(reason);
      });
    }
    return waiter;
  }

  #leave = (waiter: Waiter): void => {
    if (waiter.state === WAITING) {
      // left in the array as a hole: release() skips it, #compact() reclaims it
      waiter.state = DONE;
      this.#queued--;
      waiter.unhook?.();
    } else if (waiter.state === GRANTED) {
      waiter.state = DONE;
      this.release();
    }
  };

  #run<T>(fn: () => PromiseLike<T> | T): Promise<T> {
    let result: PromiseLike<T> | T;
    try {
      result = fn();
    } catch (error) {
      this.release();
      return Promise.reject(error);
    }
    return Promise.resolve(result).then(
      (value) => {
        this.release();
        return value;
      },
      (error: unknown) => {
        this.release();
        throw error;
      },
    );
  }

  #compact(): void {
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
  }
}
