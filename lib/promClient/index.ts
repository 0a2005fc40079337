// slotmetrics/prom-client: prom-client 15's API on the slotmetrics engine. Switching
// is one line: require('prom-client') → require('slotmetrics/prom-client'). Metrics
// made here live in shared memory (every worker thread sees them) and slotmetrics'
// serve() exposes them from Rust. README "Migrating from prom-client" lists what differs.

import { collectDefaultMetrics as collectEngineDefaults, type DefaultMetricsOptions } from '../defaultMetrics';
import { globalRegistry, Registry } from './registry';

export { Registry, globalRegistry as register };
export type { RegistryContentType } from './registry';
export { Counter, type CounterConfiguration } from './counter';
export { Gauge, type GaugeConfiguration } from './gauge';
export { Histogram, type HistogramConfiguration } from './histogram';
export { Summary, type SummaryConfiguration } from './summary';
export type { LabelValues, MetricConfiguration, MetricValue, MetricObjectWithValues, Aggregator } from './metric';
export { AggregatorRegistry } from './cluster';
export { aggregators } from './aggregators';
export { Pushgateway, type PushgatewayOptions, type PushgatewayParameters } from './pushgateway';
export { linearBuckets, exponentialBuckets } from './buckets';
export { validateMetricName } from './validation';

export const prometheusContentType = Registry.PROMETHEUS_CONTENT_TYPE;
export const openMetricsContentType = Registry.OPENMETRICS_CONTENT_TYPE;

export interface DefaultMetricsCollectorConfiguration extends Omit<DefaultMetricsOptions, 'registry'> {
  register?: Registry;
}

/**
 * prom-client's default metrics (same names, types and labels), into `register`
 * (default: the global registry). Returns a function that stops the sampling.
 */
export function collectDefaultMetrics(config: DefaultMetricsCollectorConfiguration = {}): () => void {
  const { register = globalRegistry, ...options } = config;
  return collectEngineDefaults({ ...options, registry: register.engine });
}
