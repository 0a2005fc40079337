// exportOtlp(): what a loopback OTLP receiver gets, decoded with the official
// definitions (Python's opentelemetry-proto) and compared with what the OpenTelemetry
// JS SDK's own OTLP exporter sends for the same recordings; delta windows, retries,
// permanent errors and the OTEL_* environment variables.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { after, test } from 'node:test';
import zlib from 'node:zlib';
import {
  collectDefaultMetrics,
  counterSchema,
  exportDatadog,
  exportOtlp,
  gaugeSchema,
  gaugeSchemaFloat,
  histogramSchema,
  Registry,
  summarySchema,
} from 'slotmetrics';
import { decodeOtlp, eventually, freePort, loopbackReceiver } from './helpers.mjs';

/** A loopback receiver (helpers.mjs) whose close also stops the test's exporters first. */
async function receiver(answer) {
  const received = await loopbackReceiver(answer);
  const close = async () => {
    // Exporters still running make a last export when they stop: while this answers.
    await Promise.all(exporters.splice(0).map((e) => e.stop()));
    await received.close();
  };
  receivers.push(close);
  return { url: received.url, requests: received.requests, close };
}

const exporters = [];
/** Closes of the receivers, for a test that failed before closing its own. */
const receivers = [];
/** An exporter that never exports on its own during a test: tests flush. */
function exporter(options) {
  const started = exportOtlp({ intervalMs: 3_600_000, ...options });
  exporters.push(started);
  return started;
}
after(() => Promise.all(receivers.map((close) => close())));

/** The metrics of a decoded request, by name. */
function metricsOf(decoded) {
  const metrics = new Map();
  for (const resourceMetrics of decoded.resourceMetrics) {
    for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) metrics.set(metric.name, metric);
  }
  return metrics;
}

const attributesOf = (list = []) => Object.fromEntries(list.map(({ key, value }) => [key, value.stringValue]));

test('every kind arrives as the Prometheus compatibility rules map it, decoded with the official definitions', { timeout: 30_000 }, async () => {
  const rx = await receiver();
  const shop = new Registry({ defaultLabels: { region: 'eu-1' } });
  const orders = counterSchema('orders').help('Orders placed').requireDynamicKey('plan').build({ registry: shop });
  orders.with({ plan: 'pro' }).add(3);
  gaugeSchema('queue_depth').build({ registry: shop }).set(7);
  gaugeSchemaFloat('load_ratio').build({ registry: shop }).set(0.25);
  const latency = histogramSchema('latency_seconds').buckets([0.1, 1]).build({ registry: shop });
  for (const v of [0.05, 0.5, 0.5, 3]) latency.observe(v);
  const sizes = histogramSchema('size_bytes').native({ bucketFactor: 2 }).build({ registry: shop });
  for (const v of [3, 3, 10, 0]) sizes.observe(v);
  const waits = summarySchema('wait_seconds').percentiles([0.5]).build({ registry: shop });
  for (const v of [1, 2, 3]) waits.observe(v);

  const before = Date.now();
  const result = await exporter({ endpoint: rx.url, registry: shop, resource: { 'service.name': 'shop' } }).flush();
  assert.deepEqual(result, { points: 6, requests: 1 });
  assert.equal(rx.requests.length, 1);
  const [request] = rx.requests;
  assert.equal(request.path, '/v1/metrics', 'a URL without a path gets /v1/metrics');
  assert.equal(request.headers['content-type'], 'application/x-protobuf');
  assert.equal(request.headers['content-encoding'], 'gzip');
  assert.match(request.headers['user-agent'], /^slotmetrics\/\d/);

  const [decoded] = decodeOtlp([request.body]);
  const resource = attributesOf(decoded.resourceMetrics[0].resource.attributes);
  assert.equal(resource['service.name'], 'shop');
  assert.equal(resource.region, 'eu-1', 'default labels become resource attributes');
  assert.equal(resource['telemetry.sdk.name'], 'slotmetrics');
  assert.match(resource['service.instance.id'], /^[0-9a-f-]{36}$/);
  const metrics = metricsOf(decoded);

  const sum = metrics.get('orders_total');
  assert.equal(sum.description, 'Orders placed');
  assert.equal(sum.sum.isMonotonic, true);
  assert.equal(sum.sum.aggregationTemporality, 2, 'cumulative');
  const [point] = sum.sum.dataPoints;
  assert.equal(point.asDouble, 3);
  assert.deepEqual(attributesOf(point.attributes), { plan: 'pro' });
  const start = Number(BigInt(point.startTimeUnixNano) / 1_000_000n);
  const time = Number(BigInt(point.timeUnixNano) / 1_000_000n);
  // The engine stamps a series' start when it takes the registration from the ring,
  // which a loaded machine may delay past `before`: not past the export, though.
  assert.ok(start <= time && time >= before && start > before - 60_000, 'the series start is its start time');

  assert.equal(metrics.get('queue_depth').gauge.dataPoints[0].asInt, '7');
  assert.equal(metrics.get('load_ratio').gauge.dataPoints[0].asDouble, 0.25);

  const classic = metrics.get('latency_seconds');
  assert.equal(classic.unit, 's');
  const h = classic.histogram.dataPoints[0];
  assert.deepEqual(h.explicitBounds, [0.1, 1]);
  assert.deepEqual(h.bucketCounts, ['1', '2', '1']);
  assert.equal(h.count, '4');
  assert.equal(h.sum, 4.05);

  // Factor 2 is schema 0: 3 and 3 in (2, 4], 10 in (8, 16], which OTLP numbers 1 and 3.
  const native = metrics.get('size_bytes').exponentialHistogram.dataPoints[0];
  assert.equal(native.scale ?? 0, 0);
  assert.equal(native.count, '4');
  assert.equal(native.zeroCount, '1');
  assert.equal(native.sum, 16);
  assert.deepEqual(native.positive, { offset: 1, bucketCounts: ['2', '0', '1'] });

  const summary = metrics.get('wait_seconds').summary.dataPoints[0];
  assert.equal(summary.count, '3');
  assert.equal(summary.sum, 6);
  assert.deepEqual(summary.quantileValues, [{ quantile: 0.5, value: 2 }]);
  await rx.close();
});

