// prom-client's Histogram on the engine.

import { histogramSchema } from '../schema';
import { DEFAULT_BUCKETS, type Histogram as EngineHistogram } from '../histogram';
import type { LabelValues, MetricConfiguration } from './metric';
import { ObservedMetric, type ObservedChild } from './observed';
import { validateLabel } from './validation';

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T, Histogram<T>> {
  buckets?: number[];
}

export class Histogram<T extends string = string> extends ObservedMetric<T, EngineHistogram> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(configuration: HistogramConfiguration<T>) {
    const buckets = configuration?.buckets ?? [...DEFAULT_BUCKETS];
    super(configuration, 'histogram', (name) => histogramSchema(name).buckets(buckets));
    this.buckets = [...buckets];
  }

  /** Shows this label set's series at zero, creating it if new. */
  zero(labels: LabelValues<T>): void {
    validateLabel(this.labelNames, labels);
    if (this.engine.zero !== undefined) this.engine.zero(this.fullLabels(this.labelNames.map((name) => labels[name])));
    else this.reset();
  }
}

export namespace Histogram {
  export type Internal<T extends string> = ObservedChild<T>;
}
