import { CircuitBreaker } from './circuit-breaker.js';
import { type Disposer, Emitter, type Listener } from './event.js';
import type { Settings } from './settings.js';
import type { BreakerSnapshot } from './snapshot.js';

/** A registry created a breaker. */
export interface BreakerCreatedEvent {
  /** The new breaker's name. */
  readonly name: string;
  /** The new breaker, to subscribe to. */
  readonly breaker: CircuitBreaker;
}

/**
 * One breaker per name, created on first use: `get('email:ses', presets.email)` creates the
 * breaker once and returns the same one after, so every part of an app that talks to SES shares
 * its health. Observers (metrics, a dashboard) follow breakers created later with `onCreate`.
 *
 * @example
 * const registry = new BreakerRegistry();
 * registry.onCreate(({ breaker }) => breaker.onStateChange(({ name, to }) => log.info({ name, to })));
 * const ses = registry.get('email:ses', presets.email);
 */
export class BreakerRegistry {
  readonly #defaults: Settings;
  readonly #breakers = new Map<string, CircuitBreaker>();
  #created: Emitter<BreakerCreatedEvent> | undefined;

  /**
   * @param defaults settings for every breaker, under each `get`'s own settings
   * @default defaults `{}`
   */
  constructor(defaults: Settings = {}) {
    if (typeof defaults !== 'object' || defaults === null) {
      throw new TypeError('BreakerRegistry: defaults must be breaker settings');
    }
    this.#defaults = { ...defaults };
  }

  /**
   * The breaker named `name`, created with `{ ...defaults, ...settings, name }` the first time. Later
   * calls return the same breaker and ignore `settings`.
   */
  get(name: string, settings?: Settings): CircuitBreaker {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('BreakerRegistry.get: name must be a non-empty string');
    }
    let breaker = this.#breakers.get(name);
    if (breaker === undefined) {
      breaker = new CircuitBreaker({ ...this.#defaults, ...settings, name });
      this.#breakers.set(name, breaker);
      this.#created?.emit({ name, breaker });
    }
    return breaker;
  }

  /** True when a breaker of that name exists. */
  has(name: string): boolean {
    return this.#breakers.has(name);
  }

  /** Every breaker, in creation order. */
  all(): CircuitBreaker[] {
    return [...this.#breakers.values()];
  }

  /** Every breaker's {@link CircuitBreaker.snapshot}, by name: plain JSON for a dashboard or a store. */
  snapshot(): Record<string, BreakerSnapshot> {
    return Object.fromEntries([...this.#breakers].map(([name, breaker]) => [name, breaker.snapshot()]));
  }

  /** Listens to breakers created from now on (`{ name, breaker }`); returns the disposer. */
  onCreate(listener: Listener<BreakerCreatedEvent>): Disposer {
    this.#created ??= new Emitter();
    return this.#created.on(listener);
  }
}