test('the same recordings as the OpenTelemetry JS SDK sends them, point by point', { timeout: 30_000 }, async () => {
  const { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } = await import('@opentelemetry/sdk-metrics');
  const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-proto');
  for (const temporality of ['cumulative', 'delta']) {
    const ours = await receiver();
    const theirs = await receiver();
    const registry = new Registry();
    const jobs = counterSchema('jobs').help('Jobs run').requireDynamicKey('queue').build({ registry });
    const took = histogramSchema('job_seconds').help('Job time').buckets([0.5, 2]).requireDynamicKey('queue').build({ registry });
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({
        url: `${theirs.url}/v1/metrics`,
        temporalityPreference: temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
      }),
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('parity');
    const otelJobs = meter.createCounter('jobs_total', { description: 'Jobs run' });
    const otelTook = meter.createHistogram('job_seconds', { description: 'Job time', advice: { explicitBucketBoundaries: [0.5, 2] } });
    const ourExporter = exporter({ endpoint: ours.url, registry, temporality });
    try {
      const compare = async (round) => {
        await Promise.all([ourExporter.flush(), reader.forceFlush()]);
        const [a, b] = decodeOtlp([ours.requests.at(-1).body, theirs.requests.at(-1).body]);
        const [left, right] = [metricsOf(a), metricsOf(b)];
        for (const name of ['jobs_total', 'job_seconds']) {
          const [x, y] = [left.get(name), right.get(name)];
          assert.equal(x.description, y.description, `${name} description`);
          const [kind] = Object.keys(y).filter((k) => ['sum', 'histogram'].includes(k));
          assert.ok(x[kind], `${temporality} round ${round}: ${name} is a ${kind} in both`);
          assert.equal(x[kind].aggregationTemporality, y[kind].aggregationTemporality, `${name} temporality`);
          assert.equal(x[kind].isMonotonic, y[kind].isMonotonic, `${name} monotonicity`);
          // A delta sum is a difference of float totals: equal to within rounding.
          const rounded = (v) => (v === undefined ? v : Number(v.toPrecision(12)));
          const points = (data) =>
            data.dataPoints
              .map((p) => ({
                attributes: attributesOf(p.attributes),
                asDouble: rounded(p.asDouble),
                count: p.count,
                sum: rounded(p.sum),
                bucketCounts: p.bucketCounts,
                explicitBounds: p.explicitBounds,
              }))
              .sort((p, q) => p.attributes.queue.localeCompare(q.attributes.queue));
          assert.deepEqual(points(x[kind]), points(y[kind]), `${temporality} round ${round}: ${name} points`);
        }
      };
      for (const [queue, n] of [
        ['mail', 3],
        ['pdf', 1],
      ]) {
        jobs.with({ queue }).add(n);
        otelJobs.add(n, { queue });
        for (const v of [0.2, 1.5, 9].slice(0, n)) {
          took.with({ queue }).observe(v);
          otelTook.record(v, { queue });
        }
      }
      await compare(1);
      jobs.with({ queue: 'mail' }).add(2);
      otelJobs.add(2, { queue: 'mail' });
      took.with({ queue: 'mail' }).observe(0.1);
      otelTook.record(0.1, { queue: 'mail' });
      // In delta, both leave out what did not change (pdf).
      await compare(2);
    } finally {
      await provider.shutdown();
      await Promise.all([ours.close(), theirs.close()]);
    }
  }
});

