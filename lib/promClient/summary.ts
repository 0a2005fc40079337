// prom-client's Summary on the engine: quantiles from a t-digest window in Rust that
// every thread's observations reach (src/summary.rs).

import { summarySchema } from '../schema';
import { DEFAULT_PERCENTILES, type Summary as EngineSummary } from '../summary';
import { invalidNumber, labelsFromArguments, type LabelValues, Metric, type MetricConfiguration } from './metric';
import { validateLabel } from './validation';

export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T, Summary<T>> {
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
  pruneAgedBuckets?: boolean;
  /** Accepted and ignored: the engine's digests compress themselves as they fill. */
  compressCount?: number;
}

export class Summary<T extends string = string> extends Metric<T, EngineSummary> {
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
  observe(labels: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) this.record(labels, value);
    // prom-client checks a string given as the value as if it were labels (its
    // indices are label names), so that is the error it throws first.
    else this.record(typeof labels === 'string' ? (labels as LabelValues<T>) : undefined, labels);
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

  /** The series of these label values, kept: its observations need no lookup. */
  labels(...args: unknown[]): Summary.Internal<T> {
    const labels = labelsFromArguments(this.labelNames, args);
    validateLabel(this.labelNames, labels);
    let handle: EngineSummary | undefined;
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

export namespace Summary {
  export interface Internal<T extends string> {
    observe(value: number): void;
    startTimer(): (labels?: LabelValues<T>) => number;
  }
}
