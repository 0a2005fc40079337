// prom-client's Summary on the engine: quantiles from a t-digest window in Rust that
// every thread's observations reach (crates/slotmetrics_engine/src/summary.rs).

import { summarySchema } from '../metrics/schema';
import { DEFAULT_PERCENTILES, type Summary as EngineSummary } from '../metrics/summary';
import type { MetricConfiguration } from './metric';
import type { LabelValues } from './samples';
import { ObservedMetric, type ObservedChild } from './observed';

export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T, Summary<T>> {
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
  pruneAgedBuckets?: boolean;
  /** Accepted and ignored: the engine's digests compress themselves as they fill. */
  compressCount?: number;
}

export class Summary<T extends string = string> extends ObservedMetric<T, EngineSummary> {
  readonly type = 'summary';
  readonly percentiles: readonly number[];
  readonly maxAgeSeconds?: number;
  readonly ageBuckets?: number;
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
  export type Internal<T extends string> = ObservedChild<T>;
}
