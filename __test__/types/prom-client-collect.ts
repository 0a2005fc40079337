// slotmetrics/prom-client types: a collect callback gets its metric as `this`.
import { Gauge, Histogram } from 'slotmetrics/prom-client';

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
