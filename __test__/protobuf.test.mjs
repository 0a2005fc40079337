// Prometheus 3's side of a scrape: content negotiation by the spec's rules, the protobuf
// exposition of every kind (decoded with the official metrics.proto) and created
// timestamps.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { counterSchema, gaugeSchema, gaugeSchemaFloat, histogramSchema, Registry, serve, summarySchema } from 'slotmetrics';
import * as compat from 'slotmetrics/prom-client';
import { decodeMetricFamilies, parseOpenMetricsStrict, parseSamples, promtoolCheck } from './helpers.mjs';

const PROTOBUF = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';
const PROTOBUF_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores';
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';

const startedAt = Date.now() / 1000;
const registry = new Registry();
counterSchema('pb_jobs_total').help('Jobs "done"').requireDynamicKey('queue').build({ registry }).with({ queue: 'a\n"b"' }).add(5);
gaugeSchema('pb_depth').build({ registry }).set(-9n);
gaugeSchemaFloat('pb_temp').build({ registry }).set(-1.5);
const latency = histogramSchema('pb_latency_seconds').buckets([0.1, 1]).requireDynamicKey('route').build({ registry });
for (const v of [0.05, 0.5, 2]) latency.with({ route: '/x' }).observe(v);
const rpc = summarySchema('pb_rpc_seconds').percentiles([0.5, 0.9]).build({ registry });
for (const v of [1, 2, 3, 4]) rpc.observe(v);
registry.setDefaultLabels({ app: 'pb' });
// prom-client's style, with exemplars, in a registry of its own.
const compatRegistry = new compat.Registry(compat.Registry.OPENMETRICS_CONTENT_TYPE);
new compat.Counter({ name: 'pb_compat', help: 'C', labelNames: ['k'], enableExemplars: true, registers: [compatRegistry] }).inc({
  labels: { k: 'v' },
  value: 2,
  exemplarLabels: { trace_id: 'abc' },
});

const server = await serve({ port: 0, host: '127.0.0.1', registry, health: false });
after(() => server.close());

