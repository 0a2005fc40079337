// Samples from the engine in prom-client's shape.

import type { MetricJSON } from '../exposition/registry';
import type { Aggregator } from './aggregators';
import type { Exemplar } from './exemplars';

/**
 * A label set. A metric declared without label names (`T` = never, the default of
 * @prometheus-io/client 0.16's types) takes none: any key is a type error.
 */
export type LabelValues<T extends string> = [T] extends [never] ? Partial<Record<string, never>> : Partial<Record<T, string | number>>;

export interface MetricValue<T extends string> {
  value: number;
  labels: LabelValues<T> & { le?: number | string; quantile?: number };
  metricName?: string;
  /** A counter's, once set; on a histogram's buckets always (null if none). */
  exemplar?: Exemplar | null;
}

export type MetricTypeName = 'counter' | 'gauge' | 'histogram' | 'summary';

/** A sample with the name of the series it belongs to (a histogram's `_bucket`, `_sum`, `_count`). */
export type MetricValueWithName<T extends string> = MetricValue<T> & { metricName?: string };

/** A metric's `collect` callback: the metric is its `this`. */
export type CollectFunction<T> = (this: T) => void | Promise<void>;

/** A metric as `getMetricsAsArray()` lists it. */
export interface MetricObject {
  name: string;
  help: string;
  type: MetricTypeName;
  aggregator: Aggregator;
  // biome-ignore lint/suspicious/noExplicitAny: prom-client's declaration: a collect callback of any metric
  collect: CollectFunction<any>;
}

export interface MetricObjectWithValues<V> {
  name: string;
  help: string;
  type: MetricTypeName;
  aggregator: Aggregator;
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

export function promClientSample(sample: MetricJSON['values'][number], metric: { type: string; enableExemplars?: boolean }): PromClientSample {
  const { le, quantile, ...labels } = sample.labels;
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
