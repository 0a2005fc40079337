// prom-client's Histogram on the engine.

import { histogramSchema } from '../metrics/schema';
import { bucketIndex, DEFAULT_BUCKETS, type Histogram as EngineHistogram } from '../metrics/histogram';
import type { NativeOptions } from '../metrics/nativeHistogram';
import type { MetricConfiguration } from './metric';
import type { LabelValues } from './samples';
import { ObservedMetric, type ObservedChild, secondsSince } from './observed';
import { setExemplarOf } from '../base/exemplars';
import { validateLabel } from './validation';

/** What a `Histogram` is made with: prom-client's options, and `native`. */
export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T, Histogram<T>> {
  /** Upper bounds, increasing (default `[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]`). */
  buckets?: number[];
  /**
   * slotmetrics' addition: native (exponential) buckets, exposed over protobuf
   * (`true` for the defaults: bucket factor 1.1, zero threshold 2^-128, 160 buckets).
   * Without `buckets` the histogram has only these; with them, both.
   */
  native?: boolean | NativeOptions;
}

/** What `observe()` takes on a histogram made with `enableExemplars: true`. */
export interface ObserveDataWithExemplar<T extends string> {
  /** The observed value. */
  value: number;
  /** The series' labels. */
  labels?: LabelValues<T>;
  /** The exemplar's labels (a trace id, say); the bucket's last exemplar until replaced. */
  exemplarLabels?: LabelValues<T>;
}

/**
 * prom-client's `Histogram`: observations counted in buckets, with their sum.
 *
 * @example
 * ```js
 * const latency = new Histogram({ name: 'request_seconds', help: 'Latency', labelNames: ['route'] });
 * const end = latency.startTimer({ route: '/users' });
 * end(); // observes the seconds since startTimer()
 * ```
 */
export class Histogram<T extends string = string> extends ObservedMetric<T, EngineHistogram> {
  /** Always `'histogram'`. */
  readonly type = 'histogram';
  /** Its bucket upper bounds (`+Inf` left out). */
  readonly buckets: readonly number[];

  constructor(configuration: HistogramConfiguration<T>) {
    const native = configuration?.native;
    const buckets = configuration?.buckets ?? (native ? [] : [...DEFAULT_BUCKETS]);
    super(configuration, 'histogram', (name) => {
      const classic = histogramSchema(name).buckets(buckets);
      return native ? classic.native(native === true ? {} : native) : classic;
    });
    this.buckets = [...buckets];
  }

  /**
   * `observe(value)` or `observe(labels, value)`; with exemplars enabled an object is
   * `{ labels, value, exemplarLabels }`.
   */
  override observe(value: number): void;
  override observe(labels: LabelValues<T>, value: number): void;
  override observe(observeData: ObserveDataWithExemplar<T>): void;
  override observe(labels: LabelValues<T> | ObserveDataWithExemplar<T> | number, value?: number): void {
    if (this.enableExemplars && typeof labels === 'object' && labels !== null) this.observeWithExemplar(labels as ObserveDataWithExemplar<T>);
    else super.observe(labels as LabelValues<T>, value);
  }

  /**
   * Starts a timer; the returned function observes the elapsed seconds with the labels
   * (and, with exemplars enabled, the exemplar labels) of both calls.
   */
  override startTimer(
    labels?: LabelValues<T>,
    exemplarLabels?: LabelValues<T>,
  ): (endLabels?: LabelValues<T>, endExemplarLabels?: LabelValues<T>) => number {
    if (!this.enableExemplars) return super.startTimer(labels);
    const start = process.hrtime.bigint();
    return (endLabels, endExemplarLabels) => {
      const value = secondsSince(start);
      this.observeWithExemplar({ labels: { ...labels, ...endLabels }, value, exemplarLabels: { ...exemplarLabels, ...endExemplarLabels } });
      return value;
    };
  }

  /**
   * prom-client's observation with an exemplar: exemplar labels given (and not empty)
   * replace the last exemplar of the bucket the value falls in.
   */
  private observeWithExemplar({ labels, value, exemplarLabels }: ObserveDataWithExemplar<T>): void {
    const own = labels ?? undefined;
    if (!this.check(own, value)) return;
    const exemplar = this.exemplarOf(own, exemplarLabels);
    if (exemplar === false) return;
    const handle = this.record(own, value);
    // An update dropped for its labels got a handle of no series (slot -1).
    if (exemplar === undefined || exemplar.length === 0 || handle.slot < 0) return;
    setExemplarOf(handle.slot + bucketIndex(this.buckets, value), this.engine.id, handle.slot, exemplar, value, false);
  }

  /** Shows this label set's series at zero, creating it if new. */
  zero(labels: LabelValues<T>): void {
    validateLabel(this.labelNames, labels);
    if (this.engine.zero !== undefined) this.engine.zero(this.fullLabels(this.labelNames.map((name) => labels[name])));
    else this.reset();
  }
}

export namespace Histogram {
  /** The series `labels(...)` gives: `observe(v)`, `startTimer()`. */
  export type Internal<T extends string> = ObservedChild<T>;
}
