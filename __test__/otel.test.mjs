// slotmetrics/otel: the OpenTelemetry metrics API over slot memory. Each test has a
// registry of its own; the exposition is read back and checked by promtool and the
// strict OpenMetrics parser.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Registry } from 'slotmetrics';
import { MeterProvider } from 'slotmetrics/otel';
import { parseOpenMetricsStrict, parseSamples, promtoolCheck, runtime, unsupportedOn } from './helpers.mjs';

const SCOPE = 'otel_scope_name="test",otel_scope_version="1.0.0"';

/** A provider over a registry of its own; `meter` is its meter of scope test@1.0.0. */
function setup(options = {}) {
  const registry = new Registry();
  const provider = new MeterProvider({ registry, withoutTargetInfo: true, ...options });
  return { registry, provider, meter: provider.getMeter('test', '1.0.0') };
}

/** Collects the SLOTMETRICS_OTEL warnings emitted while `work` runs. */
async function warningsOf(work) {
  const seen = [];
  const listener = (warning) => {
    if (warning.code === 'SLOTMETRICS_OTEL') seen.push(warning.message);
  };
  process.on('warning', listener);
  try {
    await work();
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

// What promtool's linter says of names that follow OpenTelemetry's semantic conventions
// rather than Prometheus's (`db.client.connection.count`), or of instruments without a
// description: style, not a body it refuses (that is status 1).
const NAMING_LINTS = [/ no help text$/, / non-histogram and non-summary metrics should not have "_count" suffix$/];

/** Checks a registry's exposition with both real consumers. */
async function checkWithConsumers(registry) {
  const text = await registry.metrics();
  const promtool = promtoolCheck(text);
  const findings = promtool.output.split('\n').filter((line) => line !== '');
  assert.ok(promtool.status === 0 || promtool.status === 3, promtool.output);
  assert.deepEqual(
    findings.filter((line) => !NAMING_LINTS.some((lint) => lint.test(line))),
    [],
    promtool.output,
  );
  parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' }));
  return text;
}

test('every instrument kind is exposed under the specification Prometheus names, and read by promtool and the OpenMetrics parser', async () => {
  const { registry, meter } = setup();
  meter.createCounter('http.server.requests', { description: 'Requests served', unit: '{request}' }).add(3, { 'http.request.method': 'GET' });
  meter.createCounter('io.read', { unit: 'By' }).add(512);
  meter.createUpDownCounter('db.client.connection.count', { unit: '{connection}' }).add(4, { state: 'idle' });
  meter.createGauge('cpu.utilization', { unit: '1' }).record(0.25);
  const duration = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    description: 'Duration of HTTP server requests',
    advice: { explicitBucketBoundaries: [0.1, 1] },
  });
  duration.record(0.05, { 'http.route': '/a' });
  duration.record(0.5, { 'http.route': '/a' });
  meter.createHistogram('payload.size', { unit: 'By' }).record(700);
  meter.createObservableCounter('process.cpu.time', { unit: 's' }).addCallback((result) => result.observe(1.5));
  meter.createObservableGauge('process.memory.usage', { unit: 'By' }).addCallback((result) => result.observe(1024, { kind: 'rss' }));
  meter.createObservableUpDownCounter('queue.depth').addCallback((result) => result.observe(-2));

  const text = await checkWithConsumers(registry);
  const s = parseSamples(text);
  assert.match(text, /# HELP http_server_requests_total Requests served\n# TYPE http_server_requests_total counter/);
  assert.equal(s.get(`http_server_requests_total{http_request_method="GET",${SCOPE}}`), 3);
  assert.equal(s.get(`io_read_bytes_total{${SCOPE}}`), 512);
  assert.match(text, /# TYPE db_client_connection_count gauge/);
  assert.equal(s.get(`db_client_connection_count{${SCOPE},state="idle"}`), 4);
  assert.equal(s.get(`cpu_utilization_ratio{${SCOPE}}`), 0.25);
  assert.equal(s.get(`http_server_request_duration_seconds_bucket{http_route="/a",${SCOPE},le="0.1"}`), 1);
  assert.equal(s.get(`http_server_request_duration_seconds_bucket{http_route="/a",${SCOPE},le="1"}`), 2);
  assert.equal(s.get(`http_server_request_duration_seconds_count{http_route="/a",${SCOPE}}`), 2);
  // No advice: the specification's default buckets, in milliseconds.
  assert.equal(s.get(`payload_size_bytes_bucket{${SCOPE},le="750"}`), 1);
  assert.equal(s.get(`payload_size_bytes_bucket{${SCOPE},le="500"}`), 0);
  assert.equal(s.get(`process_cpu_time_seconds_total{${SCOPE}}`), 1.5);
  assert.equal(s.get(`process_memory_usage_bytes{kind="rss",${SCOPE}}`), 1024);
  assert.equal(s.get(`queue_depth{${SCOPE}}`), -2);
});

test('attribute values of every type the API allows become one label value each; order and spelling do not split a series', async () => {
  const { registry, meter } = setup();
  const counter = meter.createCounter('attributes');
  counter.add(1, {
    text: 'a "quoted" value',
    int: 200,
    float: 0.5,
    nan: Number.NaN,
    yes: true,
    list: ['a', 'b'],
    mixed: [1, 'x', null],
    map: { z: 1, a: [true] },
    bytes: new Uint8Array([1, 2, 3]),
    empty: null,
    skipped: undefined,
  });
  const labels =
    'bytes="AQID",empty="",float="0.5",int="200",list="[\\"a\\",\\"b\\"]",map="{\\"a\\":[true],\\"z\\":1}",' +
    `mixed="[1,\\"x\\",null]",nan="NaN",${SCOPE},text="a \\"quoted\\" value",yes="true"`;
  assert.equal(parseSamples(await registry.metrics()).get(`attributes_total{${labels}}`), 1);

  // One series: numbers and their text, either key order, a map's keys in any order.
  const spellings = [
    { code: 200, method: 'GET' },
    { method: 'GET', code: '200' },
    { code: '200', method: 'GET' },
  ];
  for (let i = 0; i < 3; i++) for (const attributes of spellings) counter.add(1, attributes);
  counter.add(1, { method: 'GET', code: 200, skipped: undefined });
  const byCode = [...parseSamples(await registry.metrics())].filter(([series]) => series.includes('code='));
  assert.deepEqual(byCode, [[`attributes_total{code="200",method="GET",${SCOPE}}`, 10]]);

  // Keys Prometheus cannot carry as they are: escaped; keys that collide after escaping are one label, values joined with ';'.
  counter.add(1, { 'http.route': '/x', http_route: '/y', '2xx': 'yes', _private: 'p', __reserved: 'r' });
  const text = await checkWithConsumers(registry);
  assert.ok(text.includes(`attributes_total{http_route="/x;/y",key_2xx="yes",key__reserved="r",key_private="p",${SCOPE}} 1`), text);
});

test('what the API cannot take is dropped with one warning per instrument and problem; nothing recorded is lost, nothing throws', async () => {
  const { registry, meter } = setup();
  const counter = meter.createCounter('dropped');
  const histogram = meter.createHistogram('dropped.duration', { advice: { explicitBucketBoundaries: [1] } });
  const integer = meter.createCounter('integer', { valueType: 0 });
  counter.add(5, { k: 'v' });
  histogram.record(0.5);
  const hostile = {
    get k() {
      throw new Error('a getter that throws');
    },
  };
  const warnings = await warningsOf(() => {
    for (let i = 0; i < 3; i++) {
      counter.add(-1, { k: 'v' });
      counter.add(Number.NaN, { k: 'v' });
      counter.add('1', { k: 'v' });
      histogram.record(-1);
      histogram.record(Number.POSITIVE_INFINITY);
      integer.add(2.7);
      counter.add(1, hostile);
    }
  });
  assert.equal(warnings.filter((w) => w.includes('"dropped" add(): a counter only goes up')).length, 1, warnings.join('\n'));
  assert.equal(warnings.filter((w) => w.includes('"dropped.duration" record()')).length, 1, warnings.join('\n'));
  assert.equal(warnings.filter((w) => w.includes('valueType INT and was given 2.7')).length, 1, warnings.join('\n'));
  assert.ok(
    warnings.some((w) => w.includes('a getter that throws')),
    warnings.join('\n'),
  );
  const s = parseSamples(await registry.metrics());
  assert.equal(s.get(`dropped_total{k="v",${SCOPE}}`), 5);
  assert.equal(s.get(`dropped_duration_count{${SCOPE}}`), 1);
  assert.equal(s.get(`dropped_duration_sum{${SCOPE}}`), 0.5);
  assert.equal(s.get(`integer_total{${SCOPE}}`), 6, 'fractions cut off');
});

test('translation strategies: escaped with suffixes by default; UTF-8 names kept for a scraper that asks for them', async () => {
  const cases = [
    ['UnderscoreEscapingWithSuffixes', 'http_server_request_duration_seconds', 'http_request_method'],
    ['UnderscoreEscapingWithoutSuffixes', 'http_server_request_duration', 'http_request_method'],
  ];
  for (const [translationStrategy, name, label] of cases) {
    const { registry, meter } = setup({ translationStrategy });
    meter.createHistogram('http.server.request.duration', { unit: 's' }).record(1, { 'http.request.method': 'GET' });
    meter.createCounter('jobs.done', { unit: 'By/s' }).add(1);
    const text = await registry.metrics();
    assert.ok(text.includes(`${name}_count{${label}="GET",${SCOPE}} 1`), `${translationStrategy}:\n${text}`);
    const counter = translationStrategy.endsWith('WithSuffixes') ? 'jobs_done_bytes_per_second_total' : 'jobs_done_total';
    assert.ok(text.includes(`${counter}{${SCOPE}} 1`), `${translationStrategy}:\n${text}`);
  }
  const { registry, meter } = setup({ translationStrategy: 'NoUTF8EscapingWithSuffixes' });
  meter.createHistogram('http.server.request.duration', { unit: 's' }).record(1, { 'http.request.method': 'GET' });
  const utf8 = (await registry.scrape('text/plain;version=1.0.0;escaping=allow-utf-8')).body;
  assert.ok(utf8.includes(`{"http.server.request.duration_seconds_count","http.request.method"="GET",${SCOPE}} 1`), utf8);
  const escaped = await checkWithConsumers(registry);
  assert.ok(escaped.includes(`http_server_request_duration_seconds_count{http_request_method="GET",${SCOPE}} 1`), escaped);
});

test('identity: an identical instrument is the same one, the first casing wins, another unit is another stream and another kind under one metric name is refused, each with a warning', async () => {
  const { registry, provider, meter } = setup();
  const first = meter.createCounter('Requests', { description: 'first' });
  const warnings = await warningsOf(() => {
    assert.equal(meter.createCounter('requests', { description: 'second' }), first);
    meter.createGauge('Requests.total').record(1);
  });
  assert.ok(
    warnings.some((w) => w.includes('is "Requests" already')),
    warnings.join('\n'),
  );
  assert.ok(
    warnings.some((w) => w.includes('another kind of instrument uses already')),
    warnings.join('\n'),
  );
  const units = await warningsOf(() => {
    meter.createHistogram('payload', { unit: 'By' }).record(1);
    meter.createHistogram('payload', { unit: 'KiBy' }).record(2);
  });
  assert.ok(
    units.some((w) => w.includes('"payload" (histogram, unit "KiBy") has the name of one of histogram, unit "By"')),
    units.join('\n'),
  );
  first.add(1);
  // Another scope: the same metric, its series told apart by otel_scope_name.
  provider.getMeter('other').createCounter('Requests').add(2);
  const s = parseSamples(await registry.metrics());
  assert.equal(s.get(`Requests_total{${SCOPE}}`), 1);
  assert.equal(s.get('Requests_total{otel_scope_name="other"}'), 2);
});

test('observable callbacks run once per read, may be async, and a series no longer observed is dropped', async () => {
  const { registry, meter } = setup();
  const gauge = meter.createObservableGauge('workers.busy');
  let runs = 0;
  let reported = ['a', 'b'];
  const callback = async (result) => {
    runs++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const name of reported) result.observe(runs, { name });
  };
  gauge.addCallback(callback);
  gauge.addCallback(callback); // a repeated add is a no-op
  let s = parseSamples(await registry.metrics());
  assert.equal(runs, 1);
  assert.equal(s.get(`workers_busy{name="a",${SCOPE}}`), 1);
  reported = ['b'];
  s = parseSamples(await registry.metrics());
  assert.equal(runs, 2);
  assert.equal(s.get(`workers_busy{name="a",${SCOPE}}`), undefined, 'no longer observed: dropped');
  assert.equal(s.get(`workers_busy{name="b",${SCOPE}}`), 2);
  reported = ['a', 'b'];
  s = parseSamples(await registry.metrics());
  assert.equal(s.get(`workers_busy{name="a",${SCOPE}}`), 3, 'observed again: back');

  // A batch callback observes the instruments it was registered with, and no other.
  const total = meter.createObservableCounter('batch.total');
  const outside = meter.createObservableGauge('batch.outside');
  const warnings = await warningsOf(async () => {
    meter.addBatchObservableCallback(
      (result) => {
        result.observe(total, 7);
        result.observe(outside, 1);
      },
      [total],
    );
    s = parseSamples(await registry.metrics());
  });
  // Its name ends in "total" already: the counter's suffix is not doubled.
  assert.equal(s.get(`batch_total{${SCOPE}}`), 7);
  assert.equal(s.get(`batch_outside{${SCOPE}}`), undefined);
  assert.ok(
    warnings.some((w) => w.includes('was not registered with')),
    warnings.join('\n'),
  );
  gauge.removeCallback(callback);
  await registry.metrics();
  assert.equal(runs, 4, 'removed: not run again');

  // A callback that fails may have failed before observing: its series stay.
  const flaky = meter.createObservableGauge('flaky');
  let fail = false;
  flaky.addCallback((result) => {
    if (fail) throw new Error('flaky callback');
    result.observe(1, { kept: 'yes' });
  });
  await registry.metrics();
  fail = true;
  await warningsOf(async () => {
    s = parseSamples(await registry.metrics());
  });
  assert.equal(s.get(`flaky{kept="yes",${SCOPE}}`), 1);
});

test('a callback slower than the collect timeout is not waited for; one that throws does not stop the others', async () => {
  const { registry, meter } = setup({ collectTimeoutMs: 50 });
  meter.createObservableGauge('slow').addCallback(() => new Promise(() => {}));
  meter.createObservableGauge('throws').addCallback(() => {
    throw new Error('broken callback');
  });
  meter.createObservableGauge('fine').addCallback((result) => result.observe(1));
  const started = Date.now();
  let text;
  const warnings = await warningsOf(async () => {
    text = await registry.metrics();
  });
  assert.ok(Date.now() - started < 5_000, 'the read did not wait for the callback that never ends');
  assert.equal(parseSamples(text).get(`fine{${SCOPE}}`), 1);
  assert.ok(
    warnings.some((w) => w.includes('broken callback')),
    warnings.join('\n'),
  );
  assert.ok(
    warnings.some((w) => w.includes('did not finish within 50 ms')),
    warnings.join('\n'),
  );
});

test('past the cardinality limit, new attribute sets count in the otel_metric_overflow series, for the life of the process', async () => {
  const { registry, meter } = setup({ cardinalityLimit: 3 });
  const counter = meter.createCounter('limited');
  for (let i = 0; i < 10; i++) counter.add(1, { user: `u${i}` });
  for (let i = 0; i < 10; i++) counter.add(1, { user: `u${i}` });
  const s = parseSamples(await checkWithConsumers(registry));
  const series = [...s.keys()].filter((k) => k.startsWith('limited_total{'));
  assert.equal(series.length, 4, series.join('\n'));
  assert.equal(s.get(`limited_total{${SCOPE},user="u0"}`), 2);
  assert.equal(s.get('limited_total{otel_metric_overflow="true"}'), 14);
});

test('target_info carries the resource; the scope labels can be left out', async () => {
  const registry = new Registry();
  const provider = new MeterProvider({ registry, withoutScopeInfo: true, resource: { 'deployment.environment.name': 'test' } });
  provider.getMeter('test', '1.0.0').createCounter('plain').add(1);
  const text = await checkWithConsumers(registry);
  const targetInfo = text.split('\n').find((line) => line.startsWith('target_info{'));
  assert.match(targetInfo, /[{,]deployment_environment_name="test"[,}]/);
  assert.match(targetInfo, /[{,]service_instance_id="[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"[,}]/);
  assert.match(targetInfo, / 1$/);
  assert.equal(parseSamples(text).get('plain_total'), 1);
});

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { MeterProvider } = require(workerData.otel);
const counter = new MeterProvider().getMeter('workers').createCounter('otel.worker.jobs');
for (let i = 0; i < workerData.count; i++) counter.add(1, { queue: i % 2 === 0 ? 'even' : 'odd' });
parentPort.postMessage('done');
`;

test('many threads record into one instrument: every measurement counts, once', async () => {
  const { registry } = await import('slotmetrics');
  const otel = fileURLToPath(import.meta.resolve('slotmetrics/otel'));
  const count = 20_000;
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      const worker = new Worker(WORKER, { eval: true, workerData: { otel, count } });
      await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      await worker.terminate();
    }),
  );
  const s = parseSamples(await registry.metrics());
  assert.equal(s.get('otel_worker_jobs_total{otel_scope_name="workers",queue="even"}'), 30_000);
  assert.equal(s.get('otel_worker_jobs_total{otel_scope_name="workers",queue="odd"}'), 30_000);
});

test('slotmetrics/otel/register makes the provider global: @opentelemetry/api meters record into the default registry; a meter taken before stays a no-op', () => {
  const script = `
    const { metrics } = require('@opentelemetry/api');
    const early = metrics.getMeter('early').createCounter('early.calls');
    require('slotmetrics/otel/register');
    const { registry } = require('slotmetrics');
    early.add(5);
    metrics.getMeter('app').createCounter('registered.calls').add(2, { ok: true });
    registry.metrics().then((text) => process.stdout.write(text));
  `;
  const run = spawnSync(process.execPath, runtime === 'deno' ? ['eval', script] : ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(run.stdout.includes('registered_calls_total{ok="true",otel_scope_name="app"} 2'), run.stdout);
  // The API has no proxy for metrics: an instrument made before a provider was registered records nowhere.
  assert.ok(!run.stdout.includes('early_calls'), run.stdout);
  assert.match(run.stdout, /^target_info\{/m);
});

test('what the provider records is in the default registry beside every other metric, and in both prom-client entries', async () => {
  const { registry, counterSchema } = await import('slotmetrics');
  const promClient = await import('slotmetrics/prom-client');
  const client = await import('slotmetrics/client');
  new MeterProvider().getMeter('beside').createCounter('otel.beside').add(4);
  counterSchema('schema_beside_total').build().add(1);
  const series = 'otel_beside_total{otel_scope_name="beside"} 4';
  for (const text of [await registry.metrics(), await promClient.register.metrics(), await client.register.metrics()]) {
    assert.ok(text.includes(series) && text.includes('schema_beside_total 1'), text);
  }
});

test('views rename, describe, filter attributes, change the aggregation or the limit, and drop, selected by name, kind, unit or meter', async () => {
  const { registry, provider } = setup({
    views: [
      { instrumentName: 'http.server.request.duration', name: 'http.server.latency', description: 'Latency', attributeKeys: ['http.route'] },
      { instrumentName: 'http.server.request.duration', aggregation: { type: 'explicitBucketHistogram', boundaries: [1, 10] } },
      { instrumentName: 'debug.*', aggregation: { type: 'drop' } },
      { instrumentType: 'UP_DOWN_COUNTER', excludeAttributeKeys: ['pool.name'] },
      { instrumentUnit: 'By', meterName: 'test', aggregationCardinalityLimit: 1 },
    ],
  });
  const meter = provider.getMeter('test', '1.0.0');
  const duration = meter.createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.5] } });
  duration.record(2, { 'http.route': '/a', 'http.request.method': 'GET' });
  meter.createCounter('debug.calls').add(1);
  meter.createUpDownCounter('db.connections').add(3, { state: 'idle', 'pool.name': 'main' });
  const bytes = meter.createCounter('io.bytes', { unit: 'By' });
  bytes.add(1, { file: 'a' });
  bytes.add(1, { file: 'b' });
  const s = parseSamples(await checkWithConsumers(registry));
  // Two views select the histogram: two streams, each its own metric.
  assert.equal(s.get(`http_server_latency_seconds_bucket{http_route="/a",${SCOPE},le="0.5"}`), 0, 'renamed, advice buckets, route only');
  assert.equal(s.get(`http_server_latency_seconds_count{http_route="/a",${SCOPE}}`), 1);
  assert.equal(s.get(`http_server_request_duration_seconds_bucket{http_request_method="GET",http_route="/a",${SCOPE},le="10"}`), 1);
  assert.equal(s.get(`http_server_request_duration_seconds_bucket{http_request_method="GET",http_route="/a",${SCOPE},le="1"}`), 0);
  assert.match(await registry.metrics(), /# HELP http_server_latency_seconds Latency/);
  assert.ok(![...s.keys()].some((k) => k.startsWith('debug_calls')), 'dropped');
  assert.equal(s.get(`db_connections{${SCOPE},state="idle"}`), 3);
  assert.equal(s.get(`io_bytes_total{file="a",${SCOPE}}`), 1);
  assert.equal(s.get('io_bytes_total{otel_metric_overflow="true"}'), 1, 'the view limit: one series, then overflow');
  assert.throws(
    () => new MeterProvider({ registry, views: [{ instrumentName: 'a.*', name: 'b' }] }),
    /select one instrument by its exact instrumentName/,
  );
  assert.throws(() => new MeterProvider({ registry, views: [{ aggregation: { type: 'sum' } }] }), /aggregation must be/);
});

test('an observable instrument two views select records into both streams, and a series its callback stops observing leaves both', async () => {
  const { registry, meter } = setup({
    views: [
      { instrumentName: 'pool.size', name: 'pool.size.by.name', attributeKeys: ['pool'] },
      { instrumentName: 'pool.size', excludeAttributeKeys: ['pool'] },
      { instrumentName: 'jobs.done', name: 'jobs.done.copy' },
      { instrumentName: 'jobs.done' },
    ],
  });
  const pools = new Map([
    ['main', 3],
    ['spare', 1],
  ]);
  meter.createObservableGauge('pool.size').addCallback((result) => {
    for (const [pool, size] of pools) result.observe(size, { pool, host: 'h1' });
  });
  let done = 5;
  meter.createObservableCounter('jobs.done').addCallback((result) => result.observe(done));
  let s = parseSamples(await checkWithConsumers(registry));
  assert.equal(s.get(`pool_size_by_name{${SCOPE},pool="main"}`), 3);
  assert.equal(s.get(`pool_size_by_name{${SCOPE},pool="spare"}`), 1);
  assert.equal(s.get(`pool_size{host="h1",${SCOPE}}`), 1, 'one series without the pool: the last observation wins');
  assert.equal(s.get(`jobs_done_copy_total{${SCOPE}}`), 5);
  assert.equal(s.get(`jobs_done_total{${SCOPE}}`), 5);
  pools.delete('spare');
  done = 8;
  s = parseSamples(await registry.metrics());
  assert.equal(s.get(`pool_size_by_name{${SCOPE},pool="spare"}`), undefined, 'unobserved: dropped');
  assert.equal(s.get(`pool_size_by_name{${SCOPE},pool="main"}`), 3);
  assert.equal(s.get(`pool_size{host="h1",${SCOPE}}`), 3);
  assert.equal(s.get(`jobs_done_copy_total{${SCOPE}}`), 8, 'each stream adds the increase of the totals once');
  assert.equal(s.get(`jobs_done_total{${SCOPE}}`), 8);
});

test('an exponential histogram view makes a native histogram: OpenTelemetry scale 20 lowered to schema 8, read over protobuf', async () => {
  const { decodeMetricFamilies } = await import('./helpers.mjs');
  const { registry, meter } = setup({ views: [{ instrumentType: 'histogram', aggregation: { type: 'exponentialHistogram' } }] });
  const histogram = meter.createHistogram('payload.size', { unit: 'By' });
  const native = async () => {
    const families = decodeMetricFamilies(await registry.metrics({ format: 'protobuf' }));
    return families.find((f) => f.name === 'payload_size_bytes').metric[0].histogram;
  };
  for (const value of [1, 1.01, 0]) histogram.record(value);
  let read = await native();
  assert.equal(read.schema, 8, 'values close together: the finest schema Prometheus reads');
  assert.equal(Number(read.sampleCount), 3);
  assert.equal(read.sampleSum, 2.01);
  assert.equal(Number(read.zeroCount), 1);
  // 1 to 1000 at schema 8 would take 2,551 buckets: the resolution halves until 160 suffice, as the SDK's does.
  histogram.record(1000);
  read = await native();
  assert.equal(read.schema, 3);
  assert.equal(Number(read.sampleCount), 4);
  const text = await checkWithConsumers(registry);
  assert.equal(parseSamples(text).get(`payload_size_bytes_count{${SCOPE}}`), 4, 'count and sum in text');
});

test("exemplarFilter 'traceBased': a measurement in a sampled span leaves its trace and span ids; off, none", async () => {
  const api = await import('@opentelemetry/api');
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const spanId = 'b7ad6b7169203331';
  const sampled = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId, spanId, traceFlags: api.TraceFlags.SAMPLED });
  const unsampled = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId, spanId, traceFlags: api.TraceFlags.NONE });
  const { registry, meter } = setup({ exemplarFilter: 'traceBased' });
  meter.createCounter('traced.calls').add(2, { ok: true }, sampled);
  meter.createHistogram('traced.duration', { unit: 's', advice: { explicitBucketBoundaries: [1] } }).record(0.25, {}, sampled);
  meter.createCounter('untraced.calls').add(1, {}, unsampled);
  const samples = parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' }));
  const exemplarOf = (name, le) => samples.find((s) => s.name === name && (le === undefined || s.labels.le === le))?.exemplar;
  assert.deepEqual(exemplarOf('traced_calls_total').labels, { trace_id: traceId, span_id: spanId });
  assert.equal(exemplarOf('traced_calls_total').value, 2);
  assert.equal(exemplarOf('traced_duration_seconds_bucket', '1').value, 0.25);
  assert.equal(exemplarOf('untraced_calls_total'), null, 'not sampled: no exemplar');
  const off = setup();
  off.meter.createCounter('traced.calls').add(1, {}, sampled);
  const offSamples = parseOpenMetricsStrict(await off.registry.metrics({ format: 'openmetrics' }));
  assert.equal(offSamples.find((s) => s.name === 'traced_calls_total').exemplar, null, 'off by default');
});

test("SlotmetricsMetricProducer: an SDK reader's collection carries the registry's metrics, which the SDK's own OTLP serializer writes", async () => {
  const { SlotmetricsMetricProducer } = await import('slotmetrics/otel');
  const { MeterProvider: SdkMeterProvider, MetricReader, DataPointType } = await import('@opentelemetry/sdk-metrics');
  const { JsonMetricsSerializer } = await import('@opentelemetry/otlp-transformer');
  const { counterSchema, gaugeSchemaFloat, histogramSchema, summarySchema } = await import('slotmetrics');
  const registry = new Registry();
  counterSchema('jobs_total').help('Jobs').requireDynamicKey('queue').build({ registry }).with({ queue: 'mail' }).add(3);
  gaugeSchemaFloat('temperature').build({ registry }).set(21.5);
  const latency = histogramSchema('latency_seconds').buckets([0.1, 1]).build({ registry });
  for (const value of [0.05, 0.5, 0.5, 2]) latency.observe(value);
  summarySchema('left_out').build({ registry }).observe(1);
  class InMemoryReader extends MetricReader {
    onForceFlush() {
      return Promise.resolve();
    }
    onShutdown() {
      return Promise.resolve();
    }
  }
  const reader = new InMemoryReader({ metricProducers: [new SlotmetricsMetricProducer({ registry })] });
  const sdk = new SdkMeterProvider({ readers: [reader] });
  sdk.getMeter('sdk-own').createCounter('sdk.own').add(1);
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const ours = resourceMetrics.scopeMetrics.find((s) => s.scope.name === 'slotmetrics').metrics;
  assert.ok(
    resourceMetrics.scopeMetrics.some((s) => s.scope.name === 'sdk-own'),
    'beside the SDK its own metrics',
  );
  const byName = Object.fromEntries(ours.map((m) => [m.descriptor.name, m]));
  assert.deepEqual(Object.keys(byName).sort(), ['jobs_total', 'latency_seconds', 'temperature'], 'the summary is left out');
  assert.equal(byName.jobs_total.dataPointType, DataPointType.SUM);
  assert.equal(byName.jobs_total.isMonotonic, true);
  assert.deepEqual(byName.jobs_total.dataPoints[0].attributes, { queue: 'mail' });
  assert.equal(byName.jobs_total.dataPoints[0].value, 3);
  assert.equal(byName.temperature.dataPointType, DataPointType.GAUGE);
  const [histogram] = byName.latency_seconds.dataPoints;
  assert.deepEqual(histogram.value, { buckets: { boundaries: [0.1, 1], counts: [1, 2, 1] }, sum: 3.05, count: 4 });

  const request = JSON.parse(Buffer.from(JsonMetricsSerializer.serializeRequest(resourceMetrics)).toString());
  const sent = request.resourceMetrics[0].scopeMetrics.find((s) => s.scope.name === 'slotmetrics').metrics;
  const jobs = sent.find((m) => m.name === 'jobs_total');
  assert.equal(jobs.sum.isMonotonic, true);
  assert.equal(jobs.sum.aggregationTemporality, 2, 'AGGREGATION_TEMPORALITY_CUMULATIVE');
  assert.equal(jobs.sum.dataPoints[0].asDouble, 3);
  const sentLatency = sent.find((m) => m.name === 'latency_seconds').histogram.dataPoints[0];
  assert.deepEqual(sentLatency.bucketCounts.map(Number), [1, 2, 1]);
  assert.deepEqual(sentLatency.explicitBounds, [0.1, 1]);
});

test('a scrape the Rust server answers waits for observable callbacks at most its collect timeout, serves what they observed, and counts it', async () => {
  const { serve, registry: defaultRegistry } = await import('slotmetrics');
  const { registry, meter } = setup({ collectTimeoutMs: 2_000 });
  meter.createObservableGauge('stuck').addCallback((result) => {
    result.observe(7);
    return new Promise(() => {}); // never settles, as a callback stuck on a blocked resource
  });
  const server = await serve({ port: 0, host: '127.0.0.1', registry, collectTimeoutMs: 100 });
  try {
    const started = Date.now();
    const body = await (await fetch(server.url, { signal: AbortSignal.timeout(10_000) })).text();
    assert.ok(Date.now() - started < 1_500, `answered after the server's timeout, not the provider's (${Date.now() - started} ms)`);
    assert.equal(parseSamples(body).get(`stuck{${SCOPE}}`), 7);
    const counted = parseSamples(await defaultRegistry.metrics()).get('slotmetrics_collect_timeouts_total{read="scrape"}');
    assert.ok(counted >= 1, `slotmetrics_collect_timeouts_total{read="scrape"} is ${counted}`);
  } finally {
    await server.close();
  }
});

test('exported over OTLP, an instrument keeps its own name, unit and attribute keys, read with the official definitions', async () => {
  const { exportOtlp } = await import('slotmetrics');
  const { decodeOtlp, loopbackReceiver } = await import('./helpers.mjs');
  const receiver = await loopbackReceiver();
  try {
    const { registry, meter } = setup();
    meter.createCounter('http.server.requests', { unit: '{request}' }).add(3, { 'http.request.method': 'GET', route: '/a' });
    meter.createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: [1] } }).record(0.5);
    const exporter = exportOtlp({ endpoint: receiver.url, registry, intervalMs: 3_600_000 });
    await exporter.flush();
    await exporter.stop();
    const [decoded] = decodeOtlp(receiver.requests.map((request) => request.body));
    const metrics = new Map(decoded.resourceMetrics[0].scopeMetrics[0].metrics.map((metric) => [metric.name, metric]));
    const requests = metrics.get('http.server.requests');
    assert.equal(requests.unit, '{request}');
    assert.equal(requests.sum.isMonotonic, true);
    const attributes = Object.fromEntries(requests.sum.dataPoints[0].attributes.map(({ key, value }) => [key, value.stringValue]));
    assert.deepEqual(attributes, { 'http.request.method': 'GET', otel_scope_name: 'test', otel_scope_version: '1.0.0', route: '/a' });
    assert.equal(metrics.get('http.server.request.duration').unit, 's');
    assert.equal(metrics.get('http.server.request.duration').histogram.dataPoints[0].count, '1');
  } finally {
    await receiver.close();
  }
});

test('with code generation from strings disabled, the lookup runs as a loop and finds the same series', {
  skip: unsupportedOn({ bun: 'the flag is a V8 option of Node', deno: 'the flag is a V8 option of Node' }),
}, () => {
  const script = `
      const { Registry } = require('slotmetrics');
      const { MeterProvider } = require('slotmetrics/otel');
      const registry = new Registry();
      const counter = new MeterProvider({ registry, withoutTargetInfo: true }).getMeter('plain').createCounter('plain.calls');
      for (let i = 0; i < 3; i++) {
        counter.add(1, { route: '/a', code: 200 });
        counter.add(1, { code: '200', route: '/a' });
        counter.add(1, { route: '/b' });
        counter.add(1);
        counter.add(1, {});
      }
      registry.metrics().then((text) => process.stdout.write(text));
    `;
  const run = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  const s = parseSamples(run.stdout);
  assert.equal(s.get('plain_calls_total{code="200",otel_scope_name="plain",route="/a"}'), 6);
  assert.equal(s.get('plain_calls_total{otel_scope_name="plain",route="/b"}'), 3);
  assert.equal(s.get('plain_calls_total{otel_scope_name="plain"}'), 6);
});

test('after registry.clear(), instruments made before it keep recording: their metrics are defined again, from zero, at the next measurement', async () => {
  const { registry, meter } = setup();
  const registryWithInfo = new Registry();
  const withInfo = new MeterProvider({ registry: registryWithInfo }).getMeter('info');
  const requests = meter.createCounter('cleared.requests');
  const queue = meter.createObservableGauge('cleared.queue');
  queue.addCallback((result) => result.observe(4, { q: 'a' }));
  const infoCounter = withInfo.createCounter('cleared.info');
  requests.add(5, { route: '/a' });
  infoCounter.add(1);
  assert.equal(parseSamples(await registry.metrics()).get(`cleared_requests_total{${SCOPE},route="/a"}`), 5);

  registry.clear();
  registryWithInfo.clear();
  // A read runs the observable callbacks, which observe again; the counter is not there until it records.
  assert.ok(!(await registry.metrics()).includes('cleared_requests'), 'cleared: the counter is gone until it records');
  requests.add(2, { route: '/a' });
  infoCounter.add(1);
  const s = parseSamples(await registry.metrics());
  assert.equal(s.get(`cleared_requests_total{${SCOPE},route="/a"}`), 2, 'from zero');
  assert.equal(s.get(`cleared_queue{${SCOPE},q="a"}`), 4, 'observed again');
  const info = await registryWithInfo.metrics();
  assert.match(info, /^target_info\{/m, 'target_info defined again');
  assert.equal(parseSamples(info).get('cleared_info_total{otel_scope_name="info"}'), 1);
});
