// Signal composition for the per-call path. `AbortSignal.any` is not used on purpose: on Node 20
// it keeps every composed signal reachable from the source signal for as long as that source
// lives, so a long-lived caller signal (a server's shutdown signal) grows by one signal per call
// (measured: +158 MiB after 2.4 M calls). These helpers hook one listener and unhook it when the
// call settles, leaving nothing behind.

import type { Disposer } from './event.js';

/** A child of a caller's signal: aborts with it, or on its own; `unlink` drops the hook. */
export interface LinkedSignal {
  /** The child signal to hand to the callee. */
  readonly signal: AbortSignal;
  /** Aborts the child (not the parent) with `reason`. */
  abort(reason: unknown): void;
  /** Removes the listener from the parent. Call it when the call settles; calling it twice is harmless. */
  unlink(): void;
}

const noop: Disposer = () => {};

/**
 * Calls `listener(signal.reason)` once when `signal` aborts — at once if it already has — and
 * returns a disposer that removes the listener. Without a signal it does nothing.
 */
export function onAbort(signal: AbortSignal | undefined, listener: (reason: unknown) => void): Disposer {
  if (signal === undefined) return noop;
  if (signal.aborted) {
    listener(signal.reason);
    return noop;
  }
  const handler = (): void => listener(signal.reason);
  signal.addEventListener('abort', handler, { once: true });
  return () => signal.removeEventListener('abort', handler);
}

/**
 * A new signal that aborts when `parent` aborts (with the parent's reason) or when its own
 * `abort(reason)` is called. `unlink()` removes the hook on `parent`, so the child and whatever
 * it references can be collected while the parent lives on.
 */
export function linkSignal(parent: AbortSignal | undefined): LinkedSignal {
  const controller = new AbortController();
  const unlink = onAbort(parent, (reason) => controller.abort(reason));
  return {
    signal: controller.signal,
    abort: (reason) => {
      unlink();
      controller.abort(reason);
    },
    unlink,
  };
}

let never: AbortSignal | undefined;

/** A signal that never aborts, shared, for callees when the caller gave none. */
export function neverAbortedSignal(): AbortSignal {
  never ??= new AbortController().signal;
  return never;
}
