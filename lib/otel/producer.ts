// A MetricProducer for @opentelemetry/sdk-metrics readers: a pipeline that already
// exports with the SDK (NodeSDK, a PeriodicExportingMetricReader) carries every metric
// of a slotmetrics registry too. The registry is read as `getMetricsAsJSON()` reads it,
// off the event loop, and mapped as the specification's Prometheus compatibility page
// maps it: counters to monotonic cumulative sums, gauges to gauges, histograms to
// histograms. Summaries have no OpenTelemetry point type of their own in the SDK and
// are left out, as the Go bridge leaves them out.

import { type MetricJSON, type MetricSampleJSON, type Registry, registryOption } from '../exposition/registry';
import { checkOptions } from '../base/validate';

// The SDK's enums, by value (`@opentelemetry/sdk-metrics` is the caller's, not a dependency).
const CUMULATIVE = 1;
const DOUBLE = 1;
const POINT_TYPE = { histogram: 0, gauge: 2, sum: 3 } as const;

type HrTime = [number, number];

/** An SDK data point, as `MetricProducer.collect()` gives them. */
interface DataPoint<V> {
  startTime: HrTime;
  endTime: HrTime;
  attributes: Record<string, string>;
  value: V;
}

interface HistogramValue {
  buckets: { boundaries: number[]; counts: number[] };
  sum: number;
  count: number;
}

/** One metric as the SDK's `MetricData` (sum, gauge or histogram). */
export interface ProducedMetric {
  descriptor: { name: string; description: string; unit: string; valueType: number };
  aggregationTemporality: number;
  dataPointType: number;
  dataPoints: DataPoint<number>[] | DataPoint<HistogramValue>[];
  isMonotonic?: boolean;
}

/** What `collect()` resolves to: the SDK's `CollectionResult`. */
export interface ProducedCollection {
  resourceMetrics: {
    resource: { attributes: Record<string, never> };
    scopeMetrics: { scope: { name: string; version: string }; metrics: ProducedMetric[] }[];
  };
  errors: unknown[];
}

/** `new SlotmetricsMetricProducer()`'s options. */
export interface MetricProducerOptions {
  /** The registry to read (default: slotmetrics' default `registry`). */
  registry?: Registry;
}

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/**
 * Hand it to an SDK reader, `new PeriodicExportingMetricReader({ exporter,
 * metricProducers: [new SlotmetricsMetricProducer()] })`: each collection of the
 * reader then carries the registry's metrics, as the scope `slotmetrics`. Start times
 * are the producer's creation, the start of every cumulative stream it reports.
 *
 * @example
 * ```js
 * new PeriodicExportingMetricReader({ exporter, metricProducers: [new SlotmetricsMetricProducer()] });
 * ```
 */
export class SlotmetricsMetricProducer {
  private readonly registry: Registry;
  private readonly startTime: HrTime = hrTime(Date.now());

  constructor(options: MetricProducerOptions = {}) {
    checkOptions('new SlotmetricsMetricProducer()', options, ['registry']);
    this.registry = registryOption('new SlotmetricsMetricProducer()', options.registry);
  }

  /** Every metric of the registry, as the SDK's `CollectionResult`; what an SDK reader calls. */
  async collect(): Promise<ProducedCollection> {
    const metrics = await this.registry.getMetricsAsJSON();
    const endTime = hrTime(Date.now());
    const produced = metrics.flatMap((metric) => {
      const made = this.metric(metric, endTime);
      return made === undefined ? [] : [made];
    });
    return {
      resourceMetrics: { resource: { attributes: {} }, scopeMetrics: [{ scope: { name: 'slotmetrics', version: '' }, metrics: produced }] },
      errors: [],
    };
  }

  private metric(metric: MetricJSON, endTime: HrTime): ProducedMetric | undefined {
    const descriptor = { name: metric.name, description: metric.help, unit: '', valueType: DOUBLE };
    const point = <V>(attributes: Record<string, string>, value: V): DataPoint<V> => ({ startTime: this.startTime, endTime, attributes, value });
    switch (metric.type) {
      case 'counter':
      case 'gauge':
        return {
          descriptor,
          aggregationTemporality: CUMULATIVE,
          dataPointType: metric.type === 'counter' ? POINT_TYPE.sum : POINT_TYPE.gauge,
          dataPoints: metric.values.map((sample) => point(sample.labels, sample.value)),
          ...(metric.type === 'counter' ? { isMonotonic: true } : {}),
        };
      case 'histogram':
        return {
          descriptor,
          aggregationTemporality: CUMULATIVE,
          dataPointType: POINT_TYPE.histogram,
          dataPoints: histogramPoints(metric).map(([attributes, value]) => point(attributes, value)),
        };
      default:
        return undefined;
    }
  }
}

/**
 * A histogram's series as the SDK's points: the `_bucket` samples of one label set
 * (cumulative, `le` last `+Inf`) become bounds and per-bucket counts; `_sum` and
 * `_count` their sum and count. A native histogram's series have no finite bound: one
 * bucket, holding every observation.
 */
function histogramPoints(metric: MetricJSON): [Record<string, string>, HistogramValue][] {
  const series = new Map<string, { attributes: Record<string, string>; value: HistogramValue; cumulative: number[] }>();
  const of = (sample: MetricSampleJSON) => {
    const { le: _, ...attributes } = sample.labels;
    const key = JSON.stringify(Object.entries(attributes).sort());
    let entry = series.get(key);
    if (entry === undefined) {
      entry = { attributes, value: { buckets: { boundaries: [], counts: [] }, sum: 0, count: 0 }, cumulative: [] };
      series.set(key, entry);
    }
    return entry;
  };
  for (const sample of metric.values) {
    const entry = of(sample);
    if (sample.metricName?.endsWith('_bucket')) {
      if (sample.labels.le !== '+Inf') entry.value.buckets.boundaries.push(Number(sample.labels.le));
      entry.cumulative.push(sample.value);
    } else if (sample.metricName?.endsWith('_sum')) {
      entry.value.sum = sample.value;
    } else if (sample.metricName?.endsWith('_count')) {
      entry.value.count = sample.value;
    }
  }
  return [...series.values()].map(({ attributes, value, cumulative }) => {
    value.buckets.counts = cumulative.map((total, i) => total - (i === 0 ? 0 : cumulative[i - 1]));
    return [attributes, value];
  });
}
