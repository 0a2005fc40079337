/**
 * slotmetrics/client: the API of @prometheus-io/client 0.16, prom-client's successor,
 * on the slotmetrics engine. Switching is one line: require('@prometheus-io/client') →
 * require('slotmetrics/client'). It is slotmetrics/prom-client (prom-client 15's API)
 * with what 0.16 changed where one entry cannot serve both (docs/migrating.md,
 * "@prometheus-io/client 0.16"): metric classes whose label-name type defaults to none, counter
 * exemplars valued at the series' total, a ClusterRegistry whose primary counts its own
 * metrics, a WorkerRegistry, and the event-loop utilization default metrics.
 *
 * @module slotmetrics/client
 */

import { globalRegistry, type PrometheusContentType, Registry as PromClientRegistry, type RegistryContentType } from '../promClient/registry';
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
  type Charset,
  type OpenMetricsContentType,
  type OpenMetricsMIME,
  type OpenMetricsVersion,
  type PrometheusContentType,
  type PrometheusMIME,
  type PrometheusMetricsVersion,
  type RegistryContentType,
  type CollectFunction,
  type Collector,
  type MetricObject,
  type MetricValueWithName,
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

/**
 * A set of metrics exposed together. As in 0.16's declarations, its content type is
 * either, whatever `T` says: the parameter is there for code that names one.
 */
export type Registry<_T extends RegistryContentType = RegistryContentType> = PromClientRegistry<RegistryContentType>;
/** `new Registry(contentType?)`: a set of metrics exposed together. */
export const Registry = PromClientRegistry;

/** The global registry, slotmetrics' default one. */
export const register: Registry = globalRegistry;

/** Any metric of this entry. */
export type Metric<T extends string = string> = Counter<T> | Gauge<T> | Summary<T> | Histogram<T>;

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

export namespace Counter {
  /** The series `labels(...)` gives. */
  export type Internal = PromClientCounter.Internal;
}

/** A gauge. Declared without label names (`Gauge` alone) it takes no labels. */
export class Gauge<T extends string = never> extends PromClientGauge<T> {
  /** @internal */
  static override readonly nameErrors = CLIENT_NAME_ERRORS;
}

export namespace Gauge {
  /** The series `labels(...)` gives. */
  export type Internal<T extends string> = PromClientGauge.Internal<T>;
}

/** A histogram. Declared without label names (`Histogram` alone) it takes no labels. */
export class Histogram<T extends string = never> extends PromClientHistogram<T> {
  /** @internal */
  static override readonly nameErrors = CLIENT_NAME_ERRORS;
}

export namespace Histogram {
  /** The series `labels(...)` gives. */
  export type Internal<T extends string> = PromClientHistogram.Internal<T>;
}

/** A summary. Declared without label names (`Summary` alone) it takes no labels. */
export class Summary<T extends string = never> extends PromClientSummary<T> {
  /** @internal */
  static override readonly nameErrors = CLIENT_NAME_ERRORS;
}

export namespace Summary {
  /** The series `labels(...)` gives. */
  export type Internal<T extends string> = PromClientSummary.Internal<T>;
}

/**
 * The metrics of a Node `cluster` (prom-client 15's AggregatorRegistry, renamed): the
 * primary's own metrics count with its workers', and workers that call shutdown() hand
 * their last sums over. Messages of both generations are spoken, so primary and
 * workers may run prom-client 15, @prometheus-io/client 0.16 or slotmetrics.
 */
export class ClusterRegistry<T extends RegistryContentType = PrometheusContentType> extends PromClientAggregatorRegistry<T> {
  protected override readonly includesPrimary = true;
}

/** @deprecated 0.16's old name of ClusterRegistry. */
export const AggregatorRegistry = ClusterRegistry;
/** @deprecated 0.16's old name of ClusterRegistry. */
export type AggregatorRegistry<T extends RegistryContentType = PrometheusContentType> = ClusterRegistry<T>;

/** The global registry's content type; setting it sets that. */
export declare let contentType: RegistryContentType;
defineModuleProperties(exports);

/** `collectDefaultMetrics()`'s options: 0.16's, with the event-loop utilization metrics'. */
export interface DefaultMetricsCollectorConfiguration<T extends RegistryContentType = RegistryContentType>
  extends Omit<PromClientDefaultsConfiguration<T>, 'register'>,
    Omit<EventLoopUtilizationOptions, 'prefix' | 'labels'> {
  /** The registry the metrics go into (default: the global registry). */
  register?: Registry<T>;
}

/**
 * prom-client's default metrics, and 0.16's event-loop utilization summary and
 * histogram, into `register` (default: the global registry). Returns a function that
 * stops the sampling.
 */
export function collectDefaultMetrics<T extends RegistryContentType>(config: DefaultMetricsCollectorConfiguration<T> = {}): () => void {
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
