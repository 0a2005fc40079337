/**
 * slotmetrics/otel: the OpenTelemetry metrics API on slot memory. Instruments of
 * `@opentelemetry/api` record into slotmetrics' registry, exposed by `serve()`,
 * `registry.metrics()` and the exporters beside every other metric.
 *
 * @module slotmetrics/otel
 */

export { MeterProvider, type MeterProviderOptions, DEFAULT_HISTOGRAM_BUCKETS } from './meterProvider';
export { SlotMeter } from './meter';
export type { TranslationStrategy } from './names';
export type { Aggregation, View } from './views';
export { SlotmetricsMetricProducer, type MetricProducerOptions } from './producer';
