// UTF-8 metric and label names: refused unless a metric opts in; then quoted for a
// scraper that allows them (Prometheus 3's default Accept), escaped for any other.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { counterSchema, histogramSchema, Registry, serve } from 'slotmetrics';
import { decodeMetricFamilies, parseOpenMetricsStrict, parseTextFormat, promtoolCheck } from './helpers.mjs';

const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
const PROTOBUF = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

const registry = new Registry();
const requests = counterSchema('http.server.requests')
  .utf8Names()
  .help('Requests')
  .requireDynamicKey('http.route')
  .requireDynamicKey('code')
  .build({ registry });
requests.with({ 'http.route': '/users "all"', code: '200' }).add(3);
histogramSchema('http.server.duration').utf8Names().buckets([0.1]).build({ registry }).observe(0.05);
counterSchema('plain_total').build({ registry }).increment();
const server = await serve({ port: 0, host: '127.0.0.1', registry, health: false });
after(() => server.close());

async function scrape(accept) {
  const response = await fetch(server.url, { headers: { accept }, signal: AbortSignal.timeout(10_000) });
  return { contentType: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
}

test("Prometheus 3's default Accept gets the names as they are, quoted; the strict OpenMetrics parser reads them", async () => {
  const { contentType, body } = await scrape(PROMETHEUS_3);
  assert.equal(contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8');
  const text = body.toString();
  assert.match(text, /^# TYPE "http\.server\.requests" counter$/m);
  assert.match(text, /^\{"http\.server\.requests_total","http\.route"="\/users \\"all\\"",code="200"\} 3$/m);
  assert.match(text, /^plain_total 1$/m, 'legacy names stay bare');
  const samples = parseOpenMetricsStrict(text);
  const total = samples.find((s) => s.name === 'http.server.requests_total');
  assert.deepEqual(total.labels, { 'http.route': '/users "all"', code: '200' });
  assert.equal(total.value, 3);
  assert.ok(samples.some((s) => s.name === 'http.server.duration_bucket' && s.labels.le === '0.1' && s.value === 1));
});

test('any other scraper gets them escaped: underscores by default, or the scheme it asked for', async () => {
  const plain = (await scrape('')).body.toString();
  assert.match(plain, /^http_server_requests_total\{http_route="\/users \\"all\\"",code="200"\} 3$/m);
  promtoolCheck(plain);
  parseTextFormat(plain);
  const values = (await scrape('text/plain;version=1.0.0;escaping=values')).body.toString();
  assert.match(values, /^U__http_2E_server_2E_requests__total\{U__http_2E_route="\/users \\"all\\"",code="200"\} 3$/m);
  const dots = (await scrape('application/openmetrics-text;version=1.0.0;escaping=dots')).body.toString();
  assert.match(dots, /^http_dot_server_dot_requests__total\{http_dot_route=/m);
  parseOpenMetricsStrict(dots);
});

test('protobuf carries the names as they are when allowed, escaped otherwise', async () => {
  const allowed = decodeMetricFamilies((await scrape(`${PROTOBUF};escaping=allow-utf-8`)).body);
  assert.equal(allowed[0].name, 'http.server.requests_total');
  assert.deepEqual(
    allowed[0].metric[0].label.map((l) => l.name),
    ['http.route', 'code'],
  );
  const escaped = decodeMetricFamilies((await scrape(PROTOBUF)).body);
  assert.equal(escaped[0].name, 'http_server_requests_total');
  assert.equal(escaped[0].metric[0].label[0].name, 'http_route');
});

test('without utf8Names() the legacy rules stand; with it, only empty and reserved names are refused', () => {
  const other = new Registry();
  assert.throws(
    () => counterSchema('http.server.errors').build({ registry: other }),
    /invalid metric name "http\.server\.errors".*opt into UTF-8 names/,
  );
  assert.throws(() => counterSchema('errors').requireDynamicKey('http.route').build({ registry: other }), /invalid label name "http\.route"/);
  assert.throws(() => counterSchema('errors').utf8Names().requireDynamicKey('').build({ registry: other }), /invalid label name ""/);
  assert.throws(() => counterSchema('errors').utf8Names().requireDynamicKey('__x.y').build({ registry: other }), /reserved/);
  counterSchema('errors_total').utf8Names().build({ registry: other });
  assert.throws(() => counterSchema('errors_total').build({ registry: other }), /does not allow UTF-8 names/);
});
