import { Histogram } from 'prom-client';
import type { MetricsRegistry } from './metrics.js';

/**
 * Default bucket upper bounds in seconds for `circuit_breaker_request_duration_seconds`:
 * prom-client's defaults plus 30 s, the longest provider timeout tracks ships with.
 */
export const defaultBuckets: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);

/**
 * Plain-number histogram state for one label set. `buckets[i]` counts observations in
 * `(bound[i-1], bound[i]]` (not cumulative); the last slot is the +Inf overflow.
 */
export class DurationCounts {
  readonly buckets: Float64Array;
  sumMs = 0;
  count = 0;

  /**
   * @param labels the series' labels; one object for its lifetime, so that prom-client's label
   *   formatting cache hits on every scrape
   */
  constructor(
    bucketCount: number,
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.buckets = new Float64Array(bucketCount + 1);
  }
}

/** Upper bounds in ms, so recording needs no division. */
export function boundsInMs(bucketsSeconds: readonly number[]): Float64Array {
  return Float64Array.from(bucketsSeconds, (s) => s * 1000);
}

/** Adds one observation; a linear scan beats a binary search over a dozen bounds. */
export function recordDuration(series: DurationCounts, boundsMs: Float64Array, durationMs: number): void {
  let i = 0;
  const n = boundsMs.length;
  while (i < n && durationMs > boundsMs[i]!) i++;
  series.buckets[i]!++;
  series.sumMs += durationMs;
  series.count++;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: Readonly<Record<string, string>>;
  value: number;
  metricName: string;
}

interface ExportedMetric {
  name: string;
  help: string;
  type: 'histogram';
  values: ExportedValue[];
  aggregator: 'sum';
}

/**
 * A prom-client `Histogram` whose values come from plain arrays filled on the hot path.
 *
 * prom-client's own `observe()` hashes its labels on every call (about 1 µs); here a call costs a
 * bucket scan and three additions, and the label sets are turned into exposition values only when
 * the registry is scraped. `observe()` on this instance is not used by tracks.
 */
export class FoldedHistogram extends Histogram<string> {
  readonly #name: string;
  readonly #help: string;
  readonly #series: () => Iterable<DurationCounts>;
  readonly #bounds: readonly number[];

  constructor(
    config: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[] },
    registry: MetricsRegistry,
    series: () => Iterable<DurationCounts>,
  ) {
    super({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      buckets: [...config.buckets],
      registers: [registry],
    });
    this.#name = config.name;
    this.#help = config.help;
    this.#bounds = config.buckets;
    this.#series = series;
  }

  // The registry renders text from getForPromString() when it exists and JSON from get(); the
  // inherited get() calls this one and merges sharedLabels into labels, so both agree.
  async getForPromString(): Promise<ExportedMetric> {
    const name = this.#name;
    const bucketName = `${name}_bucket`;
    const values: ExportedValue[] = [];
    for (const counts of this.#series()) {
      const labels = counts.labels;
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += counts.buckets[i]!;
        values.push({
          labels: { le: this.#bounds[i]! },
          sharedLabels: labels,
          value: cumulative,
          metricName: bucketName,
        });
      }
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: labels, value: counts.count, metricName: bucketName },
        { labels: {}, sharedLabels: labels, value: counts.sumMs / 1000, metricName: `${name}_sum` },
        { labels: {}, sharedLabels: labels, value: counts.count, metricName: `${name}_count` },
      );
    }
    return { name, help: this.#help, type: 'histogram', values, aggregator: 'sum' };
  }
}
