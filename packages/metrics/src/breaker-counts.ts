import type { Disposer } from '@tracks/breaker';
import { DurationCounts, recordDuration } from './duration-histogram.js';
import type {
  BreakerState,
  CallErrorEvent,
  CallEvent,
  ObservableBreaker,
  RejectEvent,
  StateChangeEvent,
} from './observable.js';

// The hot path of @tracks/metrics: what one breaker event does. Everything here is plain
// arithmetic on an object found once, when the breaker was observed; prom-client sees the
// numbers only when the registry is scraped.

/** The three states in the order of {@link BreakerCounts.transitions}. */
export const STATES: readonly BreakerState[] = ['closed', 'half-open', 'open'];

/** Index of a state in {@link STATES}, or -1 for anything else. */
export function stateIndex(state: unknown): number {
  switch (state) {
    case 'closed':
      return 0;
    case 'half-open':
      return 1;
    case 'open':
      return 2;
    default:
      return -1;
  }
}

/** Plain numbers for one service, written on the hot path and folded into prom-client at scrape. */
export class BreakerCounts {
  success = 0;
  failure = 0;
  excluded = 0;
  rejectedOpen = 0;
  rejectedTooMany = 0;
  /** `transitions[from * 3 + to]`, indexes as in {@link STATES}. */
  readonly transitions: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  readonly successDurations: DurationCounts | undefined;
  readonly failureDurations: DurationCounts | undefined;
  readonly excludedDurations: DurationCounts | undefined;
  readonly stateLabels: Readonly<Record<string, string>>;

  constructor(
    readonly service: string,
    bucketCount: number | undefined,
  ) {
    this.stateLabels = { service };
    if (bucketCount === undefined) {
      this.successDurations = this.failureDurations = this.excludedDurations = undefined;
    } else {
      this.successDurations = new DurationCounts(bucketCount, { service, result: 'success' });
      this.failureDurations = new DurationCounts(bucketCount, { service, result: 'failure' });
      this.excludedDurations = new DurationCounts(bucketCount, { service, result: 'excluded' });
    }
  }
}

/**
 * Subscribes the counting listeners of one breaker to `c` and returns their disposers. The
 * listener variants are chosen here, once, so that a call with durations off does not test for
 * them.
 */
export function countCalls(breaker: ObservableBreaker, c: BreakerCounts, boundsMs: Float64Array): Disposer[] {
  const successDurations = c.successDurations;
  const failureDurations = c.failureDurations;
  const excludedDurations = c.excludedDurations;
  // `ms >= 0` is false for NaN and undefined: a breaker that reports no duration adds nothing
  const onSuccess =
    successDurations === undefined
      ? () => {
          c.success++;
        }
      : (event: CallEvent) => {
          c.success++;
          const ms = event.durationMs;
          if (ms! >= 0) recordDuration(successDurations, boundsMs, ms!);
        };
  const onFailure =
    failureDurations === undefined
      ? () => {
          c.failure++;
        }
      : (event: CallErrorEvent) => {
          c.failure++;
          const ms = event.durationMs;
          if (ms! >= 0) recordDuration(failureDurations, boundsMs, ms!);
        };
  const onExclusion =
    excludedDurations === undefined
      ? () => {
          c.excluded++;
        }
      : (event: CallErrorEvent) => {
          c.excluded++;
          const ms = event.durationMs;
          if (ms! >= 0) recordDuration(excludedDurations, boundsMs, ms!);
        };
  const onReject = (event: RejectEvent): void => {
    if (event.reason === 'open') c.rejectedOpen++;
    else if (event.reason === 'too-many-requests') c.rejectedTooMany++;
  };
  const onStateChange = (event: StateChangeEvent): void => {
    const from = stateIndex(event.from);
    const to = stateIndex(event.to);
    if (from >= 0 && to >= 0) c.transitions[from * 3 + to]!++;
  };
  return [
    breaker.onSuccess(onSuccess),
    breaker.onFailure(onFailure),
    breaker.onExclusion(onExclusion),
    breaker.onReject(onReject),
    breaker.onStateChange(onStateChange),
  ];
}
