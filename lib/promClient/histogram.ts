// prom-client's Histogram on the engine.

import { histogramSchema } from '../schema';
import { DEFAULT_BUCKETS, type Histogram as EngineHistogram } from '../histogram';
import { invalidNumber, labelsFromArguments, type LabelValues, Metric, type MetricConfiguration } from './metric';
import { validateLabel } from './validation';

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T, Histogram<T>> {
  buckets?: number[];
}

export class Histogram<T extends string = string> extends Metric<T, EngineHistogram> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(configuration: HistogramConfiguration<T>) {
    const buckets = configuration?.buckets ?? [...DEFAULT_BUCKETS];
    super(configuration, 'histogram', (name) => histogramSchema(name).buckets(buckets));
    this.buckets = [...buckets];
  }

  /** `observe(value)` or `observe(labels, value)`. */
  observe(labels: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) this.record(labels, value);
    else this.record(undefined, labels);
  }

  /** Starts a timer; the returned function observes the elapsed seconds (with the labels of both calls). */
  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    const start = process.hrtime.bigint();
    return (endLabels) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      this.record({ ...labels, ...endLabels }, seconds);
      return seconds;
    };
  }

  /** Shows this label set's series at zero, creating it if new. */
  zero(labels: LabelValues<T>): void {
    validateLabel(this.labelNames, labels);
    if (this.engine.zero !== undefined) this.engine.zero(this.fullLabels(this.labelNames.map((name) => labels[name])));
    else this.reset();
  }

  /** The series of these label values, kept: its observations need no lookup. */
  labels(...args: unknown[]): Histogram.Internal<T> {
    const labels = labelsFromArguments(this.labelNames, args);
    validateLabel(this.labelNames, labels);
    let handle: EngineHistogram | undefined;
    return {
      observe: (value) => {
        this.check(labels, value);
        (handle ??= this.handleFor(labels)).observe(value);
      },
      startTimer: () => this.startTimer(labels),
    };
  }

  private record(labels: LabelValues<T> | undefined, value: unknown): void {
    this.check(labels, value);
    this.handleFor(labels).observe(value as number);
  }

  /** prom-client's checks, with its messages: the labels, then the value. */
  private check(labels: LabelValues<T> | undefined, value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      if (labels !== undefined) validateLabel(this.labelNames, labels);
      throw invalidNumber('Value', value);
    }
  }
}

export namespace Histogram {
  export interface Internal<T extends string> {
    observe(value: number): void;
    startTimer(): (labels?: LabelValues<T>) => number;
  }
}
