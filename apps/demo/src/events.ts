import type { State } from '@tracks/breaker';

/** A breaker changed state. */
export interface StateEvent {
  readonly type: 'state';
  readonly name: string;
  readonly from: State;
  readonly to: State;
  readonly at: number;
}

/** A call went through (or was turned away by) a breaker. */
export interface CallEvent {
  readonly type: 'call';
  readonly name: string;
  readonly outcome: 'success' | 'failure' | 'excluded' | 'rejected';
  readonly durationMs?: number;
  readonly at: number;
}

/** What `GET /api/events` streams. */
export type DemoEvent = StateEvent | CallEvent;

/** A fan-out of demo events to the open server-sent-event streams. */
export class EventHub {
  readonly #listeners = new Set<(event: DemoEvent) => void>();

  /** Sends an event to every subscriber; a failing subscriber does not stop the others. */
  publish(event: DemoEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // a stream that broke mid-write is closed by its own 'close' handler
      }
    }
  }

  /** Adds a subscriber; returns its disposer. */
  subscribe(listener: (event: DemoEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Number of subscribers (for leak checks). */
  get size(): number {
    return this.#listeners.size;
  }
}
