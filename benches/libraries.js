// The libraries under test, each set up the way its documentation shows, with
// the same metrics: a counter with labels {status_code, method}, a float gauge and a
// histogram with labels {route} and 12 buckets, a native (exponential) histogram with
// labels {route} (bucket factor 1.1, 160 buckets; the OTel SDK's exponential histogram
// of 160 buckets; prom-client has none), a summary with labels {route} and
// prom-client's quantiles; for the metrics.* cases, a gauge and a histogram with labels
// {status_code, method}; in prom-client's API, a counter with exemplars. The OTel SDK
// has no summary, and takes exemplars only from the active span, not as labels.
'use strict';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];
const HELPER_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function slotmetrics() {
  const { counterSchema, gaugeSchemaFloat, histogramSchema, summarySchema, metrics } = require('slotmetrics');
  const counter = counterSchema('bench_requests_total').help('h').requireDynamicKey('status_code').requireDynamicKey('method').build();
  const unlabeled = counterSchema('bench_events_total').help('h').build();
  const gauge = gaugeSchemaFloat('bench_queue_size').help('h').build();
  const histogram = histogramSchema('bench_duration_seconds').help('h').buckets(BUCKETS).requireDynamicKey('route').build();
  const summary = summarySchema('bench_latency_seconds').help('h').requireDynamicKey('route').build();
  const native = histogramSchema('bench_native_seconds').help('h').native().requireDynamicKey('route').build();
  return {
    unlabeledIncrement: () => () => unlabeled.increment(),
    cachedIncrement: () => {
      const handle = counter.with({ status_code: '200', method: 'GET' });
      return () => handle.increment();
    },
    labeledIncrement: () => (status, method) => counter.with({ status_code: status, method }).increment(),
    gaugeSet: () => (value) => gauge.set(value),
    cachedObserve: () => {
      const handle = histogram.with({ route: '/users' });
      return (value) => handle.observe(value);
    },
    labeledObserve: () => (value, route) => histogram.with({ route }).observe(value),
    cachedNativeObserve: () => {
      const handle = native.with({ route: '/users' });
      return (value) => handle.observe(value);
    },
    labeledNativeObserve: () => (value, route) => native.with({ route }).observe(value),
    summaryObserve: () => (value, route) => summary.with({ route }).observe(value),
    helperIncrement: () => (status, method) => metrics.increment('bench_helper_requests', { status_code: status, method }),
    helperGauge: () => (value, status, method) => metrics.gauge('bench_helper_queue', value, { status_code: status, method }),
    helperHistogram: () => (value, status, method) => metrics.histogram('bench_helper_duration', value, { status_code: status, method }),
    read: async (series) => {
      const text = await require('slotmetrics').registry.metrics();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
  };
}

/**
 * prom-client's API, from prom-client itself or from slotmetrics/prom-client (`native`:
 * with its native histograms, which prom-client lacks).
 */
function promClientApi(client, { native: hasNative = false } = {}) {
  const registry = new client.Registry();
  const counter = new client.Counter({ name: 'bench_requests_total', help: 'h', labelNames: ['status_code', 'method'], registers: [registry] });
  const unlabeled = new client.Counter({ name: 'bench_events_total', help: 'h', registers: [registry] });
  const gauge = new client.Gauge({ name: 'bench_queue_size', help: 'h', registers: [registry] });
  const histogram = new client.Histogram({
    name: 'bench_duration_seconds',
    help: 'h',
    labelNames: ['route'],
    buckets: BUCKETS,
    registers: [registry],
  });
  const summary = new client.Summary({ name: 'bench_latency_seconds', help: 'h', labelNames: ['route'], registers: [registry] });
  const native = hasNative
    ? new client.Histogram({ name: 'bench_native_seconds', help: 'h', labelNames: ['route'], native: true, registers: [registry] })
    : undefined;
  // What code calling metrics.*() keeps instead: the metric objects, with 2 labels.
  const labeledGauge = new client.Gauge({ name: 'bench_helper_queue', help: 'h', labelNames: ['status_code', 'method'], registers: [registry] });
  const labeledHistogram = new client.Histogram({
    name: 'bench_helper_duration',
    help: 'h',
    labelNames: ['status_code', 'method'],
    buckets: HELPER_BUCKETS,
    registers: [registry],
  });
  // Exemplars need an OpenMetrics registry.
  const traced = new client.Counter({
    name: 'bench_traced_requests_total',
    help: 'h',
    labelNames: ['status_code', 'method'],
    enableExemplars: true,
    registers: [new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE)],
  });
  return {
    unlabeledIncrement: () => () => unlabeled.inc(),
    // prom-client's closest thing to a kept handle: a child from labels().
    cachedIncrement: () => {
      const child = counter.labels('200', 'GET');
      return () => child.inc();
    },
    labeledIncrement: () => (status, method) => counter.inc({ status_code: status, method }),
    exemplarIncrement: () => (status, method, traceId) =>
      traced.inc({ labels: { status_code: status, method }, value: 1, exemplarLabels: { traceId } }),
    gaugeSet: () => (value) => gauge.set(value),
    cachedObserve: () => {
      const child = histogram.labels('/users');
      return (value) => child.observe(value);
    },
    labeledObserve: () => (value, route) => histogram.observe({ route }, value),
    ...(native && {
      cachedNativeObserve: () => {
        const child = native.labels('/users');
        return (value) => child.observe(value);
      },
      labeledNativeObserve: () => (value, route) => native.observe({ route }, value),
    }),
    summaryObserve: () => (value, route) => summary.observe({ route }, value),
    helperIncrement: () => (status, method) => counter.inc({ status_code: status, method }),
    helperGauge: () => (value, status, method) => labeledGauge.set({ status_code: status, method }, value),
    helperHistogram: () => (value, status, method) => labeledHistogram.observe({ status_code: status, method }, value),
    read: async (series) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => series.startsWith(m.name));
      return metric?.values.find((v) => Object.keys(v.labels).length === 0)?.value;
    },
  };
}

