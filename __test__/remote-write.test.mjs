// exportRemoteWrite(): a real Prometheus (Debian's 2.42) receives the pushes on
// 127.0.0.1 and its query API answers with what was recorded; with native histograms
// off, it refuses them and gets their count and sum instead. A loopback receiver checks
// the specification's headers, credentials and retries, and decodes 2.0 requests with
// the specification's schema.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { counterSchema, exportRemoteWrite, gaugeSchemaFloat, histogramSchema, Registry, summarySchema } from 'slotmetrics';
import SnappyJS from 'snappyjs';
import { freePort } from './helpers.mjs';

/** Starts a Prometheus that takes remote write, with these extra flags; resolves to { base, stop() } once it is ready. */
async function startPrometheus(flags) {
  const dir = mkdtempSync(join(tmpdir(), 'slotmetrics-rw-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), 'global: { scrape_interval: 1m }\n');
  const prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      ...flags,
    ],
    { stdio: 'ignore' },
  );
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => prometheus.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${base}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { base, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error('Prometheus did not become ready');
}

async function query(base, promql) {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(5000) });
  const body = await response.json();
  assert.equal(body.status, 'success', `${promql}: ${JSON.stringify(body)}`);
  return body.data.result;
}

const value = async (base, promql) => Number((await query(base, promql))[0]?.value[1]);

test('a real Prometheus stores every kind pushed, native histograms as native histograms', { timeout: 60_000 }, async () => {
  const prometheus = await startPrometheus(['--enable-feature=native-histograms']);
  try {
    const registry = new Registry({ defaultLabels: { region: 'eu-1' } });
    counterSchema('rw_orders').requireDynamicKey('plan').build({ registry }).with({ plan: 'pro' }).add(3);
    gaugeSchemaFloat('rw_load').build({ registry }).set(0.5);
    const latency = histogramSchema('rw_latency_seconds').buckets([0.1, 1]).build({ registry });
    for (const v of [0.05, 0.5, 0.5, 3]) latency.observe(v);
    const sizes = histogramSchema('rw_size_bytes').native({ bucketFactor: 2 }).build({ registry });
    for (const v of [3, 3, 10]) sizes.observe(v);
    const waits = summarySchema('rw_wait_seconds').percentiles([0.5]).build({ registry });
    for (const v of [1, 2, 3]) waits.observe(v);
    const push = exportRemoteWrite({ url: `${prometheus.base}/api/v1/write`, registry, labels: { job: 'rw-test' }, intervalMs: 3_600_000 });
    const result = await push.flush();
    await push.stop();
    assert.equal(result.requests, 1);
    const series = await query(prometheus.base, 'rw_orders_total');
    assert.equal(series.length, 1);
    assert.deepEqual(series[0].metric, {
      __name__: 'rw_orders_total',
      job: 'rw-test',
      instance: series[0].metric.instance,
      plan: 'pro',
      region: 'eu-1',
    });
    assert.ok(series[0].metric.instance, 'instance from the host name');
    assert.equal(Number(series[0].value[1]), 3);
    assert.equal(await value(prometheus.base, 'rw_load'), 0.5);
    assert.equal(await value(prometheus.base, 'rw_latency_seconds_bucket{le="1"}'), 3);
    assert.equal(await value(prometheus.base, 'rw_latency_seconds_count'), 4);
    assert.equal(await value(prometheus.base, 'rw_wait_seconds{quantile="0.5"}'), 2);
    assert.equal(await value(prometheus.base, 'histogram_count(rw_size_bytes)'), 3);
    assert.equal(await value(prometheus.base, 'histogram_sum(rw_size_bytes)'), 16);
    // Two of three observations in (2, 4]: the median is inside that bucket.
    const median = await value(prometheus.base, 'histogram_quantile(0.5, rw_size_bytes)');
    assert.ok(median > 2 && median <= 4, `median ${median}`);
    assert.deepEqual(await query(prometheus.base, 'rw_size_bytes_count'), [], 'no float samples beside the native histogram');
  } finally {
    await prometheus.stop();
  }
});

