// setErrorPolicy(): updates with wrong labels dropped and counted instead of thrown,
// and prom-client metrics constructed twice reused (get-or-create). Both off by default.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { counterSchema, errorPolicy, gaugeSchema, histogramSchema, registry, setErrorPolicy, summarySchema } from 'slotmetrics';
import * as client from 'slotmetrics/prom-client';
import { parseSamples } from './helpers.mjs';

const warnings = [];
process.on('warning', (warning) => {
  if (warning.code === 'SLOTMETRICS_INVALID_LABELS') warnings.push(warning.message);
});

afterEach(() => setErrorPolicy({ invalidLabels: 'throw', duplicateMetrics: 'throw' }));

const dropped = async (metric) => parseSamples(await registry.metrics()).get(`slotmetrics_invalid_labels_total{metric="${metric}"}`);
const nextTick = () => new Promise((resolve) => setImmediate(resolve));

test("by default both are off: wrong labels throw, a second construction throws prom-client's error", () => {
  assert.deepEqual(errorPolicy(), { invalidLabels: 'throw', duplicateMetrics: 'throw' });
  const family = counterSchema('policy_default_total').help('h').requireDynamicKey('route').build();
  assert.throws(() => family.with({ rout: '/' }), /unexpected label "rout"/);
  assert.throws(() => family.with({}), /missing dynamic label "route"/);
  const counter = new client.Counter({ name: 'policy_default_compat_total', help: 'h', labelNames: ['a'] });
  assert.throws(() => counter.inc({ b: '1' }), /Added label "b" is not included in initial labelset/);
  assert.throws(
    () => new client.Counter({ name: 'policy_default_compat_total', help: 'h', labelNames: ['a'] }),
    /A metric with the name policy_default_compat_total has already been registered\.$/,
  );
});

test('drop: with() with an unknown, missing or mistyped label records nothing, counts each update and warns once', async () => {
  setErrorPolicy({ invalidLabels: 'drop' });
  const family = counterSchema('policy_drop_total').help('h').requireDynamicKey('route').build();
  family.with({ route: '/ok' }).increment();
  family.with({ rout: '/' }).increment();
  family.with({}).add(5);
  family.with({ route: {} }).increment();
  family.with(null).increment();
  await nextTick();
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('policy_drop_total{route="/ok"}'), 1);
  assert.equal([...samples.keys()].filter((key) => key.startsWith('policy_drop_total')).length, 1, 'no other series');
  assert.equal(await dropped('policy_drop_total'), 4);
  const mine = warnings.filter((message) => message.includes('"policy_drop_total"'));
  assert.equal(mine.length, 1, 'one warning per metric');
  assert.match(mine[0], /unexpected label "rout".*dropped/);
});

test('drop: the handle a dropped update gets works for every kind and reaches no series', async () => {
  setErrorPolicy({ invalidLabels: 'drop' });
  const gauge = gaugeSchema('policy_drop_gauge').help('h').requireDynamicKey('k').build();
  const histogram = histogramSchema('policy_drop_seconds').help('h').requireDynamicKey('k').build();
  const native = histogramSchema('policy_drop_native_seconds').help('h').requireDynamicKey('k').native().build();
  const summary = summarySchema('policy_drop_summary').help('h').requireDynamicKey('k').build();
  gauge.with({ x: 1 }).set(7);
  histogram.with({ x: 1 }).observe(0.2);
  histogram.with({ x: 1 }).startTimer()();
  native.with({ x: 1 }).observe(1e6); // far outside any window: no native call for a dropped handle
  summary.with({ x: 1 }).observe(3);
  assert.throws(() => histogram.with({ x: 1 }).observe(Number.NaN), RangeError, 'the value is still checked');
  const text = await registry.metrics();
  assert.doesNotMatch(text, /^policy_drop_(gauge|seconds|native_seconds|summary)[_{ ]/m);
  for (const metric of ['policy_drop_gauge', 'policy_drop_seconds', 'policy_drop_native_seconds', 'policy_drop_summary']) {
    assert.ok((await dropped(metric)) >= 1, metric);
  }
});

test('drop is process-wide: a worker thread follows the policy the main thread set', async () => {
  setErrorPolicy({ invalidLabels: 'drop' });
  await new Promise((resolve, reject) => {
    const worker = new Worker(
      `const f = require('slotmetrics').counterSchema('policy_worker_total').help('h').requireDynamicKey('k').build();
       f.with({ wrong: 'x' }).increment();
       f.with({ k: 'right' }).increment();`,
      { eval: true },
    );
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  });
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('policy_worker_total{k="right"}'), 1);
  assert.equal(await dropped('policy_worker_total'), 1);
});

test('drop, slotmetrics/prom-client: unknown labels and a wrong number of label values are dropped and counted', async () => {
  setErrorPolicy({ invalidLabels: 'drop' });
  const counter = new client.Counter({ name: 'policy_compat_total', help: 'h', labelNames: ['a'] });
  const gauge = new client.Gauge({ name: 'policy_compat_gauge', help: 'h', labelNames: ['a'] });
  const histogram = new client.Histogram({ name: 'policy_compat_seconds', help: 'h', labelNames: ['a'] });
  const summary = new client.Summary({ name: 'policy_compat_summary', help: 'h', labelNames: ['a'] });
  counter.inc({ b: '1' });
  counter.inc({ b: '1' }, -1); // the label error comes first, as in prom-client: dropped, not thrown
  counter.labels('1', '2').inc();
  counter.inc({ a: 'kept' });
  gauge.set({ b: '1' }, 3);
  gauge.labels({ b: '1' }).inc();
  histogram.observe({ b: '1' }, 0.1);
  histogram.labels({ b: '1' }).observe(0.1);
  summary.observe({ b: '1' }, 0.1);
  assert.throws(() => counter.inc({ a: 'kept' }, -1), /It is not possible to decrease a counter/, 'value errors still throw');
  const samples = parseSamples(await client.register.metrics());
  assert.equal(samples.get('policy_compat_total{a="kept"}'), 1);
  assert.equal([...samples.keys()].filter((key) => /^policy_compat_(total|gauge)/.test(key)).length, 1);
  assert.equal(samples.get('policy_compat_seconds_count'), undefined);
  assert.equal(await dropped('policy_compat_total'), 3);
  assert.equal(await dropped('policy_compat_gauge'), 2);
  assert.equal(await dropped('policy_compat_seconds'), 2);
  assert.equal(await dropped('policy_compat_summary'), 1);
});

