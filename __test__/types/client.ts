// slotmetrics/client types: @prometheus-io/client 0.16's, whose metric classes take no
// labels unless label names are declared, and whose MetricType is a string union.
import {
  AggregatorRegistry,
  type ClusterRegistry,
  Counter,
  Gauge,
  Histogram,
  type MetricType,
  Pushgateway,
  Registry,
  Summary,
  WorkerRegistry,
} from 'slotmetrics/client';

const bare: Counter = new Counter({ name: 'types_bare_total', help: 'h' });
bare.inc();
bare.inc(2);
// @ts-expect-error a counter declared without label names takes no labels (0.16)
bare.inc({ route: '/' });

const labeled = new Counter<'route'>({ name: 'types_labeled_total', help: 'h', labelNames: ['route'] });
labeled.inc({ route: '/' });
// @ts-expect-error an undeclared label name
labeled.inc({ method: 'GET' });

const gauge: Gauge = new Gauge({ name: 'types_gauge', help: 'h' });
gauge.set(1);
// @ts-expect-error no labels on a bare gauge
gauge.set({ pool: 'a' }, 1);
new Histogram({ name: 'types_histogram', help: 'h' }).observe(1);
new Summary({ name: 'types_summary', help: 'h' }).observe(1);

const type: MetricType = 'counter';
// @ts-expect-error MetricType is a string union, not an enum
const notAType: MetricType = 0;

const cluster: ClusterRegistry = new AggregatorRegistry();
void cluster.clusterMetrics();
void cluster.shutdown();
void new WorkerRegistry().workerMetrics();
WorkerRegistry.setRegistries(new Registry());
new Pushgateway('http://127.0.0.1:9091', new Registry());
void [type, notAType];
