// The encoder at scale: 100k series streamed over HTTP in many pieces come out whole
// and exact, and a 10k-series body satisfies the strict OpenMetrics parser.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { counterSchema, histogramSchema, registry, serve } from 'slotmetrics';
import { parseOpenMetricsStrict, parseSamples } from './helpers.mjs';

const SERIES = 100_000;
const value = (i) => (i % 97) + (i % 3) * 0.25;

const requests = counterSchema('scale_requests_total')
  .help('Requests by route and code')
  .requireDynamicKey('route')
  .requireDynamicKey('code')
  .cardinalityLimit(SERIES) // above the default limit of 10,000
  .build();
for (let i = 0; i < SERIES; i++) {
  requests.with({ route: `/r/${i % 1000}`, code: String(Math.floor(i / 1000)) }).add(value(i));
}

function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, timeout: 30_000 }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function checkBody(text) {
  const samples = parseSamples(text);
  assert.equal(samples.size, SERIES, 'one sample per series, none lost or doubled');
  for (let k = 0; k < 200; k++) {
    const i = (k * 7919) % SERIES;
    const series = `scale_requests_total{route="/r/${i % 1000}",code="${Math.floor(i / 1000)}"}`;
    assert.equal(samples.get(series), value(i), series);
  }
}

test('100k series stream over HTTP whole and exact, plain and gzip', { timeout: 120_000 }, async () => {
  const server = await serve({ port: 0, host: '127.0.0.1' });
  try {
    const plain = await get(server.url);
    assert.equal(plain.headers['transfer-encoding'], 'chunked', 'the body is streamed as it is encoded');
    assert.ok(plain.body.length > 10 * 64 * 1024, 'in many pieces');
    checkBody(plain.body.toString());
    assert.equal(plain.body.toString(), await registry.metrics());

    const zipped = await get(server.url, { 'accept-encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < plain.body.length / 5);
    assert.equal(gunzipSync(zipped.body).toString(), plain.body.toString());
  } finally {
    await server.close();
  }
});

test('a 10k-series body passes the strict OpenMetrics parser', { timeout: 120_000 }, async () => {
  const sizes = histogramSchema('scale_payload_bytes').help('Payload sizes').buckets([10, 100, 1000]).requireDynamicKey('tenant').build();
  for (let t = 0; t < 2_000; t++) sizes.with({ tenant: `tenant-${t}` }).observe(t);
  const text = await registry.metrics({ format: 'openmetrics' });
  // 10k series: the 2k histogram series and the first 8k counter series.
  const lines = text.split('\n');
  const kept = lines.filter((line) => !line.startsWith('scale_requests_total{') || Number(line.match(/code="(\d+)"/)[1]) < 8);
  const samples = parseOpenMetricsStrict(kept.join('\n'));
  assert.equal(samples.filter((s) => s.name === 'scale_requests_total').length, 8_000);
  const buckets = samples.filter((s) => s.name === 'scale_payload_bytes_bucket' && s.labels.tenant === 'tenant-500');
  assert.deepEqual(
    buckets.map((s) => s.value),
    [0, 0, 1, 1],
  );
  assert.equal(samples.filter((s) => s.name === 'scale_payload_bytes_count').length, 2_000);
});
