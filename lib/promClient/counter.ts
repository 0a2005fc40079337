// prom-client's Counter on the engine.

import { counterSchema } from '../metrics/schema';
import type { Counter as EngineCounter } from '../metrics/counter';
import { invalidNumber, Metric, type MetricConfiguration } from './metric';
import type { LabelValues } from './samples';
import { setExemplarOf } from '../base/exemplars';

/** What a `Counter` is made with: prom-client's options. */
export type CounterConfiguration<T extends string> = MetricConfiguration<T, Counter<T>>;

/** What `inc()` takes on a counter made with `enableExemplars: true`. */
export interface IncreaseDataWithExemplar<T extends string> {
  /** The increment (default 1). */
  value?: number;
  /** The series' labels. */
  labels?: LabelValues<T>;
  /** The exemplar's labels (a trace id, say); the series' last exemplar until replaced. */
  exemplarLabels?: LabelValues<T>;
}

/**
 * prom-client's `Counter`: a total that only goes up, counted by every thread into the
 * same series.
 *
 * @example
 * ```js
 * const { Counter } = require('slotmetrics/prom-client');
 * const requests = new Counter({ name: 'http_requests_total', help: 'Requests', labelNames: ['code'] });
 * requests.inc({ code: 200 });
 * const ok = requests.labels('200'); // kept: no lookup on its updates
 * ok.inc();
 * ```
 */
export class Counter<T extends string = string> extends Metric<T, EngineCounter> {
  /** Always `'counter'`. */
  readonly type = 'counter';
  /**
   * Whether an exemplar's value is the series' value after the increment
   * (@prometheus-io/client 0.16) rather than the increment (prom-client 15).
   */
  protected readonly exemplarAtTotal: boolean = false;

  constructor(configuration: CounterConfiguration<T>) {
    super(configuration, 'counter', counterSchema);
  }

  /**
   * `inc()`, `inc(value)`, `inc(labels)` or `inc(labels, value)`; by 1 unless a value is
   * given. With exemplars enabled an object is `{ labels, value, exemplarLabels }`.
   */
  inc(labels?: LabelValues<T>, value?: number): void;
  inc(value?: number): void;
  inc(incData: IncreaseDataWithExemplar<T>): void;
  inc(labels?: LabelValues<T> | IncreaseDataWithExemplar<T> | number, value?: number): void {
    const unlabeled = this.engine.handle;
    if (labels === undefined && unlabeled !== undefined) {
      unlabeled.increment(); // the most common call, without the checks that cannot fail
    } else if (typeof labels === 'object' && labels !== null) {
      if (this.enableExemplars) this.incWithExemplar(labels as IncreaseDataWithExemplar<T>);
      else this.add(labels as LabelValues<T>, value);
    } else {
      this.add(undefined, labels);
    }
  }

  /** The series of these label values (in label-name order, or an object), to update without a lookup. */
  labels(...args: unknown[]): Counter.Internal {
    const labels = this.childLabels(args, false);
    let handle = labels === undefined ? this.discard() : undefined;
    return {
      inc: (value?: number) => {
        if (!this.checkIncrement(labels, value)) return;
        handle ??= this.handleFor(labels);
        handle.add(value ?? 1);
      },
    };
  }

  private add(labels: LabelValues<T> | undefined, value: number | undefined): void {
    if (this.checkIncrement(labels, value)) this.handleFor(labels).add(value ?? 1);
  }

  /**
   * prom-client's checks of an increment, with its messages: a label error first, then
   * the value; false for an update dropped for its labels. NaN is refused too
   * (prom-client would add it and lose the count).
   */
  private checkIncrement(labels: object | undefined, value: unknown): boolean {
    if (value === undefined || value === null || (typeof value === 'number' && value >= 0 && value !== Infinity)) return true;
    if (labels !== undefined && !this.acceptLabels(labels)) return false;
    if (typeof value === 'number' && value < 0) throw new Error('It is not possible to decrease a counter');
    throw invalidNumber('Value', value);
  }

  /**
   * prom-client's increment with an exemplar. An exemplar given replaces the series'
   * last one, with the increment as its value (1 for an increment of 0, as in
   * prom-client); without `exemplarLabels` the last one stays.
   */
  private incWithExemplar({ labels, value = 1, exemplarLabels }: IncreaseDataWithExemplar<T>): void {
    const own = labels ?? undefined;
    if (!this.checkIncrement(own, value)) return;
    const exemplar = this.exemplarOf(own, exemplarLabels);
    if (exemplar === false) return;
    // An update dropped for its labels gets a handle of no series (slot -1), and sets no exemplar.
    const handle = this.handleFor(own);
    if (handle.slot < 0) return;
    handle.add(value ?? 1);
    if (exemplar !== undefined) setExemplarOf(handle.slot, this.engine.id, handle.slot, exemplar, value || 1, this.exemplarAtTotal);
  }
}

export namespace Counter {
  /** The series `labels(...)` gives. */
  export interface Internal {
    /** Adds `value` (default 1). */
    inc(value?: number): void;
  }
}
