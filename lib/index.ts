/**
 * slotmetrics: Prometheus metrics whose values live in memory Rust owns and every
 * JavaScript thread writes with plain typed-array stores. Schemas (`counterSchema()`, …)
 * make metrics; `serve()` exposes them from Rust; the exporters push them.
 *
 * @module slotmetrics
 */

export {
  counterSchema,
  gaugeSchema,
  gaugeSchemaFloat,
  histogramSchema,
  summarySchema,
  setCardinalityLimit,
  MetricSchema,
  MetricFamily,
  type Built,
  type BuildOptions,
  type CounterFamily,
  type GaugeFamily,
  type FloatGaugeFamily,
  type HistogramFamily,
  type SummaryFamily,
  type HandleOf,
  type MetricType,
  type GaugeMultiprocessMode,
} from './metrics/schema';
export { setErrorPolicy, errorPolicy, type ErrorPolicy } from './metrics/errorPolicy';
export { Counter } from './metrics/counter';
export { Gauge, FloatGauge } from './metrics/gauge';
export { Histogram, DEFAULT_BUCKETS } from './metrics/histogram';
export type { NativeOptions } from './metrics/nativeHistogram';
export { Summary, DEFAULT_PERCENTILES } from './metrics/summary';
export type { Labels } from './metrics/labels';
export {
  registry,
  Registry,
  type RegistryOptions,
  PROMETHEUS_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  type Format,
  type TextFormat,
  type MetricsOptions,
  type Exposition,
  type MetricJSON,
  type MetricSampleJSON,
} from './exposition/registry';
export { serve, type ServeOptions, type HealthOptions, type MetricsServer } from './exposition/server';
export { health } from './integrations/health';
export { collectDefaultMetrics, type DefaultMetricsOptions } from './integrations/defaultMetrics';
export { startReporter, type ReporterOptions } from './exposition/reporter';
export { shutdown } from './base/lifecycle';
export { httpMetrics, HttpMetrics, type HttpMetricsOptions } from './integrations/httpMetrics';
export { pushgateway, Pushgateway, type PushgatewayOptions } from './exposition/pushgateway';
export { log, type Logger, type LogLevel, type LogFields, type LogOptions } from './logging/log';
export { metrics, HELPER_BUCKETS, type HelperLabels, type MetricsHelpers, type HelperOptions } from './metrics/helpers';
export { exportOtlp, type OtlpExportOptions, type MetricsExporter, type ExportResult, type OtlpProtocol, type Temporality } from './export/otlp';
export { exportRemoteWrite, type RemoteWriteOptions } from './export/remoteWrite';
export { exportDatadog, type DatadogOptions } from './export/datadog';
export { exportCloudWatch, type CloudWatchOptions } from './export/cloudwatch';
export { exportGoogleCloud, type GoogleCloudOptions } from './export/googleCloud';
export type { SigV4Options } from './export/exporter';
