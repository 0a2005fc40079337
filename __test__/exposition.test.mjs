// The exposition as real consumers read it: promtool (Prometheus' own text parser and
// linter) for text 0.0.4, and the strict OpenMetrics parser of Python's
// prometheus_client, whose parsed values must equal what was recorded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterSchema, gaugeSchema, gaugeSchemaFloat, histogramSchema, registry } from 'slotmetrics';
import { parseOpenMetricsStrict, promtoolCheck } from './helpers.mjs';

// Label values that need escaping, or that are far from ASCII.
const NASTY = [
  'plain',
  'quote " inside',
  'back\\slash',
  'trailing backslash \\',
  'new\nline',
  '\\n literally',
  '{braces}=,"',
  'emoji 😀 and 日本語',
  'tab\there',
  'nul\u0000byte',
  'ümlaut ß',
  '',
  '#comment-like',
];

const recorded = { counters: new Map(), gauges: new Map(), floats: new Map() };

const requests = counterSchema('escape_requests_total')
  .help('Requests with "quotes", a back\\slash and a\nnewline in the help')
  .staticLabel('service', 'api "v2"\n')
  .requireDynamicKey('path')
  .build();
NASTY.forEach((value, i) => {
  requests.with({ path: value }).add(i + 0.5);
  recorded.counters.set(value, i + 0.5);
});

const big = gaugeSchema('escape_big_value').help('Integers near the int64 limits').requireDynamicKey('edge').build();
for (const [edge, value] of [
  ['max', 2n ** 63n - 1n],
  ['min', -(2n ** 63n)],
  ['zero', 0n],
]) {
  big.with({ edge }).set(value);
  recorded.gauges.set(edge, value);
}

const floats = gaugeSchemaFloat('escape_float_value').help('Special floats').requireDynamicKey('case').build();
for (const [name, value] of [
  ['pos_inf', Infinity],
  ['neg_inf', -Infinity],
  ['nan', NaN],
  ['tiny', 5e-324],
  ['huge', 1.7976931348623157e308],
  ['third', 1 / 3],
  ['negative', -42.125],
  ['neg_zero', -0],
]) {
  floats.with({ case: name }).set(value);
  recorded.floats.set(name, value);
}

const sizes = histogramSchema('escape_payload_bytes').help('Payload sizes').buckets([0.5, 1, 1e3, 1e6, 1e21]).requireDynamicKey('kind').build();
const observations = [0, 0.5, 0.75, 999, 1e3, 5e5, 2e6, 1e22, -3];
for (const value of observations) sizes.with({ kind: 'ünï "ćode"' }).observe(value);
histogramSchema('escape_empty_seconds').help('A histogram with no observations').build();

test('text 0.0.4 passes promtool check metrics with no problems', async () => {
  const body = await registry.metrics();
  const { status, output } = promtoolCheck(body);
  assert.equal(status, 0, `promtool reported:\n${output}\n--- body ---\n${body}`);
});

test('OpenMetrics passes the strict parser, which gives back exactly what was recorded', async () => {
  const samples = parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' }));
  const of = (name) => samples.filter((s) => s.name === name);

  const counters = of('escape_requests_total');
  assert.equal(counters.length, NASTY.length);
  for (const s of counters) {
    assert.equal(s.type, 'counter');
    assert.equal(s.family, 'escape_requests');
    assert.equal(s.documentation, 'Requests with "quotes", a back\\slash and a\nnewline in the help');
    assert.equal(s.labels.service, 'api "v2"\n');
    assert.ok(recorded.counters.has(s.labels.path), `label value ${JSON.stringify(s.labels.path)} came back as recorded`);
    assert.equal(s.value, recorded.counters.get(s.labels.path));
  }

  // Parsers (and Prometheus) read values as float64; the text itself is exact.
  const ints = of('escape_big_value');
  assert.equal(ints.length, 3);
  for (const s of ints) assert.equal(s.value, Number(recorded.gauges.get(s.labels.edge)), s.labels.edge);
  const text = await registry.metrics({ format: 'openmetrics' });
  for (const [edge, value] of recorded.gauges) assert.ok(text.includes(`escape_big_value{edge="${edge}"} ${value}\n`), edge);

  const fl = of('escape_float_value');
  assert.equal(fl.length, recorded.floats.size);
  for (const s of fl) {
    // -0 is written as 0 (as JavaScript prints it), which parses back as 0.
    const want = recorded.floats.get(s.labels.case);
    assert.ok(Object.is(s.value, want) || (Object.is(want, -0) && s.value === 0), `${s.labels.case}: ${s.value}`);
  }

  const buckets = of('escape_payload_bytes_bucket');
  const expected = [0.5, 1, 1e3, 1e6, 1e21, Infinity].map((le) => observations.filter((v) => v <= le).length);
  assert.deepEqual(
    buckets.map((s) => s.value),
    expected,
  );
  assert.deepEqual(
    buckets.map((s) => s.labels.le),
    ['0.5', '1', '1000', '1000000', '1e21', '+Inf'],
  );
  assert.ok(buckets.every((s) => s.labels.kind === 'ünï "ćode"'));
  assert.equal(of('escape_payload_bytes_count')[0].value, observations.length);
  assert.equal(
    of('escape_payload_bytes_sum')[0].value,
    observations.reduce((a, b) => a + b),
  );
  assert.equal(of('escape_empty_seconds_count')[0].value, 0);
});

test('a scrape taken while threads observe is still accepted by the strict parser', { timeout: 60_000 }, async () => {
  const { Worker } = await import('node:worker_threads');
  const source = `
    const { parentPort } = require('node:worker_threads');
    const h = require('slotmetrics').histogramSchema('escape_busy_seconds').help('Busy').buckets([0.1, 0.2, 0.3]).build();
    parentPort.postMessage('ready');
    for (let i = 0; ; i++) h.observe((i % 40) / 100);`;
  const workers = [new Worker(source, { eval: true }), new Worker(source, { eval: true })];
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  try {
    for (let i = 0; i < 20; i++) {
      const samples = parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' }));
      const count = samples.find((s) => s.name === 'escape_busy_seconds_count').value;
      const inf = samples.find((s) => s.name === 'escape_busy_seconds_bucket' && s.labels.le === '+Inf').value;
      assert.equal(count, inf);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
});