test('drop, slotmetrics/prom-client: an update with exemplar labels dropped for its labels sets no exemplar', async () => {
  setErrorPolicy({ invalidLabels: 'drop' });
  const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const counter = new client.Counter({ name: 'policy_traced', help: 'h', labelNames: ['a'], enableExemplars: true, registers: [registry] });
  counter.inc({ labels: { a: 'kept' }, value: 2, exemplarLabels: { traceId: 'kept' } });
  counter.inc({ labels: { b: '1' }, value: 3, exemplarLabels: { traceId: 'dropped' } });
  // Wrong labels and a wrong exemplar: the labels' error comes first, so it is dropped too.
  counter.inc({ labels: { b: '1' }, value: 1, exemplarLabels: { traceId: 'x'.repeat(130) } });
  const histogram = new client.Histogram({
    name: 'policy_traced_seconds',
    help: 'h',
    labelNames: ['a'],
    buckets: [1],
    enableExemplars: true,
    registers: [registry],
  });
  histogram.observe({ labels: { a: 'kept' }, value: 0.5, exemplarLabels: { traceId: 'kept' } });
  histogram.observe({ labels: { b: '1' }, value: 0.5, exemplarLabels: { traceId: 'dropped' } });
  histogram.observe({ labels: { b: '1' }, value: 0.5, exemplarLabels: { traceId: 'x'.repeat(130) } });
  const text = await registry.metrics();
  assert.match(text, /^policy_traced_total\{a="kept"\} 2 # \{traceId="kept"\} 2 /m);
  assert.match(text, /^policy_traced_seconds_bucket\{le="1",a="kept"\} 1 # \{traceId="kept"\} 0\.5 /m);
  assert.doesNotMatch(text, /dropped/);
  assert.equal(text.match(/^policy_traced_total/gm).length, 1, text);
  assert.equal(text.match(/^policy_traced_seconds_count/gm).length, 1, text);
  assert.equal(await dropped('policy_traced'), 2);
  assert.equal(await dropped('policy_traced_seconds'), 2);
});

test('reuse: constructing a prom-client metric again with its definition gives the registered one', () => {
  setErrorPolicy({ duplicateMetrics: 'reuse' });
  const registers = [new client.Registry()];
  const make = {
    counter: (extra = {}) => new client.Counter({ name: 'reused_total', help: 'h', labelNames: ['a'], registers, ...extra }),
    gauge: (extra = {}) => new client.Gauge({ name: 'reused_gauge', help: 'h', registers, ...extra }),
    histogram: (extra = {}) => new client.Histogram({ name: 'reused_seconds', help: 'h', buckets: [1, 2], registers, ...extra }),
    summary: (extra = {}) => new client.Summary({ name: 'reused_summary', help: 'h', percentiles: [0.5], registers, ...extra }),
  };
  for (const [kind, build] of Object.entries(make)) {
    const first = build();
    assert.equal(build(), first, kind);
  }
  make.counter().inc({ a: 'x' });
  assert.equal(registers[0].getSingleMetric('reused_total'), make.counter());
});

test('reuse: another definition under the name still throws, naming what differs', () => {
  setErrorPolicy({ duplicateMetrics: 'reuse' });
  const registers = [new client.Registry()];
  new client.Histogram({ name: 'clash_seconds', help: 'h', labelNames: ['a'], buckets: [1, 2], registers });
  const again = (config) => () =>
    new client.Histogram({ name: 'clash_seconds', help: 'h', labelNames: ['a'], buckets: [1, 2], registers, ...config });
  assert.throws(again({ help: 'other' }), /already been registered, with another definition \(.*help "other"/);
  assert.throws(again({ buckets: [1, 3] }), /already been registered, with another definition \(.*buckets \[1, 3\]/);
  assert.throws(again({ labelNames: ['b'] }), /already been registered, with the labels \[a\]/);
  assert.throws(
    () => new client.Gauge({ name: 'clash_seconds', help: 'h', labelNames: ['a'], registers }),
    /already been registered, as a histogram/,
  );
  assert.doesNotThrow(again({}));
});

test('setErrorPolicy() refuses what it does not know; a field left out keeps its setting', () => {
  assert.throws(() => setErrorPolicy({ invalidLabels: 'ignore' }), /invalidLabels must be 'throw' or 'drop', got the string "ignore"/);
  assert.throws(() => setErrorPolicy({ duplicates: 'reuse' }), /unknown option "duplicates"/);
  assert.throws(() => setErrorPolicy('drop'), TypeError);
  setErrorPolicy({ invalidLabels: 'drop' });
  setErrorPolicy({ duplicateMetrics: 'reuse' });
  assert.deepEqual(errorPolicy(), { invalidLabels: 'drop', duplicateMetrics: 'reuse' });
});
