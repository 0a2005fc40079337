// @prometheus-io/client 0.16's declarations, used as prom-client's README and TypeScript
// wrappers use them: every type it exports, with its generics. This file compiles
// unchanged against @prometheus-io/client 0.16.1 itself.
import * as client from 'slotmetrics/client';
import type {
  Aggregator,
  Charset,
  CollectFunction,
  Collector,
  CounterConfiguration,
  DefaultMetricsCollectorConfiguration,
  GaugeConfiguration,
  HistogramConfiguration,
  IncreaseDataWithExemplar,
  LabelValues,
  Metric,
  MetricConfiguration,
  MetricObject,
  MetricObjectWithValues,
  MetricValue,
  MetricValueWithName,
  ObserveDataWithExemplar,
  OpenMetricsContentType,
  OpenMetricsMIME,
  OpenMetricsVersion,
  PrometheusContentType,
  PrometheusMIME,
  PrometheusMetricsVersion,
  RegistryContentType,
  SummaryConfiguration,
} from 'slotmetrics/client';

// Content types, as literal types built from their parts.
const prometheus: PrometheusContentType = client.Registry.PROMETHEUS_CONTENT_TYPE;
const openMetrics: OpenMetricsContentType = `${'application/openmetrics-text' satisfies OpenMetricsMIME}; version=${'1.0.0' satisfies OpenMetricsVersion}; charset=${'utf-8' satisfies Charset}`;
const parts: [PrometheusMIME, PrometheusMetricsVersion] = ['text/plain', '0.0.4'];
const either: RegistryContentType[] = [prometheus, openMetrics, client.prometheusContentType, client.openMetricsContentType];

// Registries bound to a content type; the global one is 0.0.4 text.
const text: client.Registry = client.register;
const om = new client.Registry<OpenMetricsContentType>();
om.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
const merged: client.Registry = client.Registry.merge([text, new client.Registry()]);
const aggregator = new client.ClusterRegistry<PrometheusContentType>();
const workers = new client.WorkerRegistry<PrometheusContentType>();
client.ClusterRegistry.setRegistries([text, om]);

// A Pushgateway generic over its registry's content type (nestjs-prometheus's injection token).
const gateway: client.Pushgateway<RegistryContentType> = new client.Pushgateway('http://127.0.0.1:9091', {}, om);
const params: client.Pushgateway.Parameters = { jobName: 'batch', groupings: { instance: 'a' } };
void gateway.pushAdd(params).then(({ resp, body }) => [resp, body]);

// Metric<string> in signatures, as wrappers keep their metrics.
const metrics = new Map<string, Metric<string>>();
const config: CounterConfiguration<'code' | 'method'> = { name: 'requests_total', help: 'Requests', labelNames: ['code', 'method'] as const };
const requests = new client.Counter(config);
metrics.set('requests', requests);
function describe(metric: Metric<string>): Promise<MetricObjectWithValues<MetricValue<string>>> {
  return metric.get();
}
void describe(requests);

// Label objects with number values.
const labels: LabelValues<'code' | 'method'> = { code: 200, method: 'GET' };
requests.inc(labels);
requests.inc({ code: 404 }, 2);
const child: client.Counter.Internal = requests.labels({ code: 500 });
child.inc();
const increase: IncreaseDataWithExemplar<'code'> = { value: 1, labels: { code: 200 } };

const gaugeConfig: GaugeConfiguration<'pool'> = { name: 'pool_size', help: 'Pool', labelNames: ['pool'], collect: collectPool };
function collectPool(this: client.Gauge<'pool'>): void {
  this.set({ pool: 1 }, 3);
}
const pool = new client.Gauge(gaugeConfig);
const gaugeChild: client.Gauge.Internal<'pool'> = pool.labels('main');
gaugeChild.set(1);

const histogramConfig: HistogramConfiguration<'route'> = { name: 'latency_seconds', help: 'Latency', labelNames: ['route'], buckets: [0.1, 1] };
const latency = new client.Histogram(histogramConfig);
const observed: ObserveDataWithExemplar<'route'> = { value: 0.2, labels: { route: '/' } };
const histogramChild: client.Histogram.Internal<'route'> = latency.labels('/');
histogramChild.observe(0.5);
void latency.get().then((data: MetricObjectWithValues<MetricValueWithName<'route'>>) => data.values.map((v) => v.metricName));

const summaryConfig: SummaryConfiguration<'route'> = {
  name: 'sizes',
  help: 'Sizes',
  labelNames: ['route'],
  percentiles: [0.5],
  maxAgeSeconds: 60,
  ageBuckets: 5,
};
const summaryChild: client.Summary.Internal<'route'> = new client.Summary(summaryConfig).labels('/');
summaryChild.observe(1);

// The rest of the declarations.
const defaults: DefaultMetricsCollectorConfiguration<PrometheusContentType> = { register: text, prefix: 'app_', labels: { instance: 1 } };
client.collectDefaultMetrics(defaults);
const collect: CollectFunction<client.Counter<'code'>> = function () {
  this.inc({ code: 200 });
};
const collector: Collector = () => {};
const kind: Aggregator = 'sum';
const base: MetricConfiguration<'a'> = { name: 'base', help: 'Base', aggregator: kind };
const listed: MetricObject[] = text.getMetricsAsArray() as MetricObject[];
const metricType: client.MetricType = 'counter';

export { workers, aggregator, base, collect, collector, either, increase, listed, merged, metricType, observed, parts };
