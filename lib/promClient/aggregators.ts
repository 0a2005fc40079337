// prom-client's metric aggregators: how AggregatorRegistry combines the same metric
// from several cluster workers, chosen by each metric's `aggregator` option.

/** How the same metric from several workers is combined (prom-client's names). */
export type Aggregator = 'omit' | 'sum' | 'first' | 'min' | 'max' | 'average';

/** A metric as `get()` and `getMetricsAsJSON()` give it. */
export interface MetricData {
  name: string;
  help: string;
  type: string;
  aggregator?: Aggregator;
  values: SampleData[];
}

export interface SampleData {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

type AggregatorFunction = (metrics: MetricData[]) => MetricData | undefined;

/** prom-client's key of a label set: its labels sorted by name. */
function labelsKey(labels: Record<string, unknown>): string {
  return Object.keys(labels)
    .sort()
    .filter((name) => labels[name] !== undefined)
    .map((name) => `${name}:${labels[name]},`)
    .join('');
}

/**
 * An aggregator applying `combine` to the values of each sample (same name and
 * labels) across the metrics given, in the order they were first seen.
 */
export function AggregatorFactory(combine: (values: SampleData[]) => number): AggregatorFunction {
  return (metrics) => {
    if (metrics.length === 0) return undefined;
    const [first] = metrics;
    const samples = new Map<string, SampleData[]>();
    for (const metric of metrics) {
      for (const value of metric.values) {
        const key = `${value.metricName}_${labelsKey(value.labels)}`;
        const group = samples.get(key);
        if (group === undefined) samples.set(key, [value]);
        else group.push(value);
      }
    }
    const values = [...samples.values()].map((group) => {
      const sample: SampleData = { value: combine(group), labels: group[0].labels };
      if (group[0].metricName) sample.metricName = group[0].metricName;
      return sample;
    });
    return { help: first.help, name: first.name, type: first.type, values, aggregator: first.aggregator };
  };
}

/**
 * prom-client's aggregator functions, by name: how `AggregatorRegistry.aggregate()`
 * combines one metric's data from several workers. Add one to use it as a metric's
 * `aggregator`.
 */
export const aggregators: Record<Aggregator, AggregatorFunction> = {
  sum: AggregatorFactory((values) => values.reduce((total, v) => total + v.value, 0)),
  first: AggregatorFactory((values) => values[0].value),
  /** Leaves the metric out. */
  omit: () => undefined,
  average: AggregatorFactory((values) => values.reduce((total, v) => total + v.value, 0) / values.length),
  min: AggregatorFactory((values) => values.reduce((low, v) => Math.min(low, v.value), Infinity)),
  max: AggregatorFactory((values) => values.reduce((high, v) => Math.max(high, v.value), -Infinity)),
};
