// slotmetrics/prom-client types: a collect callback gets its metric as `this`.
import { AggregatorRegistry, Gauge, Histogram, Summary, aggregators } from 'slotmetrics/prom-client';

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
}).labels('/a').observe(2);

const aggregated = AggregatorRegistry.aggregate([[{ name: 'x', help: 'h', type: 'gauge', aggregator: 'max', values: [{ value: 1, labels: {} }] }]]);
void aggregated.metrics();
void aggregators.sum;