test('delta: each window starts where the last acknowledged one ended, and a failed one is carried by the next', { timeout: 60_000 }, async () => {
  let failing = false;
  const rx = await receiver(() => (failing ? { status: 503 } : { status: 200 }));
  const registry = new Registry();
  const hits = counterSchema('hits').build({ registry });
  const errors = [];
  const push = exporter({ endpoint: rx.url, registry, temporality: 'delta', exportTimeoutMs: 1500, onError: (e) => errors.push(e.message) });
  hits.add(5);
  await push.flush();
  hits.add(2);
  failing = true;
  await assert.rejects(push.flush(), /503/);
  assert.equal(errors.length, 1, 'reported once');
  assert.match(errors[0], /503 Service Unavailable/);
  assert.ok(rx.requests.length >= 3, 'a 503 is retried');
  hits.add(1);
  failing = false;
  await push.flush();
  const points = rx.requests.map((r, i) => (i === 0 || i === rx.requests.length - 1 ? r.body : null)).filter(Boolean);
  const [first, last] = decodeOtlp(points).map((d) => metricsOf(d).get('hits_total').sum);
  assert.equal(first.aggregationTemporality, 1, 'delta');
  assert.equal(first.dataPoints[0].asDouble, 5);
  assert.equal(last.dataPoints[0].asDouble, 3, 'the failed window (2) and this one (1)');
  assert.equal(last.dataPoints[0].startTimeUnixNano, first.dataPoints[0].timeUnixNano, 'windows chain');
  await rx.close();
});

test('lowmemory: counters go as deltas, figures read at collection time (process CPU) stay cumulative', { timeout: 30_000 }, async () => {
  const rx = await receiver();
  const registry = new Registry();
  const stopDefaults = collectDefaultMetrics({ registry });
  const hits = counterSchema('hits').build({ registry });
  const push = exporter({ endpoint: rx.url, registry, temporality: 'lowmemory' });
  try {
    hits.add(5);
    await push.flush();
    hits.add(2);
    await push.flush();
    const [first, second] = decodeOtlp(rx.requests.map((r) => r.body)).map(metricsOf);
    assert.equal(second.get('hits_total').sum.aggregationTemporality, 1, 'delta');
    assert.equal(second.get('hits_total').sum.dataPoints[0].asDouble, 2);
    const cpu = [first, second].map((metrics) => metrics.get('process_cpu_seconds_total').sum);
    assert.equal(cpu[1].aggregationTemporality, 2, 'cumulative');
    assert.equal(cpu[1].dataPoints[0].startTimeUnixNano, cpu[0].dataPoints[0].startTimeUnixNano, 'from the same start');
    assert.ok(cpu[1].dataPoints[0].asDouble >= cpu[0].dataPoints[0].asDouble, 'a total, not a difference');
  } finally {
    stopDefaults();
    await rx.close();
  }
});