test('a Prometheus without native histograms refuses them once; their count and sum go instead, and nothing else is lost', {
  timeout: 60_000,
}, async () => {
  const prometheus = await startPrometheus([]);
  try {
    const registry = new Registry();
    counterSchema('rw_plain').build({ registry }).add(2);
    const sizes = histogramSchema('rw_native_bytes').native().build({ registry });
    for (const v of [1, 5, 9]) sizes.observe(v);
    const notices = [];
    const push = exportRemoteWrite({
      url: `${prometheus.base}/api/v1/write`,
      registry,
      intervalMs: 3_600_000,
      onError: (e) => notices.push(e.message),
    });
    await push.flush();
    sizes.observe(1);
    await push.flush();
    await push.stop();
    assert.equal(notices.length, 1, notices.join('\n'));
    assert.match(notices[0], /refused native histograms.*native histograms are disabled/);
    assert.equal(await value(prometheus.base, 'rw_plain_total'), 2, 'the floats of the refused request arrived');
    assert.equal(await value(prometheus.base, 'rw_native_bytes_count'), 4);
    assert.equal(await value(prometheus.base, 'rw_native_bytes_sum'), 16);
  } finally {
    await prometheus.stop();
  }
});

test('the specification headers and credentials; 5xx retried, 400 refused once and named', { timeout: 30_000 }, async () => {
  const requests = [];
  let answer = 200;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(req.headers);
      // In 503 mode every other request fails: the first attempt, then its retry succeeds.
      const status = answer === 503 ? (requests.length % 2 === 0 ? 503 : 200) : answer;
      res.writeHead(status);
      res.end(status === 400 ? 'out of order sample' : '');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/api/v1/write`;
  const registry = new Registry();
  counterSchema('rw_headers').build({ registry }).add(1);
  const errors = [];
  try {
    const push = exportRemoteWrite({
      url,
      registry,
      basicAuth: { username: 'u', password: 'p4ss' },
      intervalMs: 3_600_000,
      onError: (e) => errors.push(e.message),
    });
    await push.flush();
    const [headers] = requests;
    assert.equal(headers['content-encoding'], 'snappy');
    assert.equal(headers['content-type'], 'application/x-protobuf');
    assert.equal(headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.match(headers['user-agent'], /^slotmetrics\//);
    assert.equal(headers.authorization, `Basic ${Buffer.from('u:p4ss').toString('base64')}`);

    answer = 503;
    await push.flush();
    assert.equal(requests.length, 3, 'a 503, then the retry');
    answer = 400;
    await assert.rejects(push.flush(), /400 Bad Request: out of order sample/);
    assert.equal(requests.length, 4, 'a 400 is not retried');
    assert.doesNotMatch(errors.join('\n'), /p4ss/);
    assert.throws(() => exportRemoteWrite({ url, headers: { 'Content-Encoding': 'gzip' } }), /set by the remote-write specification/);
    assert.throws(() => exportRemoteWrite({ url, basicAuth: { username: 'u', password: 'x' }, bearerToken: 't' }), /not both/);
    answer = 200;
    await push.stop();
  } finally {
    server.closeAllConnections?.();
    server.close();
  }
});

const requestV2 = protobuf
  .loadSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures/remote-write-v2.proto'))
  .lookupType('io.prometheus.write.v2.Request');

/** A 2.0 request body as plain objects, every reference resolved through the symbol table. */
function decodeV2(body) {
  const request = requestV2.toObject(requestV2.decode(SnappyJS.uncompress(body)), {
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
  });
  const { symbols } = request;
  const pairs = (refs) => Object.fromEntries(refs.flatMap((ref, i) => (i % 2 === 0 ? [[symbols[ref], symbols[refs[i + 1]]]] : [])));
  return {
    symbols,
    series: request.timeseries.map((series) => ({
      ...series,
      names: series.labelsRefs.filter((_, i) => i % 2 === 0).map((ref) => symbols[ref]),
      labels: pairs(series.labelsRefs),
      help: symbols[series.metadata.helpRef],
      exemplars: series.exemplars.map((exemplar) => ({ ...exemplar, labels: pairs(exemplar.labelsRefs) })),
    })),
  };
}

test('version 2.0: symbols, metadata, start times and exemplars, read with the specification schema', { timeout: 30_000 }, async () => {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204, { 'X-Prometheus-Remote-Write-Samples-Written': '0', 'X-Prometheus-Remote-Write-Histograms-Written': '0' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = await import('slotmetrics/prom-client');
    const before = Date.now();
    const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
    const orders = new client.Counter({ name: 'v2_orders_total', help: 'Orders taken', enableExemplars: true, registers: [registry] });
    orders.inc({ value: 2, exemplarLabels: { trace_id: 'abc', span_id: 'def' } });
    new client.Gauge({ name: 'v2_load', help: 'Load', registers: [registry] }).set(0.5);
    const sizes = histogramSchema('v2_size_bytes').help('Sizes').native({ bucketFactor: 2 }).build({ registry: registry.engine });
    for (const v of [3, 3, 10]) sizes.observe(v);
    const push = exportRemoteWrite({
      url: `http://127.0.0.1:${server.address().port}/api/v1/write`,
      registry: registry.engine,
      labels: { job: 'v2' },
      version: '2.0',
      intervalMs: 3_600_000,
    });
    const result = await push.flush();
    await push.stop();
    assert.equal(result.points, 3);
    const { headers, body } = requests[0];
    assert.equal(headers['content-type'], 'application/x-protobuf;proto=io.prometheus.write.v2.Request');
    assert.equal(headers['x-prometheus-remote-write-version'], '2.0.0');
    assert.equal(headers['content-encoding'], 'snappy');
    const { symbols, series } = decodeV2(body);
    assert.equal(symbols[0], '', 'the symbol table starts with the empty string');
    assert.equal(new Set(symbols).size, symbols.length, 'every symbol once');
    const byName = Object.fromEntries(series.map((s) => [s.labels.__name__, s]));
    for (const one of series) assert.deepEqual(one.names, [...one.names].sort(), 'label names sorted');

    const counter = byName.v2_orders_total;
    assert.deepEqual(counter.labels, { __name__: 'v2_orders_total', instance: counter.labels.instance, job: 'v2' });
    assert.equal(counter.metadata.type, 'METRIC_TYPE_COUNTER');
    assert.equal(counter.help, 'Orders taken');
    assert.equal(counter.samples.length, 1);
    assert.equal(counter.samples[0].value, 2);
    const { startTimestamp, timestamp } = counter.samples[0];
    // A series starts when the engine registers it: after the test began, before it is read.
    assert.ok(startTimestamp >= before && startTimestamp <= timestamp, `start ${startTimestamp}, at ${timestamp}, test began ${before}`);
    assert.equal(counter.exemplars.length, 1);
    assert.deepEqual(counter.exemplars[0].labels, { span_id: 'def', trace_id: 'abc' });
    assert.equal(counter.exemplars[0].value, 2);
    assert.ok(counter.exemplars[0].timestamp >= before, 'an exemplar carries its time');

    const gauge = byName.v2_load;
    assert.equal(gauge.metadata.type, 'METRIC_TYPE_GAUGE');
    assert.equal(gauge.samples[0].value, 0.5);
    assert.equal(gauge.samples[0].startTimestamp, 0, 'a gauge has no start');

    const histogram = byName.v2_size_bytes;
    assert.equal(histogram.metadata.type, 'METRIC_TYPE_HISTOGRAM');
    assert.equal(histogram.samples.length, 0, 'samples or histograms, never both');
    const [native] = histogram.histograms;
    assert.equal(native.countInt, 3);
    assert.equal(native.sum, 16);
    assert.ok(native.startTimestamp >= before && native.startTimestamp <= native.timestamp);
  } finally {
    server.closeAllConnections?.();
    server.close();
  }
});

test('version 2.0 to a receiver that only speaks 1.0 (Prometheus 2.42): not counted as sent, and said so', { timeout: 60_000 }, async () => {
  const prometheus = await startPrometheus([]);
  try {
    const registry = new Registry();
    counterSchema('rw_v2_lost').build({ registry }).add(1);
    const push = exportRemoteWrite({ url: `${prometheus.base}/api/v1/write`, registry, version: '2.0', intervalMs: 3_600_000, onError: () => {} });
    await assert.rejects(
      push.flush(),
      /without any X-Prometheus-Remote-Write-\*-Written header: it does not speak remote write 2\.0.*set version '1\.0'/,
    );
    await push.stop();
    assert.deepEqual(await query(prometheus.base, 'rw_v2_lost_total'), [], 'Prometheus 2.42 stored nothing of it');
    assert.throws(
      () => exportRemoteWrite({ url: `${prometheus.base}/api/v1/write`, version: '3.0' }),
      /version must be '1.0' or '2.0', got the string "3.0"/,
    );
  } finally {
    await prometheus.stop();
  }
});
