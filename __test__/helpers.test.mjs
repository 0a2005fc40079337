// metrics.* helpers (seed 000): names, buckets, conflicts, labels and bad arguments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { HELPER_BUCKETS, metrics, registry } from 'slotmetrics';
import { parseOpenMetricsStrict, parseSamples } from './helpers.mjs';

test("names get the js_user_ prefix, counters one _total, histograms the seed's buckets", async () => {
  metrics.increment('api_requests');
  metrics.increment('api_requests', {});
  metrics.increment('api_requests_total'); // the same counter: _total is not doubled
  metrics.add('api_requests', 2.5);
  metrics.increment('errors', { method: 'POST', endpoint: '/users', status: 'success' });
  metrics.gauge('queue_size', 42);
  metrics.gauge('cpu_temperature', 65.5, { sensor: 'cpu0' });
  metrics.histogram('request_duration', 0.25, { endpoint: '/users' });
  metrics.histogram('request_duration', 0.001, { endpoint: '/users' });

  const samples = parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' }));
  // Samples of a family but its created timestamps, checked once below.
  const family = (name) => samples.filter((s) => s.family === name && !s.name.endsWith('_created'));
  const [total, created] = samples.filter((s) => s.family === 'js_user_api_requests');
  assert.deepEqual([total.name, total.type, total.value], ['js_user_api_requests_total', 'counter', 5.5]);
  // OpenMetrics' created timestamp: when the series was registered, in this test.
  assert.equal(created.name, 'js_user_api_requests_created');
  assert.ok(Math.abs(created.value - Date.now() / 1000) < 60, `created ${created.value}`);
  assert.deepEqual(
    family('js_user_errors').map((s) => [s.name, s.labels]),
    [['js_user_errors_total', { endpoint: '/users', method: 'POST', status: 'success' }]],
  );
  assert.deepEqual(
    family('js_user_queue_size').map((s) => [s.type, s.value]),
    [['gauge', 42]],
  );
  assert.deepEqual(
    family('js_user_cpu_temperature').map((s) => [s.labels.sensor, s.value]),
    [['cpu0', 65.5]],
  );
  const buckets = samples.filter((s) => s.name === 'js_user_request_duration_bucket');
  assert.deepEqual(HELPER_BUCKETS, [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  assert.deepEqual(
    buckets.map((s) => s.labels.le),
    [...HELPER_BUCKETS.map(String), '+Inf'],
  );
  assert.deepEqual(
    buckets.map((s) => s.value),
    [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2],
  );
  assert.equal(samples.find((s) => s.name === 'js_user_request_duration_count').value, 2);
  assert.equal(family('js_user_request_duration')[0].type, 'histogram');
});

test('the prefix is configurable, empty included', async () => {
  try {
    metrics.configure({ prefix: '' });
    metrics.increment('bare_events');
    metrics.configure({ prefix: 'app_' });
    metrics.gauge('workers', 3);
  } finally {
    metrics.configure({ prefix: 'js_user_' });
  }
  const s = parseSamples(await registry.metrics());
  assert.equal(s.get('bare_events_total'), 1);
  assert.equal(s.get('app_workers'), 3);
  assert.throws(() => metrics.configure({ prefix: 1 }), /prefix must be a string, got number 1/);
  assert.throws(() => metrics.configure({ prefx: 'a' }), /unknown option "prefx"/);
});

test('a name keeps the type and label keys of its first use; nothing recorded is lost', async () => {
  metrics.increment('jobs', { queue: 'mail' });
  const cases = [
    [
      () => metrics.gauge('jobs', 1, { queue: 'mail' }),
      /metric "jobs" was first used with metrics.increment\(\) as a counter; metrics.gauge\(\) cannot record it/,
    ],
    [() => metrics.histogram('jobs', 1), /first used with metrics.increment\(\)/],
    [() => metrics.increment('jobs'), /metrics.increment\(\) "jobs": labels \{\} differ from its first use's \{queue\}/],
    [() => metrics.increment('jobs', { queue: 'mail', tenant: 'a' }), /unexpected label "tenant" for metric "js_user_jobs"/],
    [() => metrics.increment('jobs', { tenant: 'a' }), /unexpected label "tenant" for metric "js_user_jobs": its dynamic keys are \[queue\]/],
  ];
  for (const [call, pattern] of cases) {
    assert.throws(call, (e) => e instanceof TypeError && pattern.test(e.message), String(pattern));
  }
  metrics.increment('jobs', { queue: 'mail' });
  assert.equal(parseSamples(await registry.metrics()).get('js_user_jobs_total{queue="mail"}'), 2);
});

test('label values: numbers and booleans become strings, anything else is a TypeError', async () => {
  metrics.increment('calls', { code: 200, ok: true });
  metrics.increment('calls', { ok: 'true', code: '200' });
  assert.equal(parseSamples(await registry.metrics()).get('js_user_calls_total{code="200",ok="true"}'), 2);
  const bad = [
    [{ code: 200, ok: null }, /label "ok" .* got null/],
    [{ code: 200, ok: 1n }, /label "ok" .* got bigint 1/],
    [{ code: [200], ok: true }, /label "code" .* got an array/],
  ];
  for (const [labels, pattern] of bad) {
    assert.throws(
      () => metrics.increment('calls', labels),
      (e) => e instanceof TypeError && pattern.test(e.message),
      String(pattern),
    );
  }
  for (const labels of [
    new Map([['a', '1']]),
    ['a'],
    'a=1',
    new (class Labels {
      a = '1';
    })(),
  ]) {
    assert.throws(
      () => metrics.increment('fresh_name', labels),
      (e) => e instanceof TypeError && /metrics.increment\(\) "fresh_name": labels must be a plain object/.test(e.message),
      String(labels),
    );
  }
});

test('bad names and values are refused with the problem named', () => {
  assert.throws(() => metrics.increment(42), /metrics.increment\(\) takes a metric name \(a non-empty string\), got number 42/);
  assert.throws(() => metrics.gauge('', 1), /metrics.gauge\(\) takes a metric name/);
  assert.throws(
    () => metrics.increment('bad-name'),
    (e) => e instanceof TypeError && /invalid metric name "js_user_bad-name"/.test(e.message),
  );
  assert.throws(
    () => metrics.add('refunds', -1),
    (e) => e instanceof RangeError && /can only go up/.test(e.message),
  );
  assert.throws(
    () => metrics.gauge('level', '3'),
    (e) => e instanceof TypeError && /takes a number/.test(e.message),
  );
  assert.throws(
    () => metrics.histogram('latency', NaN),
    (e) => e instanceof RangeError && /finite/.test(e.message),
  );
});

test('threads share helper metrics, key order does not matter, and conflicts span threads', { timeout: 30_000 }, async () => {
  const source = `
    const { metrics } = require('slotmetrics');
    for (let i = 0; i < 1000; i++) metrics.increment('shared_events', { region: 'eu', kind: 'a' });
    metrics.gauge('worker_only', 1);`;
  await new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true });
    w.on('error', reject);
    w.on('exit', resolve);
  });
  for (let i = 0; i < 500; i++) metrics.increment('shared_events', { kind: 'a', region: 'eu' });
  assert.equal(parseSamples(await registry.metrics()).get('js_user_shared_events_total{kind="a",region="eu"}'), 1500);
  assert.throws(
    () => metrics.increment('worker_only'),
    (e) =>
      e instanceof TypeError &&
      /"js_user_worker_only" would expose samples named "js_user_worker_only"|already defined as a float gauge/.test(e.message),
  );
});
