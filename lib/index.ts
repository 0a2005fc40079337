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
} from './schema';
export { Counter } from './counter';
export { Gauge, FloatGauge } from './gauge';
export { Histogram, DEFAULT_BUCKETS } from './histogram';
export { Summary, DEFAULT_PERCENTILES } from './summary';
export type { Labels } from './labels';
export {
  registry,
  Registry,
  type RegistryOptions,
  PROMETHEUS_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  type Format,
  type MetricsOptions,
  type MetricJSON,
  type MetricSampleJSON,
} from './registry';
export { serve, type ServeOptions, type HealthOptions, type MetricsServer } from './server';
export { health } from './health';
export { collectDefaultMetrics, type DefaultMetricsOptions } from './defaultMetrics';
export { startReporter, type ReporterOptions } from './reporter';
export { shutdown } from './lifecycle';
export { httpMetrics, HttpMetrics, type HttpMetricsOptions } from './httpMetrics';
export { pushgateway, Pushgateway, type PushgatewayOptions } from './pushgateway';
export { log, type Logger, type LogLevel, type LogFields, type LogOptions } from './log';
export { metrics, HELPER_BUCKETS, type HelperLabels, type MetricsHelpers, type HelperOptions } from './helpers';
