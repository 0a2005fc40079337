/**
 * slotmetrics/prom-client: prom-client 15's API on the slotmetrics engine. Switching
 * is one line: require('prom-client') → require('slotmetrics/prom-client'). Metrics
 * made here live in shared memory (every worker thread sees them) and slotmetrics'
 * serve() exposes them from Rust. docs/migrating.md lists what differs.
 *
 * @module slotmetrics/prom-client
 */

import { collectDefaultMetrics as collectEngineDefaults, type DefaultMetricsOptions } from '../integrations/defaultMetrics';
import type { Counter } from './counter';
import type { Gauge } from './gauge';
import type { Histogram } from './histogram';
import { globalRegistry, Registry, type RegistryContentType } from './registry';
import type { Summary } from './summary';
import { labelTexts } from './validation';
import { defineModuleProperties } from './moduleProperties';

export { Registry };
export type {
  Charset,
  OpenMetricsContentType,
  OpenMetricsMIME,
  OpenMetricsVersion,
  PrometheusContentType,
  PrometheusMIME,
  PrometheusMetricsVersion,
  RegistryContentType,
} from './registry';
export { Counter, type CounterConfiguration, type IncreaseDataWithExemplar } from './counter';
export { Gauge, type GaugeConfiguration } from './gauge';
export { Histogram, type HistogramConfiguration, type ObserveDataWithExemplar } from './histogram';
export type { Exemplar } from './exemplars';
export { Summary, type SummaryConfiguration } from './summary';
export type { MetricConfiguration } from './metric';
export type { CollectFunction, LabelValues, MetricObject, MetricObjectWithValues, MetricValue, MetricValueWithName } from './samples';

/** The global registry, slotmetrics' default one (typed as prom-client 15 types it). */
export const register: Registry = globalRegistry as Registry;

/** Any metric of this entry. */
export type Metric<T extends string = string> = Counter<T> | Gauge<T> | Summary<T> | Histogram<T>;

/** prom-client's declared type of a collector callback. */
export type Collector = () => void;

/**
 * prom-client 15 declares this enum in its types only: at run time it is not there, so
 * code that reads it fails with prom-client too. Compare `metric.type` with
 * `'counter'`, `'gauge'`, `'histogram'` or `'summary'`.
 */
export declare enum MetricType {
  /** A counter. */
  Counter,
  /** A gauge. */
  Gauge,
  /** A histogram. */
  Histogram,
  /** A summary. */
  Summary,
}
export type { Aggregator } from './aggregators';
export { AggregatorRegistry } from './cluster';
export { aggregators } from './aggregators';
export { Pushgateway, type PushgatewayOptions, type PushgatewayParameters } from './pushgateway';
export { linearBuckets, exponentialBuckets } from './buckets';
export {
  exportOtlp,
  exportRemoteWrite,
  exportDatadog,
  exportCloudWatch,
  exportGoogleCloud,
  type OtlpExportOptions,
  type RemoteWriteOptions,
  type DatadogOptions,
  type CloudWatchOptions,
  type GoogleCloudOptions,
  type MetricsExporter,
  type ExportResult,
} from './export';
export { validateMetricName } from './validation';

/** `text/plain; version=0.0.4; charset=utf-8`. */
export const prometheusContentType = Registry.PROMETHEUS_CONTENT_TYPE;
/** `application/openmetrics-text; version=1.0.0; charset=utf-8`. */
export const openMetricsContentType = Registry.OPENMETRICS_CONTENT_TYPE;

/** prom-client's module-level `contentType`: the global registry's, and setting it sets that. */
export declare let contentType: RegistryContentType;
defineModuleProperties(exports);

/** `collectDefaultMetrics()`'s options: prom-client's. */
export interface DefaultMetricsCollectorConfiguration<T extends RegistryContentType = RegistryContentType>
  extends Omit<DefaultMetricsOptions, 'registry' | 'labels'> {
  /** The registry the metrics go into (default: the global registry). */
  register?: Registry<T>;
  /** Labels of every default metric; numbers are written as their text. */
  labels?: object;
  /**
   * prom-client puts the OpenTelemetry span active when its CPU counters are collected
   * on their exemplars. The engine reads CPU time at scrape time off the JS thread,
   * outside any span, so there are none; as in prom-client, `register` must be OpenMetrics.
   */
  enableExemplars?: boolean;
}

/**
 * prom-client's default metrics (same names, types and labels), into `register`
 * (default: the global registry). Returns a function that stops the sampling. Other
 * keys are ignored, as prom-client ignores them: wrappers pass their own options
 * along (fastify-metrics its `enabled`).
 */
export function collectDefaultMetrics<T extends RegistryContentType>(config: DefaultMetricsCollectorConfiguration<T> = {}): () => void {
  const {
    register = globalRegistry as Registry<RegistryContentType>,
    enableExemplars,
    prefix,
    labels,
    eventLoopMonitoringPrecision,
    gcDurationBuckets,
    sampleIntervalMs,
  } = config;
  if (enableExemplars && register.contentType === Registry.PROMETHEUS_CONTENT_TYPE) {
    throw new TypeError('Exemplars are supported only on OpenMetrics registries');
  }
  if (labels !== null && typeof labels === 'object') register.givenValues.noteAll(labels);
  return collectEngineDefaults({
    prefix,
    labels: labelTexts(labels),
    eventLoopMonitoringPrecision,
    gcDurationBuckets,
    sampleIntervalMs,
    registry: register.engine,
  });
}