test('a 429 is retried after its Retry-After; a 400 is reported once, named, and never sent again', { timeout: 30_000 }, async () => {
  const status = { code: 3, message: 'metric name is not allowed here' };
  let mode = '429';
  const rx = await receiver((_, n) => {
    if (mode === '429') return n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
    return { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify(status) };
  });
  const registry = new Registry();
  const hits = counterSchema('hits').build({ registry });
  hits.add(1);
  const errors = [];
  const push = exporter({ endpoint: rx.url, registry, temporality: 'delta', onError: (e) => errors.push(e.message) });
  await push.flush();
  assert.equal(rx.requests.length, 2);
  assert.ok(rx.requests[1].at - rx.requests[0].at >= 900, 'waited as Retry-After asked');

  mode = '400';
  hits.add(1);
  await assert.rejects(push.flush(), /400 Bad Request: metric name is not allowed here/);
  assert.equal(rx.requests.length, 3, 'a 400 is not retried');
  hits.add(1);
  await assert.rejects(push.flush(), /400/);
  assert.equal(errors.length, 1, 'the same failure is reported once');
  const [refused] = decodeOtlp([rx.requests[3].body]).map((d) => metricsOf(d).get('hits_total').sum.dataPoints[0]);
  assert.equal(refused.asDouble, 1, 'the refused point is not sent again');
  await rx.close();
});

test('http/json: OTLP/JSON as the specification writes it, read by the official definitions', { timeout: 30_000 }, async () => {
  const rx = await receiver();
  const registry = new Registry();
  counterSchema('json_hits').build({ registry }).add(2);
  gaugeSchema('json_level').build({ registry }).set(-3);
  await exporter({ endpoint: `${rx.url}/custom/path`, registry, protocol: 'http/json', compression: 'none' }).flush();
  const [request] = rx.requests;
  assert.equal(request.path, '/custom/path', 'a URL with a path is used as given');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['content-encoding'], undefined);
  const raw = JSON.parse(request.body.toString());
  const sum = raw.resourceMetrics[0].scopeMetrics[0].metrics.find((m) => m.name === 'json_hits_total').sum;
  assert.equal(sum.aggregationTemporality, 2, 'enums as integers');
  assert.equal(typeof sum.dataPoints[0].timeUnixNano, 'string', '64-bit integers as strings');
  const [decoded] = decodeOtlp([request.body], { json: true });
  const metrics = metricsOf(decoded);
  assert.equal(metrics.get('json_hits_total').sum.dataPoints[0].asDouble, 2);
  assert.equal(metrics.get('json_level').gauge.dataPoints[0].asInt, '-3');
  await rx.close();
});

test('self-metrics count what was sent; credentials never appear in errors', { timeout: 30_000 }, async () => {
  const rx = await receiver((request) => (request.headers.authorization === 'Bearer s3cret-token' ? { status: 200 } : { status: 401 }));
  const registry = new Registry();
  counterSchema('guarded').build({ registry }).add(1);
  const wrong = exporter({ endpoint: rx.url, registry, headers: { authorization: 'Bearer wrong-s3cret' }, onError: () => {} });
  const error = await wrong.flush().then(
    () => assert.fail('a 401 rejects'),
    (e) => e,
  );
  assert.match(error.message, /401 Unauthorized.*check the credentials/);
  assert.doesNotMatch(error.message, /s3cret/);
  assert.throws(
    () => exportOtlp({ endpoint: rx.url, headers: { authorization: 'Bearer s3cret\nx' } }),
    (e) => {
      assert.match(e.message, /header "authorization"/);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    },
  );
  await exporter({ endpoint: rx.url, registry, headers: { authorization: 'Bearer s3cret-token' } }).flush();
  const { registry: main } = await import('slotmetrics');
  const text = await main.metrics();
  const exporterLabel = `exporter="${rx.url}/v1/metrics"`;
  assert.match(text, new RegExp(`slotmetrics_export_points_total\\{${exporterLabel},result="sent"\\} 1\\n`));
  assert.match(text, new RegExp(`slotmetrics_export_points_total\\{${exporterLabel},result="dropped"\\} 1\\n`));
  assert.match(text, new RegExp(`slotmetrics_export_last_success_timestamp_seconds\\{${exporterLabel}\\} \\d`));
  assert.doesNotMatch(text, /s3cret/);
  await rx.close();
});