function openTelemetry() {
  const { AggregationType, MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
  // Without a reader the SDK keeps no storage and records nothing; this one just holds it.
  class HoldingReader extends MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
  }
  const provider = new MeterProvider({
    readers: [new HoldingReader()],
    views: [
      {
        instrumentName: 'bench_native_seconds',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
      },
    ],
  });
  const meter = provider.getMeter('bench');
  const counter = meter.createCounter('bench_requests');
  const unlabeled = meter.createCounter('bench_events');
  const gauge = meter.createGauge('bench_queue_size');
  const histogram = meter.createHistogram('bench_duration_seconds', { advice: { explicitBucketBoundaries: BUCKETS } });
  const native = meter.createHistogram('bench_native_seconds');
  const helperHistogram = meter.createHistogram('bench_helper_duration', { advice: { explicitBucketBoundaries: HELPER_BUCKETS } });
  return {
    unlabeledIncrement: () => () => unlabeled.add(1),
    // The JS SDK has no bound instruments: reusing one attributes object is the closest.
    cachedIncrement: () => {
      const attributes = { status_code: '200', method: 'GET' };
      return () => counter.add(1, attributes);
    },
    labeledIncrement: () => (status, method) => counter.add(1, { status_code: status, method }),
    gaugeSet: () => (value) => gauge.record(value),
    cachedObserve: () => {
      const attributes = { route: '/users' };
      return (value) => histogram.record(value, attributes);
    },
    labeledObserve: () => (value, route) => histogram.record(value, { route }),
    cachedNativeObserve: () => {
      const attributes = { route: '/users' };
      return (value) => native.record(value, attributes);
    },
    labeledNativeObserve: () => (value, route) => native.record(value, { route }),
    helperIncrement: () => (status, method) => counter.add(1, { status_code: status, method }),
    helperGauge: () => (value, status, method) => gauge.record(value, { status_code: status, method }),
    helperHistogram: () => (value, status, method) => helperHistogram.record(value, { status_code: status, method }),
    read: async () => undefined,
  };
}

module.exports = {
  slotmetrics: slotmetrics,
  'prom-client': () => promClientApi(require('prom-client')),
  // The same code as prom-client's, switched by its import.
  'slotmetrics/prom-client': () => promClientApi(require('slotmetrics/prom-client'), { native: true }),
  opentelemetry: openTelemetry,
};
