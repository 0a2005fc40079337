// Compile-time contract of the schema API, checked by `npm run test:types` (tsc).
// Every `@ts-expect-error` must meet an error, or tsc fails: each marks a misuse the
// types have to reject.
import {
  counterSchema,
  gaugeSchema,
  gaugeSchemaFloat,
  histogramSchema,
  type Counter,
  type CounterFamily,
  type FloatGauge,
  type Histogram,
  type Summary,
  summarySchema,
  type MetricsServer,
  metrics,
  registry,
  serve,
} from 'slotmetrics';

const requests = counterSchema('types_requests_total')
  .help('h')
  .staticLabel('service', 'api')
  .requireDynamicKey('status_code')
  .requireDynamicKey('method')
  .build();

const family: CounterFamily<'status_code' | 'method'> = requests;
const handle: Counter = family.with({ status_code: '200', method: 'GET' });
handle.increment();
handle.add(2);

// @ts-expect-error a missing dynamic key
requests.with({ status_code: '200' });
// @ts-expect-error an extra key
requests.with({ status_code: '200', method: 'GET', route: '/' });
// @ts-expect-error a misspelt key
requests.with({ status: '200', method: 'GET' });
// @ts-expect-error label values are strings
requests.with({ status_code: 200, method: 'GET' });
// @ts-expect-error a labeled metric has no increment() of its own
requests.increment();

// No dynamic keys: build() gives the handle itself.
const total: Counter = counterSchema('types_total').build();
total.increment();
// @ts-expect-error an unlabeled metric has no with()
total.with({});

const memory = gaugeSchema('types_memory_bytes').build();
memory.set(1n);
memory.set(2);
memory.inc();
memory.dec(3n);
memory.setToCurrentTime();
// @ts-expect-error gauges take numbers or bigints
memory.set('1');

gaugeSchema('types_queue').multiprocess('livesum').build().set(1);
gaugeSchemaFloat('types_load').multiprocess('max').build().set(0.5);
// @ts-expect-error only gauges have a multi-process mode
counterSchema('types_multiprocess_total').multiprocess('max');
// @ts-expect-error the modes are named: 'average', not 'mean'
gaugeSchema('types_multiprocess').multiprocess('mean');

const cpu: FloatGauge = gaugeSchemaFloat('types_cpu').requireDynamicKey('cpu_id').build().with({ cpu_id: '0' });
cpu.set(45.7);
// @ts-expect-error float gauges take numbers only
cpu.set(1n);

const latency = histogramSchema('types_latency_seconds').buckets([0.1, 1]).requireDynamicKey('route').build();
const observed: Histogram = latency.with({ route: '/users' });
observed.observe(0.042);
const end: () => number = observed.startTimer();
end();

const sizes = summarySchema('types_sizes').percentiles([0.5, 0.99]).slidingWindow(60, 5).requireDynamicKey('queue').build();
const size: Summary = sizes.with({ queue: 'a' });
size.observe(3);
// @ts-expect-error percentiles() exists on summary schemas only
histogramSchema('types_no_percentiles').percentiles([0.5]);

// @ts-expect-error buckets() exists on histogram schemas only
counterSchema('types_no_buckets_total').buckets([1]);
// @ts-expect-error keys are strings
counterSchema('types_bad_key_total').requireDynamicKey(1);

// Builder steps keep the type (and keys) whatever their order.
histogramSchema('types_order').requireDynamicKey('a').help('h').buckets([1]).staticLabel('s', 'v').build().with({ a: '1' });

async function serveTypes(): Promise<void> {
  const server: MetricsServer = await serve({ port: 0, host: '127.0.0.1', path: '/metrics' });
  const text: string = await registry.metrics({ format: 'openmetrics' });
  // @ts-expect-error only the two formats exist
  await registry.metrics({ format: 'json' });
  // @ts-expect-error unknown options are refused
  await serve({ prot: 1 });
  void text;
  await server.unref().close();
}
void serveTypes;

// metrics.* helpers: names, values and plain label objects.
metrics.increment('api_requests', { method: 'POST', status: 200, ok: true });
metrics.add('bytes', 512);
metrics.gauge('queue_size', 42);
metrics.histogram('request_duration', 0.25, { endpoint: '/users' });
metrics.configure({ prefix: '' });
// @ts-expect-error a gauge needs its value
metrics.gauge('queue_size');
// @ts-expect-error label values are strings, numbers or booleans
metrics.increment('api_requests', { method: null });
// @ts-expect-error names are strings
metrics.increment(42);

// staticLabels() keeps the chain's type and keys.
counterSchema('types_static_total').staticLabels({ region: 'eu', tier: 'web' }).requireDynamicKey('code').build().with({ code: '200' });
