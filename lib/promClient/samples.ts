// Samples from the engine in prom-client's shape.

import type { MetricJSON } from '../exposition/registry';
import type { Aggregator } from './aggregators';
import type { Exemplar } from './exemplars';

/**
 * A label set. A metric declared without label names (`T` = never, the default of
 * @prometheus-io/client 0.16's types) takes none: any key is a type error.
 */
export type LabelValues<T extends string> = [T] extends [never] ? Partial<Record<string, never>> : Partial<Record<T, string | number>>;

/** One sample of a metric, as `get()` gives it. */
export interface MetricValue<T extends string> {
  /** The sample's value. */
  value: number;
  /** Its labels; a histogram bucket's `le` and a summary's `quantile` among them. */
  labels: LabelValues<T> & {
    /** A histogram bucket's upper bound. */
    le?: number | string;
    /** A summary sample's quantile. */
    quantile?: number;
  };
  /** The sample's own name where it differs from the metric's (`_bucket`, `_sum`, `_count`). */
  metricName?: string;
  /** A counter's, once set; on a histogram's buckets always (null if none). */
  exemplar?: Exemplar | null;
}

/** A metric's type, as `get()` names it. */
export type MetricTypeName = 'counter' | 'gauge' | 'histogram' | 'summary';

/** A sample with the name of the series it belongs to (a histogram's `_bucket`, `_sum`, `_count`). */
export type MetricValueWithName<T extends string> = MetricValue<T> & {
  /** The sample's own name (`_bucket`, `_sum`, `_count`). */
  metricName?: string;
};

/** A metric's `collect` callback: the metric is its `this`. */
export type CollectFunction<T> = (this: T) => void | Promise<void>;

/** A metric as `getMetricsAsArray()` lists it. */
export interface MetricObject {
  /** The metric's name. */
  name: string;
  /** Its HELP text. */
  help: string;
  /** Its type. */
  type: MetricTypeName;
  /** How its processes' values are combined. */
  aggregator: Aggregator;
  /** Runs before it is read. */
  // biome-ignore lint/suspicious/noExplicitAny: prom-client's declaration: a collect callback of any metric
  collect: CollectFunction<any>;
}

/** A metric with its samples, as `get()` and `getMetricsAsJSON()` give it. */
export interface MetricObjectWithValues<V> {
  /** The metric's name. */
  name: string;
  /** Its HELP text. */
  help: string;
  /** Its type. */
  type: MetricTypeName;
  /** How its processes' values are combined. */
  aggregator: Aggregator;
  /** Its samples. */
  values: V[];
}

/**
 * A sample's value, labels and (for a histogram's or a summary's) name, with its keys
 * in the order prom-client's `get()` gives them (tests compare JSON text): a
 * histogram's `value, metricName, exemplar, labels` with `le` first (a number but for
 * `+Inf`), a summary's quantile `labels, value` with `quantile` first and its `_sum`
 * and `_count` `metricName, labels, value`, others `value, labels`. A counter's
 * exemplar, once set; a histogram's samples always have the key, as prom-client's
 * do: `null` on a bucket without one (but `undefined` on the `+Inf` bucket of a
 * histogram with exemplars enabled), `undefined` on `_sum` and `_count`.
 */
export interface PromClientSample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  exemplar?: Exemplar | null;
}

/**
 * Label values given as other than strings (numbers, booleans, null), by label name
 * then their text: prom-client keeps the labels object it was first given for a
 * series, so its `get()` gives `{ code: 200 }` back for `inc({ code: 200 })`. Noted
 * where a label set is first worked out, never on an update.
 */
export class GivenValues {
  private readonly byLabel = new Map<string, Map<string, unknown>>();

  /**
   * Notes `value` of `label`, whose text is `text` (worked out once: a value's
   * `toString()` may do anything), unless it is a string (or undefined: no value).
   */
  note(label: string, value: unknown, text: string): void {
    if (typeof value === 'string' || value === undefined) return;
    let values = this.byLabel.get(label);
    if (values === undefined) {
      values = new Map();
      this.byLabel.set(label, values);
    }
    if (!values.has(text)) values.set(text, value);
  }

  /** Notes each value of a labels object given whole (default labels). */
  noteAll(labels: object): void {
    for (const [label, value] of Object.entries(labels)) this.note(label, value, String(value));
  }

  forget(): void {
    this.byLabel.clear();
  }

  /** The value given for `label` whose text is `text`, if one other than a string was (`null` is one). */
  private given(label: string, text: string): { value: unknown } | undefined {
    const values = this.byLabel.get(label);
    return values?.has(text) ? { value: values.get(text) } : undefined;
  }

  /**
   * `labels` with the values given as other than strings as given (the same object if
   * there are none); typed as prom-client types label values, which a `null` given
   * slips past there too.
   */
  restore(labels: Record<string, string>, also?: GivenValues): Record<string, string | number> {
    if (this.byLabel.size === 0 && (also === undefined || also.byLabel.size === 0)) return labels;
    const restored: Record<string, string | number> = {};
    for (const [label, text] of Object.entries(labels)) {
      restored[label] = (this.given(label, text) ?? also?.given(label, text) ?? { value: text }).value as string | number;
    }
    return restored;
  }
}

/** What `promClientSample()` reads of a metric: its type, exemplar option, and label values given as other than strings. */
export interface SampleSource {
  type: string;
  enableExemplars?: boolean;
  givenValues?: GivenValues;
}

/** A sample of the engine in prom-client's shape; `registryValues`: its registry's default labels' numbers. */
export function promClientSample(sample: MetricJSON['values'][number], metric: SampleSource, registryValues?: GivenValues): PromClientSample {
  const { le, quantile, ...given } = sample.labels;
  const labels = metric.givenValues?.restore(given, registryValues) ?? registryValues?.restore(given) ?? given;
  const { value, metricName } = sample;
  if (metric.type === 'histogram') {
    if (le === undefined) return { value, metricName, exemplar: undefined, labels };
    const none = le === '+Inf' && metric.enableExemplars ? undefined : null;
    return { value, metricName, exemplar: sample.exemplar ?? none, labels: { le: le === '+Inf' ? le : Number(le), ...labels } };
  }
  if (metric.type === 'summary') {
    return quantile !== undefined ? { labels: { quantile: Number(quantile), ...labels }, value } : { metricName, labels, value };
  }
  const converted: PromClientSample = { value, labels };
  if (sample.exemplar !== undefined) converted.exemplar = sample.exemplar;
  return converted;
}
