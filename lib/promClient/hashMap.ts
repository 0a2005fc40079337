// prom-client's internal `hashMap` of a metric: its series by prom-client's key, which
// wrappers' test suites and applications' own tests read (express-prom-bundle's reads
// a histogram's `count`). Built from the engine when read, never kept or updated: it
// costs the update paths nothing.

import { binding } from '../base/native';
import { flushPendingUpdates } from '../base/pending';
import type { MetricJSON } from '../exposition/registry';

/** A counter's or gauge's series. */
export interface ValueEntry {
  value: number;
  labels: Record<string, string>;
}

/** A histogram's series: per-bucket (not cumulative) counts by upper bound, as prom-client keeps them. */
export interface HistogramEntry {
  labels: Record<string, string>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** A summary's series (prom-client also keeps its t-digest, `td`, which is the engine's here). */
export interface SummaryEntry {
  labels: Record<string, string>;
  sum: number;
  count: number;
}

export type HashMap = Record<string, ValueEntry | HistogramEntry | SummaryEntry>;

/** prom-client's key of a label set: `name:value,` for each label given, in sorted label-name order. */
function keyOf(labels: Record<string, string>, sortedNames: readonly string[]): string {
  let key = '';
  for (const name of sortedNames) if (labels[name] !== undefined) key += `${name}:${labels[name]},`;
  return key;
}

/** The `hashMap` of the metric with engine id `id`, whose label names are `labelNames`. */
export function hashMapOf(id: number, labelNames: readonly string[]): HashMap {
  flushPendingUpdates();
  const [metric] = binding.metricDataNow(id) as MetricJSON[];
  const sortedNames = [...labelNames].sort();
  const map: HashMap = {};
  for (const sample of metric?.values ?? []) {
    // A bucket's `le` and a summary's `quantile` are not part of the series' labels.
    const { le, ...labels } = sample.labels;
    delete labels.quantile;
    const key = keyOf(labels, sortedNames);
    if (metric.type === 'counter' || metric.type === 'gauge') {
      map[key] = { value: sample.value, labels };
      continue;
    }
    map[key] ??= metric.type === 'histogram' ? { labels, bucketValues: {}, sum: 0, count: 0 } : { labels, sum: 0, count: 0 };
    const entry = map[key] as HistogramEntry;
    const suffix = sample.metricName?.slice(metric.name.length);
    if (suffix === '_sum') entry.sum = sample.value;
    else if (suffix === '_count') entry.count = sample.value;
    else if (le !== undefined && le !== '+Inf') {
      // The engine's buckets are cumulative; prom-client keeps each bucket's own count.
      const below = Object.values(entry.bucketValues).reduce((total, count) => total + count, 0);
      entry.bucketValues[le] = sample.value - below;
    }
  }
  return map;
}
