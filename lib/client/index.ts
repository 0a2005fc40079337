// slotmetrics/client: the API of @prometheus-io/client 0.16, prom-client's successor,
// on the slotmetrics engine. Switching is one line: require('@prometheus-io/client') →
// require('slotmetrics/client'). It is slotmetrics/prom-client (prom-client 15's API)
// with what 0.16 changed where one entry cannot serve both (README "Migrating from
// prom-client"): metric classes whose label-name type defaults to none, counter
// exemplars valued at the series' total, a ClusterRegistry whose primary counts its own
// metrics, a WorkerRegistry, and the event-loop utilization default metrics.

import { globalRegistry, type RegistryContentType } from '../promClient/registry';
import { defineModuleProperties } from '../promClient/moduleProperties';
import {
  AggregatorRegistry as PromClientAggregatorRegistry,
  Counter as PromClientCounter,
  Gauge as PromClientGauge,
  Histogram as PromClientHistogram,
  Summary as PromClientSummary,
  collectDefaultMetrics as collectPromClientDefaults,
  type DefaultMetricsCollectorConfiguration as PromClientDefaultsConfiguration,
} from '../promClient/index';
import { CLIENT_NAME_ERRORS, labelTexts } from '../promClient/validation';
import { collectEventLoopUtilization, type EventLoopUtilizationOptions } from './eventLoopUtilization';

export {
  Registry,
  register,
  type RegistryContentType,
  type CounterConfiguration,
  type IncreaseDataWithExemplar,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type ObserveDataWithExemplar,
  type Exemplar,
  type SummaryConfiguration,
  type MetricConfiguration,
  type LabelValues,
  type MetricValue,
  type MetricObjectWithValues,
  type Aggregator,
  aggregators,
  type PushgatewayOptions,
  type PushgatewayParameters,
  linearBuckets,
  exponentialBuckets,
  validateMetricName,
  prometheusContentType,
  openMetricsContentType,
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
} from '../promClient/index';
export { Pushgateway } from './pushgateway';
export { WorkerRegistry } from './workerRegistry';

/** The type of a metric, as its data gives it (0.16: a string union, 15: an enum in its types only). */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/**
 * A counter. Declared without label names (`Counter` alone) it takes no labels. An
 * exemplar's value is the series' value after the increment (prom-client 15: the
 * increment).
 */
export class Counter<T extends string = never> extends PromClientCounter<T> {
  /** @internal */
  static override readonly nameErrors = CLIENT_NAME_ERRORS;
  protected override readonly exemplarAtTotal = true;
}

/** A gauge. Declared without label names (`Gauge` alone) it takes no labels. */
export class Gauge<T extends string = never> extends PromClientGauge<T> {
  /** @internal */
  static override readonly nameErrors = CLIENT_NAME_ERRORS;
}

/** A histogram. Declared without label names (`Histogram` alone) it takes no labels. */
export class Histogram<T extends string = never> extends PromClientHistogram<T> {
  /** @internal */
  static override readonly nameErrors = CLIENT_NAME_ERRORS;
}

/** A summary. Declared without label names (`Summary` alone) it takes no labels. */
export class Summary<T extends string = never> extends PromClientSummary<T> {
  /** @internal */
  static override readonly nameErrors = CLIENT_NAME_ERRORS;
}

/**
 * The metrics of a Node `cluster` (prom-client 15's AggregatorRegistry, renamed): the
 * primary's own metrics count with its workers', and workers that call shutdown() hand
 * their last sums over. Messages of both generations are spoken, so primary and
 * workers may run prom-client 15, @prometheus-io/client 0.16 or slotmetrics.
 */
export class ClusterRegistry extends PromClientAggregatorRegistry {
  protected override readonly includesPrimary = true;
}

/** @deprecated 0.16's old name of ClusterRegistry. */
export const AggregatorRegistry = ClusterRegistry;
/** @deprecated 0.16's old name of ClusterRegistry. */
export type AggregatorRegistry = ClusterRegistry;

/** The global registry's content type; setting it sets that. */
export declare let contentType: RegistryContentType;
defineModuleProperties(exports);

export interface DefaultMetricsCollectorConfiguration
  extends PromClientDefaultsConfiguration,
    Omit<EventLoopUtilizationOptions, 'prefix' | 'labels'> {}

/**
 * prom-client's default metrics, and 0.16's event-loop utilization summary and
 * histogram, into `register` (default: the global registry). Returns a function that
 * stops the sampling.
 */
export function collectDefaultMetrics(config: DefaultMetricsCollectorConfiguration = {}): () => void {
  const {
    eventLoopUtilizationTimeout,
    eventLoopUtilizationBuckets,
    eventLoopUtilizationPercentiles,
    eventLoopUtilizationAgeBuckets,
    eventLoopUtilizationMaxAgeSeconds,
    ...promClient
  } = config;
  const stopDefaults = collectPromClientDefaults(promClient);
  const stopUtilization = collectEventLoopUtilization(config.register ?? globalRegistry, {
    prefix: config.prefix,
    labels: labelTexts(config.labels),
    eventLoopUtilizationTimeout,
    eventLoopUtilizationBuckets,
    eventLoopUtilizationPercentiles,
    eventLoopUtilizationAgeBuckets,
    eventLoopUtilizationMaxAgeSeconds,
  });
  return () => {
    stopDefaults();
    stopUtilization();
  };
}