test('with no options, everything comes from the OTEL_* environment variables', { timeout: 30_000 }, async () => {
  const rx = await receiver();
  const script = `
    const { counterSchema, exportOtlp } = require('slotmetrics');
    counterSchema('env_hits').build().add(4);
    exportOtlp().flush().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['-e', script], {
    env: {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: `${rx.url}/otlp`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-team=core,x-note=a%20b',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-team=metrics',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta',
      OTEL_SERVICE_NAME: 'billing',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,deployment.environment=prod%2Ceu',
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
  const [request] = rx.requests;
  assert.equal(request.path, '/otlp/v1/metrics', 'the generic endpoint gets /v1/metrics');
  assert.equal(request.headers['x-team'], 'metrics', "the metrics variable's header wins");
  assert.equal(request.headers['x-note'], 'a b', 'values are percent-decoded');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['content-encoding'], undefined);
  const [decoded] = decodeOtlp([request.body], { json: true });
  const resource = attributesOf(decoded.resourceMetrics[0].resource.attributes);
  assert.equal(resource['service.name'], 'billing', 'OTEL_SERVICE_NAME wins');
  assert.equal(resource['deployment.environment'], 'prod,eu');
  assert.equal(metricsOf(decoded).get('env_hits_total').sum.aggregationTemporality, 1);
  await rx.close();
});

test('both prom-client entries export, with their own registries', { timeout: 30_000 }, async () => {
  const rx = await receiver();
  for (const entry of ['slotmetrics/prom-client', 'slotmetrics/client']) {
    const client = await import(entry);
    const registry = new client.Registry();
    const name = `compat_${entry === 'slotmetrics/client' ? 'io' : 'pc'}_jobs_total`;
    new client.Counter({ name, help: 'Jobs', labelNames: ['kind'], registers: [registry] }).inc({ kind: 'a' }, 2);
    const push = client.exportOtlp({ endpoint: rx.url, registry, intervalMs: 3_600_000 });
    exporters.push(push);
    await push.flush();
    const point = metricsOf(decodeOtlp([rx.requests.at(-1).body])[0]).get(name).sum.dataPoints[0];
    assert.equal(point.asDouble, 2, entry);
    assert.deepEqual(attributesOf(point.attributes), { kind: 'a' });
  }
  await rx.close();
});

test("exportDatadog(): the API key header, delta only, and requests within the intake's 500 KB", { timeout: 30_000 }, async () => {
  const rx = await receiver();
  const registry = new Registry();
  // About 1.2 MB of protobuf: three requests at least (metrics keep 10,000 series each).
  for (const name of ['dd_a', 'dd_b', 'dd_c', 'dd_d']) {
    const routes = counterSchema(name).requireDynamicKey('route').build({ registry });
    for (let i = 0; i < 3_000; i++) routes.with({ route: `/api/v1/items/${i}/details/${'x'.repeat(40)}` }).add(1);
  }
  const push = exportDatadog({ endpoint: `${rx.url}/v1/metrics`, apiKey: 'dd-s3cret', registry, intervalMs: 3_600_000 });
  exporters.push(push);
  const result = await push.flush();
  assert.ok(result.requests >= 3, `${result.requests} requests`);
  assert.equal(result.points, 12_000);
  for (const request of rx.requests) {
    assert.equal(request.headers['dd-api-key'], 'dd-s3cret');
    assert.ok(request.body.length <= 500_000, `${request.body.length} bytes before compression`);
  }
  const decoded = decodeOtlp(rx.requests.map((r) => r.body));
  const sums = decoded.flatMap((d) => [...metricsOf(d).values()].map((m) => m.sum));
  assert.equal(
    sums.reduce((n, sum) => n + sum.dataPoints.length, 0),
    12_000,
  );
  assert.ok(
    sums.every((sum) => sum.aggregationTemporality === 1),
    'delta',
  );
  assert.throws(() => exportDatadog({ apiKey: 'k', temporality: 'cumulative' }), /delta temporality only/);
  const saved = process.env.DD_API_KEY;
  delete process.env.DD_API_KEY;
  try {
    assert.throws(() => exportDatadog(), /no API key: set DD_API_KEY or pass apiKey/);
  } finally {
    if (saved !== undefined) process.env.DD_API_KEY = saved;
  }
  await rx.close();
});

test('flushOnExit: what was counted leaves at beforeExit, and at SIGTERM before the signal ends the process', { timeout: 30_000 }, async () => {
  const rx = await receiver();
  const run = async (tail, signal) => {
    const script = `
      const { counterSchema, exportOtlp } = require('slotmetrics');
      exportOtlp({ endpoint: '${rx.url}', intervalMs: 3_600_000, flushOnExit: true });
      counterSchema('exit_hits').build().add(3);
      ${tail}`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    if (signal) {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      child.kill(signal);
    }
    return new Promise((resolve) => child.on('exit', (code, killedBy) => resolve({ code, killedBy })));
  };
  assert.deepEqual(await run('', null), { code: 0, killedBy: null });
  assert.equal(rx.requests.length, 1, 'sent at beforeExit');
  const ended = await run("setInterval(() => {}, 1000); console.log('up');", 'SIGTERM');
  assert.equal(ended.killedBy ?? (ended.code === 143 ? 'SIGTERM' : ended.code), 'SIGTERM', 'the signal still ends the process');
  assert.equal(rx.requests.length, 2, 'sent at SIGTERM');
  for (const request of rx.requests) {
    assert.equal(metricsOf(decodeOtlp([request.body])[0]).get('exit_hits_total').sum.dataPoints[0].asDouble, 3);
  }
  await rx.close();
});

test("exemplars carry their trace and span ids, as prom-client's traceId and spanId name them", { timeout: 30_000 }, async () => {
  const rx = await receiver();
  const client = await import('slotmetrics/prom-client');
  const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const requests = new client.Counter({ name: 'ex_otlp_total', help: 'Requests', enableExemplars: true, registers: [registry] });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';
  requests.inc({ value: 2, exemplarLabels: { traceId, spanId, user: 'u1' } });
  await exporter({ endpoint: rx.url, registry: registry.engine, protocol: 'http/json' }).flush();
  const raw = JSON.parse(rx.requests[0].body.toString());
  const [exemplar] = raw.resourceMetrics[0].scopeMetrics[0].metrics.find((m) => m.name === 'ex_otlp_total').sum.dataPoints[0].exemplars;
  assert.equal(exemplar.traceId, traceId, 'hex in OTLP/JSON');
  assert.equal(exemplar.spanId, spanId);
  assert.equal(exemplar.asDouble, 2);
  assert.deepEqual(attributesOf(exemplar.filteredAttributes), { user: 'u1' });
  await rx.close();
});

test('a slow receiver times out and the next export carries the count; a 413 is refused for good with what to change', {
  timeout: 30_000,
}, async () => {
  const registry = new Registry();
  const hits = counterSchema('slow_hits').build({ registry });
  const errors = [];
  // A receiver that answers, but only after the request's timeout.
  const server = http.createServer((req, res) => {
    setTimeout(() => req.socket.destroyed || res.writeHead(200).end(), 1500).unref();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const push = exporter({
    endpoint: `http://127.0.0.1:${server.address().port}`,
    registry,
    temporality: 'delta',
    timeoutMs: 200,
    exportTimeoutMs: 500,
    onError: (e) => errors.push(e.message),
  });
  hits.add(4);
  await assert.rejects(push.flush(), /no answer before the timeout/);
  assert.match(errors[0], /no answer before the timeout/);
  server.closeAllConnections?.();
  server.close();

  const rx = await receiver(() => ({ status: 413 }));
  const big = exporter({ endpoint: rx.url, registry, onError: () => {} });
  await assert.rejects(big.flush(), /413 Payload Too Large.*lower maxPointsPerRequest/);
  assert.equal(rx.requests.length, 1, 'not retried');
  await rx.close();
});