async function scrape(accept, extra = {}) {
  const response = await fetch(server.url, { headers: { accept, ...extra }, signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200);
  return { contentType: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
}

/** The samples a 0.0.4 text of these families would have: Map('name{labels}' → number). */
function textSamples(families) {
  const samples = new Map();
  const key = (name, labels) => {
    const pairs = labels.map(({ name, value }) => `${name}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`);
    return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
  };
  const number = (v) => (v === Infinity ? '+Inf' : String(v));
  for (const family of families) {
    for (const metric of family.metric) {
      const labels = metric.label;
      if (family.type === 'COUNTER') samples.set(key(family.name, labels), metric.counter.value);
      if (family.type === 'GAUGE') samples.set(key(family.name, labels), metric.gauge.value);
      if (family.type === 'HISTOGRAM') {
        for (const b of metric.histogram.bucket) {
          samples.set(key(`${family.name}_bucket`, [...labels, { name: 'le', value: number(b.upperBound) }]), b.cumulativeCount);
        }
        samples.set(key(`${family.name}_sum`, labels), metric.histogram.sampleSum);
        samples.set(key(`${family.name}_count`, labels), metric.histogram.sampleCount);
      }
      if (family.type === 'SUMMARY') {
        for (const q of metric.summary.quantile) {
          samples.set(key(family.name, [...labels, { name: 'quantile', value: number(q.quantile) }]), q.value);
        }
        samples.set(key(`${family.name}_sum`, labels), metric.summary.sampleSum);
        samples.set(key(`${family.name}_count`, labels), metric.summary.sampleCount);
      }
    }
  }
  return samples;
}

test('serve() answers protobuf with every kind: the samples of the text, help and types as defined', async () => {
  const { contentType, body } = await scrape(PROTOBUF);
  assert.equal(contentType, PROTOBUF_TYPE);
  const families = decodeMetricFamilies(body);
  assert.deepEqual(
    families.map((f) => [f.name, f.type]),
    [
      ['pb_jobs_total', 'COUNTER'],
      ['pb_depth', 'GAUGE'],
      ['pb_temp', 'GAUGE'],
      ['pb_latency_seconds', 'HISTOGRAM'],
      ['pb_rpc_seconds', 'SUMMARY'],
    ],
  );
  assert.equal(families[0].help, 'Jobs "done"');
  assert.deepEqual(textSamples(families), parseSamples(await registry.metrics()));
  assert.deepEqual(
    families[0].metric[0].label.map((l) => [l.name, l.value]),
    [
      ['app', 'pb'],
      ['queue', 'a\n"b"'],
    ],
  );
});

test('created timestamps: in protobuf and as _created in OpenMetrics, the time each series was made', async () => {
  const families = decodeMetricFamilies((await scrape(PROTOBUF)).body);
  const created = (metric) => {
    const at = (metric.counter ?? metric.histogram ?? metric.summary).startTimestamp;
    return at.seconds + at.nanos / 1e9;
  };
  const times = families.filter((f) => f.type !== 'GAUGE').flatMap((f) => f.metric.map(created));
  assert.equal(times.length, 3);
  for (const t of times) assert.ok(t >= startedAt - 1 && t <= Date.now() / 1000, `created ${t}`);
  const om = parseOpenMetricsStrict((await scrape('application/openmetrics-text;version=1.0.0')).body.toString());
  const inText = om.filter((s) => s.name.endsWith('_created')).map((s) => s.value);
  assert.equal(inText.length, 3);
  for (const [i, t] of inText.entries()) assert.ok(Math.abs(t - times[i]) < 1e-6, `${t} vs ${times[i]}`);
  // The prom-client entry writes none in OpenMetrics (prom-client's text), but has them in protobuf.
  assert.doesNotMatch(await compatRegistry.metrics(), /_created/);
  const [compatFamily] = decodeMetricFamilies((await compatRegistry.scrape(PROTOBUF)).body);
  assert.ok(created(compatFamily.metric[0]) >= startedAt - 1);
});

test("protobuf carries a counter's exemplar with its timestamp", async () => {
  const [family] = decodeMetricFamilies((await compatRegistry.scrape(PROTOBUF)).body);
  assert.equal(family.name, 'pb_compat');
  const { exemplar } = family.metric[0].counter;
  assert.deepEqual(
    exemplar.label.map((l) => [l.name, l.value]),
    [['trace_id', 'abc']],
  );
  assert.equal(exemplar.value, 2);
  assert.ok(Math.abs(exemplar.timestamp.seconds - Date.now() / 1000) < 60);
});

test("negotiation: Prometheus 3's header, weights in any order, escaping, garbage", async () => {
  const cases = [
    [PROMETHEUS_3, 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8'],
    [`${PROTOBUF};escaping=allow-utf-8;q=0.6,${PROMETHEUS_3}`, `${PROTOBUF_TYPE.replace('underscores', 'allow-utf-8')}`],
    [
      'text/plain;version=0.0.4;q=0.2,application/openmetrics-text;version=0.0.1;q=0.4,*/*;q=0.1',
      'application/openmetrics-text; version=0.0.1; charset=utf-8',
    ],
    ['*/*;q=0.1,text/plain;version=1.0.0;q=0.9,application/openmetrics-text;q=0.5', 'text/plain; version=1.0.0; charset=utf-8; escaping=underscores'],
    ['text/plain;version=1.0.0;escaping=dots', 'text/plain; version=1.0.0; charset=utf-8; escaping=dots'],
    ['application/json', 'text/plain; version=0.0.4; charset=utf-8'],
    [';;q=abc,, ,garbage/*;q=2,text/plain;version=9.9.9,application/openmetrics-text;q=-1', 'text/plain; version=0.0.4; charset=utf-8'],
    ['', 'text/plain; version=0.0.4; charset=utf-8'],
  ];
  for (const [accept, expected] of cases) {
    const { contentType, body } = await scrape(accept);
    assert.equal(contentType, expected, accept);
    const answer = await registry.scrape(accept);
    assert.equal(answer.contentType, expected, `registry.scrape(${accept})`);
    if (!expected.startsWith('application/vnd')) assert.equal(typeof answer.body, 'string');
    if (expected.includes('openmetrics')) parseOpenMetricsStrict(body.toString());
    else if (expected.includes('version=0.0.4')) promtoolCheck(body.toString());
  }
  // The dots scheme doubles underscores, and names a dot _dot_.
  const dots = (await scrape('text/plain;version=1.0.0;escaping=dots')).body.toString();
  assert.match(dots, /^pb__jobs__total\{app="pb",queue="a\\n\\"b\\""\} 5$/m);
});

test('protobuf is gzipped when asked, and HEAD gets its type and no body', async () => {
  const zipped = await fetch(server.url, { headers: { accept: PROTOBUF, 'accept-encoding': 'gzip' } });
  assert.equal(zipped.headers.get('content-type'), PROTOBUF_TYPE);
  // fetch unzips: compare with what a plain request gets.
  const plain = (await scrape(PROTOBUF)).body;
  assert.deepEqual(
    decodeMetricFamilies(Buffer.from(await zipped.arrayBuffer())).map((f) => f.name),
    decodeMetricFamilies(plain).map((f) => f.name),
  );
  const raw = await new Promise((resolve, reject) => {
    import('node:http').then(({ request }) =>
      request(server.url, { headers: { accept: PROTOBUF, 'accept-encoding': 'gzip' } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c)).on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end(),
    );
  });
  assert.equal(raw.encoding, 'gzip');
  assert.ok(decodeMetricFamilies(gunzipSync(raw.body)).length === 5);
  const head = await fetch(server.url, { method: 'HEAD', headers: { accept: PROTOBUF } });
  assert.equal(head.headers.get('content-type'), PROTOBUF_TYPE);
  assert.equal((await head.arrayBuffer()).byteLength, 0);
});
