/** Removes the listener it was returned for. Calling it twice is harmless. */
export type Disposer = () => void;

/** A function that receives one event object. */
export type Listener<E> = (event: E) => void;

/**
 * A minimal typed event source: `on(listener)` returns a disposer, `emit(event)` calls every
 * listener in order. It allocates nothing until the first listener arrives, so a source that
 * nobody watches costs one `undefined` check per emit; callers build the event object only
 * after checking {@link Emitter.active}.
 *
 * A listener that throws is isolated: the error is swallowed so that observing a breaker can
 * never break the call it observes.
 */
export class Emitter<E> {
  #listeners: Listener<E>[] | undefined;

  /** True when at least one listener is attached. */
  get active(): boolean {
    return this.#listeners !== undefined;
  }

  /** Attaches a listener; returns its disposer. */
  on(listener: Listener<E>): Disposer {
    if (typeof listener !== 'function') {
      throw new TypeError('listener must be a function');
    }
    // copy-on-write: an emit in progress keeps iterating the array it started with
    this.#listeners = this.#listeners === undefined ? [listener] : [...this.#listeners, listener];
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      const rest = this.#listeners?.filter((l) => l !== listener) ?? [];
      this.#listeners = rest.length === 0 ? undefined : rest;
    };
  }

  /** Calls every listener with `event`; a throwing listener does not stop the others. */
  emit(event: E): void {
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // observers must never change the outcome of the call they observe
      }
    }
  }

  /** Number of attached listeners (for leak checks). */
  get size(): number {
    return this.#listeners?.length ?? 0;
  }
}
