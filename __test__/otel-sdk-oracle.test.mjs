// The OpenTelemetry SDK as the oracle of slotmetrics/otel's semantics: each scenario
// makes the same API calls on both at once (fixtures/sdk-oracle.cjs), in the way the
// SDK's own instrument tests exercise the public API (values of each kind, INT and
// DOUBLE, what must be dropped, advice, observable and batch callbacks), then every
// point the SDK's cumulative reader collects must be in slotmetrics' exposition with
// the same value, count, sum and buckets, and nothing more.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Registry } from 'slotmetrics';
import { MeterProvider } from 'slotmetrics/otel';
import { parseSamples } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { disagreements, pointCount, withSdk } = require('./fixtures/sdk-oracle.cjs');

const VALUES = [0, 1, 2.5, 1e6, 0.1, 1e-3];
const ATTRIBUTES = [{}, { route: '/a' }, { route: '/b', method: 'GET' }, { 'http.response.status_code': 200, ok: true }, { list: ['x', 'y'] }];

/** Runs `calls(meter)` on both providers, then compares collection by collection, `rounds` times. */
async function agree(calls, { rounds = 1 } = {}) {
  const registry = new Registry();
  const { provider, collect } = withSdk(new MeterProvider({ registry, withoutTargetInfo: true }));
  const meter = provider.getMeter('oracle', '1.0.0');
  const step = calls(meter);
  for (let round = 0; round < rounds; round++) {
    await step?.(round);
    // The SDK's reader first: it runs the SDK's callbacks; slotmetrics' run on its read.
    const sdk = await collect();
    const samples = parseSamples(await registry.metrics());
    assert.deepEqual(disagreements(sdk, samples), [], `round ${round}`);
    const ours = [...samples.keys()].filter((key) => !/_(bucket|sum|created)\{/.test(key)).length;
    assert.equal(ours, pointCount(sdk), `round ${round}: as many series as the SDK has points`);
  }
}

test('counter: every value with every attribute set; INT cuts fractions; negative, infinite, NaN and non-numbers are dropped', () =>
  agree((meter) => {
    const double = meter.createCounter('oracle.double', { unit: 'By' });
    const integer = meter.createCounter('oracle.int', { valueType: 0 });
    for (const value of VALUES) for (const attributes of ATTRIBUTES) double.add(value, attributes);
    for (const value of [1, 1.9, -1, Number.POSITIVE_INFINITY, Number.NaN, '1']) integer.add(value, { k: 'v' });
  }));

test('up-down counter: up and down, INT and DOUBLE; infinities and NaN dropped from INT', () =>
  agree((meter) => {
    const double = meter.createUpDownCounter('oracle.queue');
    const integer = meter.createUpDownCounter('oracle.queue.int', { valueType: 0 });
    for (const value of [3, -1.1, 4, 1.1]) double.add(value, { q: 'a' });
    for (const value of [3, -1.1, 4, 1.1, Number.POSITIVE_INFINITY, Number.NaN]) integer.add(value);
  }));

test('where slotmetrics departs from the SDK on purpose: NaN into a DOUBLE up-down counter is dropped (the SDK sums it into NaN)', async () => {
  const registry = new Registry();
  const { provider, collect } = withSdk(new MeterProvider({ registry, withoutTargetInfo: true }));
  const queue = provider.getMeter('oracle', '1.0.0').createUpDownCounter('oracle.nan');
  for (const value of [3, Number.NaN, 4]) queue.add(value);
  const [sdk] = await collect();
  assert.ok(Number.isNaN(sdk.metrics[0].dataPoints[0].value), 'the SDK kept the NaN');
  assert.equal(parseSamples(await registry.metrics()).get('oracle_nan{otel_scope_name="oracle",otel_scope_version="1.0.0"}'), 7);
});

test('gauge: the last value recorded for each attribute set', () =>
  agree((meter) => {
    const gauge = meter.createGauge('oracle.temperature', { unit: '1' });
    for (const attributes of ATTRIBUTES) for (const value of VALUES) gauge.record(value, attributes);
  }));

test('histogram: default buckets, advice buckets, INT values; negative, NaN and non-numbers dropped', () =>
  agree((meter) => {
    const plain = meter.createHistogram('oracle.latency', { unit: 'ms' });
    const advised = meter.createHistogram('oracle.size', { advice: { explicitBucketBoundaries: [1, 9, 100] } });
    const integer = meter.createHistogram('oracle.count', { valueType: 0 });
    for (const value of [...VALUES, 10, 100, 20000, -1, Number.NaN, '3']) for (const attributes of ATTRIBUTES) plain.record(value, attributes);
    for (const value of [10, 0, 100, 0]) advised.record(value, { foo: 'bar' });
    for (const value of [10, 0.1, 100, 0.1]) integer.record(value);
  }));

test('observable instruments over three collections: totals, up-downs and gauges as the callbacks report them', () =>
  agree(
    (meter) => {
      let round = 0;
      meter.createObservableCounter('oracle.cpu.time', { unit: 's' }).addCallback((result) => {
        result.observe(10 * (round + 1), { mode: 'user' });
        result.observe(5 * (round + 1), { mode: 'system' });
      });
      meter.createObservableUpDownCounter('oracle.connections').addCallback((result) => result.observe(round === 1 ? 3 : 7));
      meter.createObservableGauge('oracle.load').addCallback((result) => {
        for (const attributes of ATTRIBUTES) result.observe(round + 0.5, attributes);
      });
      return (next) => {
        round = next;
      };
    },
    { rounds: 3 },
  ));

test('batch observable callbacks observe each instrument they were registered with', () =>
  agree((meter) => {
    const used = meter.createObservableGauge('oracle.memory.used', { unit: 'By' });
    const free = meter.createObservableGauge('oracle.memory.free', { unit: 'By' });
    meter.addBatchObservableCallback(
      (result) => {
        result.observe(used, 100, { pool: 'heap' });
        result.observe(free, 50, { pool: 'heap' });
      },
      [used, free],
    );
  }));

test('the same instrument asked for twice records into one stream, in both', () =>
  agree((meter) => {
    meter.createCounter('oracle.twice').add(1, { a: '1' });
    meter.createCounter('oracle.twice').add(2, { a: '1' });
  }));

test('where slotmetrics departs from the SDK on purpose: 200 and "200" are one series (the SDK keeps two with one label text)', async () => {
  const registry = new Registry();
  const { provider, collect } = withSdk(new MeterProvider({ registry, withoutTargetInfo: true }));
  const requests = provider.getMeter('oracle', '1.0.0').createCounter('oracle.requests');
  requests.add(1, { code: 200 });
  requests.add(2, { code: '200' });
  const [sdk] = await collect();
  assert.deepEqual(
    sdk.metrics[0].dataPoints.map((point) => point.value),
    [1, 2],
  );
  assert.equal(
    parseSamples(await registry.metrics()).get('oracle_requests_total{code="200",otel_scope_name="oracle",otel_scope_version="1.0.0"}'),
    3,
  );
});
