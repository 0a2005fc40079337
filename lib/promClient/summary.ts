// prom-client's Summary on the engine: quantiles from a t-digest window in Rust that
// every thread's observations reach (crates/slotmetrics_engine/src/summary.rs).

import { summarySchema } from '../metrics/schema';
import { DEFAULT_PERCENTILES, type Summary as EngineSummary } from '../metrics/summary';
import type { MetricConfiguration } from './metric';
import type { LabelValues } from './samples';
import { ObservedMetric, type ObservedChild } from './observed';

/** What a `Summary` is made with: prom-client's options. */
export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T, Summary<T>> {
  /** The quantiles, each from 0 to 1 (default `[0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999]`). */
  percentiles?: number[];
  /** With `ageBuckets`: quantiles over the last `maxAgeSeconds` only. */
  maxAgeSeconds?: number;
  /** With `maxAgeSeconds`: how many periods the window turns by. */
  ageBuckets?: number;
  /** Removes a series with no observation in its window until it observes again. */
  pruneAgedBuckets?: boolean;
  /** Accepted and ignored: the engine's digests compress themselves as they fill. */
  compressCount?: number;
}

/**
 * prom-client's `Summary`: count, sum and quantiles, over every thread's observations.
 *
 * @example
 * ```js
 * const sizes = new Summary({ name: 'payload_bytes', help: 'Payload sizes', percentiles: [0.5, 0.99] });
 * sizes.observe(512);
 * ```
 */
export class Summary<T extends string = string> extends ObservedMetric<T, EngineSummary> {
  /** Always `'summary'`. */
  readonly type = 'summary';
  /** The quantiles it exposes. */
  readonly percentiles: readonly number[];
  /** The window's length in seconds, if it has one. */
  readonly maxAgeSeconds?: number;
  /** The periods the window turns by, if it has one. */
  readonly ageBuckets?: number;
  /** Whether a series with an empty window is removed. */
  readonly pruneAgedBuckets: boolean;

  constructor(configuration: SummaryConfiguration<T>) {
    const { percentiles = [...DEFAULT_PERCENTILES], maxAgeSeconds, ageBuckets, pruneAgedBuckets = false } = configuration ?? {};
    super(configuration, 'summary', (name) => {
      const schema = summarySchema(name).percentiles(percentiles);
      // As in prom-client, the window needs both options; either alone is no window.
      return maxAgeSeconds && ageBuckets ? schema.slidingWindow(maxAgeSeconds, ageBuckets, { pruneEmpty: pruneAgedBuckets }) : schema;
    });
    this.percentiles = [...percentiles];
    this.maxAgeSeconds = maxAgeSeconds;
    this.ageBuckets = ageBuckets;
    this.pruneAgedBuckets = pruneAgedBuckets;
  }

  /** `observe(value)` or `observe(labels, value)`. */
  override observe(labels: LabelValues<T> | number, value?: number): void {
    // prom-client checks a string given as the value as if it were labels (its
    // indices are label names), so that is the error it throws first.
    if (typeof labels === 'string') this.record(labels as LabelValues<T>, labels);
    else super.observe(labels, value);
  }
}

export namespace Summary {
  /** The series `labels(...)` gives: `observe(v)`, `startTimer()`. */
  export type Internal<T extends string> = ObservedChild<T>;
}
