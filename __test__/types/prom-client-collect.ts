// slotmetrics/prom-client types: a collect callback gets its metric as `this`;
// exemplars take prom-client's data forms.
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  Summary,
  aggregators,
  contentType,
  type IncreaseDataWithExemplar,
  type ObserveDataWithExemplar,
} from 'slotmetrics/prom-client';

new Gauge({
  name: 'typed_collect',
  help: 'h',
  collect() {
    this.set(1);
    // @ts-expect-error a gauge has no observe()
    this.observe(1);
  },
});

new Histogram({
  name: 'typed_collect_histogram',
  help: 'h',
  labelNames: ['route'],
  collect() {
    this.observe({ route: '/' }, 1);
  },
});

new Summary({
  name: 'typed_collect_summary',
  help: 'h',
  labelNames: ['route'],
  percentiles: [0.5],
  maxAgeSeconds: 60,
  ageBuckets: 5,
  collect() {
    this.observe({ route: '/' }, 1);
  },
})
  .labels('/a')
  .observe(2);

const aggregated = AggregatorRegistry.aggregate([[{ name: 'x', help: 'h', type: 'gauge', aggregator: 'max', values: [{ value: 1, labels: {} }] }]]);
void aggregated.metrics();
void aggregators.sum;

// Exemplars: the data forms of inc() and observe(), and the timer taking exemplar labels.
const openMetrics = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
const traced = new Counter({ name: 'typed_traced', help: 'h', labelNames: ['code'], enableExemplars: true, registers: [openMetrics] });
const increase: IncreaseDataWithExemplar<'code'> = { labels: { code: 200 }, value: 2, exemplarLabels: { code: 'x' } };
traced.inc(increase);
traced.inc({ code: 200 }, 1);
const timed = new Histogram({ name: 'typed_timed', help: 'h', enableExemplars: true, registers: [openMetrics] });
const observation: ObserveDataWithExemplar<string> = { value: 0.5, exemplarLabels: { traceId: 'abc' } };
timed.observe(observation);
// @ts-expect-error an observation needs a value
timed.observe({ exemplarLabels: { traceId: 'abc' } });
timed.startTimer({}, { traceId: 'abc' })({}, { spanId: 'def' });
void (async () => (await traced.get()).values[0].exemplar?.labelSet)();
const current: string = contentType;
void current;

// A registry's metrics: what prom-client users read off them, and a cast back to the kind.
const found = openMetrics.getSingleMetric('typed_traced');
if (found !== undefined && 'labelNames' in found) {
  const names: readonly string[] = found.labelNames;
  void names;
  (found as Counter<'code'>).inc({ code: 200 });
}
void openMetrics.getMetricsAsArray().map((metric) => metric.name);