test('a receiver that refuses connections, then comes up: the delta counted meanwhile arrives whole', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const registry = new Registry();
  const hits = counterSchema('down_hits').build({ registry });
  const push = exporter({ endpoint: `http://127.0.0.1:${port}`, registry, temporality: 'delta', exportTimeoutMs: 500, onError: () => {} });
  hits.add(2);
  await assert.rejects(push.flush(), /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/metrics/);
  hits.add(3);
  await assert.rejects(push.flush(), /cannot reach/);
  const bodies = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      bodies.push(zlib.gunzipSync(Buffer.concat(chunks)));
      res.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    hits.add(1);
    await push.flush();
    const [decoded] = decodeOtlp(bodies);
    assert.equal(metricsOf(decoded).get('down_hits_total').sum.dataPoints[0].asDouble, 6);
    await push.stop();
  } finally {
    server.closeAllConnections?.();
    server.close();
  }
});

test('an endpoint down for a minute (refusing, then 503): each failure reported once, nothing queued, every count arrives once', {
  timeout: 110_000,
}, async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const port = await freePort();
  let unavailable = false;
  const accepted = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (unavailable) return res.writeHead(503).end();
      accepted.push(zlib.gunzipSync(Buffer.concat(chunks)));
      res.writeHead(200).end();
    });
  });
  const listen = () => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen();
  const registry = new Registry();
  const hits = counterSchema('outage_hits').requireDynamicKey('shard').build({ registry });
  const shards = Array.from({ length: 50 }, (_, i) => hits.with({ shard: String(i) }));
  let perShard = 0;
  const recording = setInterval(() => {
    for (const shard of shards) shard.add(1);
    perShard += 1;
  }, 20);
  const errors = [];
  const push = exportOtlp({
    endpoint: `http://127.0.0.1:${port}`,
    registry,
    temporality: 'delta',
    intervalMs: 1000,
    exportTimeoutMs: 700,
    onError: (e) => errors.push(e.message),
  });
  try {
    assert.ok(await eventually(() => accepted.length >= 2, Boolean, { ms: 20_000 }), 'two exports before the outage');
    // Down: connections refused for 30 s, then 30 s of 503s from whatever answers there.
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
    const beforeOutage = accepted.length;
    await sleep(30_000);
    unavailable = true;
    await listen();
    await sleep(30_000);
    assert.equal(accepted.length, beforeOutage, 'nothing was accepted while down');
    unavailable = false;
    assert.ok(await eventually(() => accepted.length > beforeOutage, Boolean, { ms: 20_000 }), 'an export after the outage');
    clearInterval(recording);
    await push.stop();

    const points = decodeOtlp(accepted).map((decoded) => metricsOf(decoded).get('outage_hits_total')?.sum.dataPoints ?? []);
    const shardOf = (point) => attributesOf(point.attributes).shard;
    const [lastBefore, firstAfter] = [points[beforeOutage - 1], points[beforeOutage]];
    assert.equal(firstAfter.length, shards.length, 'one point per series after the outage: its windows merged, not queued');
    const endBefore = new Map(lastBefore.map((point) => [shardOf(point), point.timeUnixNano]));
    for (const point of firstAfter) {
      assert.equal(
        point.startTimeUnixNano,
        endBefore.get(shardOf(point)),
        'the window after the outage starts where the last acknowledged one ended',
      );
    }
    const sums = new Map();
    for (const point of points.flat()) sums.set(shardOf(point), (sums.get(shardOf(point)) ?? 0) + point.asDouble);
    assert.deepEqual([...new Set(sums.values())], [perShard], `every shard's deltas add up to its ${perShard} counts`);
    assert.equal(errors.length, 2, `each way of failing reported once in 60 exports: ${errors.join(' | ')}`);
    assert.match(errors[0], /cannot reach/);
    assert.match(errors[1], /503 Service Unavailable/);
    const { registry: main } = await import('slotmetrics');
    const failed = (await main.metrics()).match(
      new RegExp(`slotmetrics_export_points_total\\{exporter="http://127\\.0\\.0\\.1:${port}/v1/metrics",result="failed"\\} (\\d+)`),
    );
    assert.ok(Number(failed?.[1]) >= shards.length * 30, `points not delivered are counted as failed: ${failed?.[1]}`);
  } finally {
    clearInterval(recording);
    server.closeAllConnections?.();
    server.close();
  }
});

test('stop() exports a last time; a stopped exporter refuses to flush', { timeout: 30_000 }, async () => {
  const rx = await receiver();
  const registry = new Registry();
  counterSchema('last').build({ registry }).add(1);
  const push = exportOtlp({ endpoint: rx.url, registry, intervalMs: 3_600_000 });
  await push.stop();
  assert.equal(rx.requests.length, 1);
  await push.stop();
  await assert.rejects(push.flush(), /stopped/);
  assert.throws(() => exportOtlp({ endpoint: 'ftp://x' }), /http:\/\/ or https:\/\//);
  // An onError that throws is a warning, not the end of the process.
  const warned = new Promise((resolve) => process.once('warning', resolve));
  const throwing = exporter({
    endpoint: `${rx.url.replace(/:\d+$/, ':9')}`,
    registry,
    exportTimeoutMs: 200,
    onError: () => {
      throw new Error('listener bug');
    },
  });
  await assert.rejects(throwing.flush(), /cannot reach/);
  assert.match((await warned).message, /and onError threw: listener bug/);
  assert.throws(() => exportOtlp({ temporality: 'sometimes' }), /temporality must be/);
  assert.throws(() => exportOtlp({ intervalMs: 0 }), RangeError);
  await rx.close();
});
