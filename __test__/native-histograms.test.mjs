// Native histograms: exponential buckets counted from JS with plain stores, exposed over
// protobuf (decoded with the official metrics.proto) and as count and sum in text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { counterSchema, histogramSchema, Registry } from 'slotmetrics';
import * as compat from 'slotmetrics/prom-client';
import { decodeMetricFamilies, parseOpenMetricsStrict, promtoolCheck } from './helpers.mjs';
// The index arithmetic itself, which has no public entry.
import { boundsOf, nativeBucketIndex } from '../dist/metrics/nativeHistogram.js';
import { binding } from '../dist/base/native.js';

/** A deterministic stream of numbers in [0, 1). */
function random(seed) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/**
 * The bucket of |v| at `schema` by the definition: i with base^(i-1) < |v| <= base^i.
 * Values within a rounding error of a boundary are left out of the tests (`null`).
 */
function bucketOf(v, schema) {
  const exact = Math.log2(Math.abs(v)) * 2 ** schema;
  if (Math.abs(exact - Math.round(exact)) < 1e-6) return null;
  return Math.ceil(exact);
}

/** Values spread over `decades` decades from `from`, none on a boundary. */
function values(seed, count, from, decades) {
  const next = random(seed);
  const out = [];
  while (out.length < count) {
    const v = from * 10 ** (next() * decades);
    if (bucketOf(v, 8) !== null && bucketOf(v, 3) !== null) out.push(v);
  }
  return out;
}

/** Map(index → count) of one sign from spans and deltas. */
function bucketsOf(spans, deltas) {
  const out = new Map();
  let index = 0;
  let count = 0;
  let at = 0;
  for (const span of spans) {
    index += span.offset;
    for (let i = 0; i < span.length; i++) {
      count += deltas[at++];
      if (count !== 0) out.set(index, count);
      index++;
    }
  }
  return out;
}

function expectedBuckets(observed, schema) {
  const out = new Map();
  for (const v of observed) out.set(bucketOf(v, schema), (out.get(bucketOf(v, schema)) ?? 0) + 1);
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

async function histogramOf(registry, name) {
  const family = decodeMetricFamilies(await registry.metrics({ format: 'protobuf' })).find((f) => f.name === name);
  return family.metric.map((m) => ({ labels: Object.fromEntries(m.label.map((l) => [l.name, l.value])), ...m.histogram }));
}

test("JS finds a value's bucket as the engine does: on every boundary of every schema, and either side of it", () => {
  const next = (v, ulps) => {
    const word = new Float64Array([v]);
    const bits = new BigInt64Array(word.buffer);
    bits[0] += BigInt(ulps);
    return word[0];
  };
  for (let schema = -4; schema <= 8; schema++) {
    const bounds = boundsOf(schema);
    // The boundaries within a power of two, as the engine computed them.
    const tops = schema > 0 ? binding.nativeBounds(schema) : [0.5];
    const perPower = schema > 0 ? tops.length : 1;
    for (const exp of [-1074 + 60, -300, -3, 0, 1, 7, 300, 1023]) {
      tops.forEach((top, i) => {
        // 2^(exp) × a boundary tops bucket i + (exp - 1) × n (schema ≤ 0: merged by 2^-schema).
        const value = top * 2 ** exp;
        const at = i + (exp - 1) * perPower;
        const expected = schema > 0 ? at : (at + ((1 << -schema) - 1)) >> -schema;
        assert.equal(nativeBucketIndex(value, schema, bounds), expected, `schema ${schema}: ${value} tops its bucket`);
        assert.equal(
          nativeBucketIndex(next(value, 1), schema, bounds),
          schema > 0 ? at + 1 : (at + 1 + ((1 << -schema) - 1)) >> -schema,
          `just above ${value}`,
        );
        assert.equal(nativeBucketIndex(next(value, -1), schema, bounds), expected, `just below ${value}`);
      });
    }
  }
  // Subnormals (a zero threshold of 0 lets them in): 2^-1074 tops bucket -1074 × 2^schema.
  assert.equal(nativeBucketIndex(2 ** -1074, 3, boundsOf(3)), -1074 * 8);
  assert.equal(nativeBucketIndex(2 ** -1074, 0, boundsOf(0)), -1074);
});

test('observations count in the buckets of their values, at schema 3 for a bucket factor of 1.1, from three threads too', async () => {
  const registry = new Registry();
  const latency = histogramSchema('nh_latency_seconds').help('Latency').native().requireDynamicKey('route').build({ registry });
  const mine = values(1, 500, 0.001, 3);
  for (const v of mine) latency.with({ route: '/a' }).observe(v);
  latency.with({ route: '/a' }).observe(0);
  const theirs = [values(2, 300, 0.01, 2), values(3, 300, 0.05, 1)];
  // Two workers observe into one series of the default registry (a new Registry() is
  // this thread's only) beside this thread.
  const shared = histogramSchema('nh_shared_seconds').native().build();
  for (const v of mine) shared.observe(v);
  await Promise.all(
    theirs.map(
      (observed) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(
            `const { workerData } = require('node:worker_threads');
             const { histogramSchema } = require('slotmetrics');
             const h = histogramSchema('nh_shared_seconds').native().build();
             for (const v of workerData) h.observe(v);`,
            { eval: true, workerData: observed },
          );
          worker.on('error', reject);
          worker.on('exit', resolve);
        }),
    ),
  );
  const [own] = await histogramOf(registry, 'nh_latency_seconds');
  assert.deepEqual(own.labels, { route: '/a' });
  assert.equal(own.schema, 3);
  assert.equal(own.sampleCount, mine.length + 1);
  assert.equal(own.zeroCount, 1);
  assert.equal(own.zeroThreshold, 2 ** -128);
  assert.deepEqual(bucketsOf(own.positiveSpan, own.positiveDelta), expectedBuckets(mine, 3));
  assert.ok(Math.abs(own.sampleSum - mine.reduce((a, b) => a + b, 0)) < 1e-9);
  assert.equal(own.bucket.length, 0, 'no classic buckets');

  const { registry: defaultRegistry } = await import('slotmetrics');
  const [all] = await histogramOf(defaultRegistry, 'nh_shared_seconds');
  const everything = [...mine, ...theirs.flat()];
  assert.equal(all.sampleCount, everything.length);
  assert.deepEqual(bucketsOf(all.positiveSpan, all.positiveDelta), expectedBuckets(everything, all.schema));
});

test('a range wider than maxBuckets lowers the resolution to the highest schema that fits the buckets in use', async () => {
  const registry = new Registry();
  const sizes = histogramSchema('nh_sizes_bytes').native({ bucketFactor: 1.01, maxBuckets: 20 }).build({ registry });
  const observed = [...values(4, 200, 100, 1), ...values(5, 50, 1e5, 2), -3.5, -7000];
  for (const v of observed) sizes.observe(v);
  const [h] = await histogramOf(registry, 'nh_sizes_bytes');
  // 1.01 asks for schema 6; every bucket in use of each sign must fit in 20.
  const fits = (schema) =>
    [observed.filter((v) => v > 0), observed.filter((v) => v < 0)].every((sign) => {
      const indexes = sign.map((v) => bucketOf(v, schema));
      return Math.max(...indexes) - Math.min(...indexes) < 20;
    });
  let best = 6;
  while (!fits(best)) best--;
  assert.equal(h.schema, best, `schema ${h.schema}, the highest that fits is ${best}`);
  const positive = observed.filter((v) => v > 0);
  const negative = observed.filter((v) => v < 0);
  assert.deepEqual(bucketsOf(h.positiveSpan, h.positiveDelta), expectedBuckets(positive, h.schema));
  assert.deepEqual(bucketsOf(h.negativeSpan, h.negativeDelta), expectedBuckets(negative, h.schema));
  assert.equal(h.sampleCount, observed.length);
});

test('text formats give count and sum (and classic buckets given beside); real parsers accept them', async () => {
  const registry = new Registry();
  histogramSchema('nh_only_seconds').native().build({ registry }).observe(0.25);
  const both = histogramSchema('nh_both_seconds').native().buckets([0.1, 1]).build({ registry });
  for (const v of [0.05, 0.6, 5]) both.observe(v);
  const text = await registry.metrics();
  assert.match(text, /^nh_only_seconds_bucket\{le="\+Inf"\} 1\nnh_only_seconds_sum 0\.25\nnh_only_seconds_count 1$/m);
  assert.match(text, /^nh_both_seconds_bucket\{le="0\.1"\} 1\nnh_both_seconds_bucket\{le="1"\} 2\nnh_both_seconds_bucket\{le="\+Inf"\} 3$/m);
  promtoolCheck(text);
  parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' }));
  const [h] = await histogramOf(registry, 'nh_both_seconds');
  assert.deepEqual(
    h.bucket.map((b) => [b.upperBound, b.cumulativeCount]),
    [
      [0.1, 1],
      [1, 2],
      [Infinity, 3],
    ],
  );
  assert.deepEqual(bucketsOf(h.positiveSpan, h.positiveDelta), expectedBuckets([0.05, 0.6, 5], 3));
});

test('zero bucket, reset, startTimer and an empty series', async () => {
  const registry = new Registry();
  const h = histogramSchema('nh_misc_seconds').native({ zeroThreshold: 1e-6 }).requireDynamicKey('k').build({ registry });
  h.with({ k: 'empty' });
  const series = h.with({ k: 'used' });
  for (const v of [0, 1e-9, -1e-7, 2, 3]) series.observe(v);
  const [empty, used] = await histogramOf(registry, 'nh_misc_seconds');
  assert.deepEqual([used.zeroCount, used.sampleCount, used.zeroThreshold], [3, 5, 1e-6]);
  assert.deepEqual([empty.sampleCount, empty.positiveSpan], [0, [{ offset: 0, length: 0 }]], 'an empty native histogram has the no-op span');
  h.reset();
  series.observe(2.5);
  const seconds = series.startTimer()();
  // The reset hides the series not used since (as a classic histogram's).
  const [again] = await histogramOf(registry, 'nh_misc_seconds');
  assert.deepEqual(again.labels, { k: 'used' });
  const timedInZero = seconds <= 1e-6 ? 1 : 0;
  assert.deepEqual([again.zeroCount, again.sampleCount, again.negativeSpan.length], [timedInZero, 2, 0]);
  const positive = bucketsOf(again.positiveSpan, again.positiveDelta);
  assert.equal(
    [...positive.values()].reduce((a, b) => a + b, 0),
    2 - timedInZero,
  );
  assert.ok(positive.get(bucketOf(2.5, 3)) >= 1);
});

test('bad options are refused with errors naming them; a different redefinition says what differs', () => {
  const registry = new Registry();
  const cases = [
    [{ bucketFactor: 1 }, /bucketFactor must be a number above 1, got 1/],
    [{ bucketFactor: Number.NaN }, /bucketFactor must be a number above 1/],
    [{ maxBuckets: 0 }, /maxBuckets must be from 1 to 4096, got 0/],
    [{ maxBuckets: 1.5 }, /maxBuckets must be an integer, got 1.5/],
    [{ zeroThreshold: -1 }, /zeroThreshold must be a finite number >= 0, got -1/],
    [{ zeroThreshold: '0' }, /zeroThreshold must be a number, got the string "0"/],
    [{ bucketFactr: 2 }, /bucketFactr/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => histogramSchema('nh_bad').native(options).build({ registry }), message, JSON.stringify(options));
  }
  assert.throws(() => counterSchema('nh_counter').native().build({ registry }), /only histograms have native buckets/);
  histogramSchema('nh_defined').native().build({ registry });
  assert.throws(
    () => histogramSchema('nh_defined').native({ maxBuckets: 10 }).build({ registry }),
    /native buckets of schema 3, zero threshold .* and at most 10 buckets/,
  );
  assert.throws(() => histogramSchema('nh_defined').build({ registry }), /has buckets|has no native buckets/);
});

test('a multi-process group shares a native histogram: processes count into one, windows and all', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slotmetrics-native-group-'));
  // Values go in the environment: runtimes lay out an -e script's argv differently.
  const member = (script, values) => {
    const run = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, SLOTMETRICS_MULTIPROCESS_DIR: dir, OBSERVE: values.join(' ') },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  };
  const observe = `const { histogramSchema } = require('slotmetrics');
    const h = histogramSchema('nh_grouped_bytes').native({ maxBuckets: 40 }).build();
    for (const v of process.env.OBSERVE.split(' ')) h.observe(Number(v));`;
  try {
    const small = values(6, 100, 0.01, 1);
    const large = values(7, 100, 1e4, 1);
    member(observe, small.map(String));
    member(observe, large.map(String));
    const body = member(
      `require('slotmetrics').registry.metrics({ format: 'protobuf' }).then((b) => console.log(Buffer.from(b).toString('base64')))`,
      [],
    );
    const family = decodeMetricFamilies(Buffer.from(body.trim(), 'base64')).find((f) => f.name === 'nh_grouped_bytes');
    const h = family.metric[0].histogram;
    assert.equal(h.sampleCount, 200);
    assert.ok(h.schema < 3, `1e-2 to 1e5 in 40 buckets needs a lower schema than 3, got ${h.schema}`);
    assert.deepEqual(bucketsOf(h.positiveSpan, h.positiveDelta), expectedBuckets([...small, ...large], h.schema));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("slotmetrics/prom-client's Histogram takes native: true or options, beside or instead of buckets", async () => {
  const register = new compat.Registry();
  const only = new compat.Histogram({ name: 'nh_compat_seconds', help: 'H', labelNames: ['route'], native: true, registers: [register] });
  const both = new compat.Histogram({ name: 'nh_compat_both', help: 'H', buckets: [1], native: { bucketFactor: 2 }, registers: [register] });
  only.observe({ route: '/a' }, 0.3);
  only.labels('/a').observe(3);
  both.observe(0.3);
  assert.deepEqual(only.buckets, []);
  const families = decodeMetricFamilies(
    (await register.scrape('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited')).body,
  );
  const [a, b] = families.map((f) => f.metric[0].histogram);
  assert.deepEqual([a.schema, a.sampleCount, a.bucket.length], [3, 2, 0]);
  assert.deepEqual(bucketsOf(a.positiveSpan, a.positiveDelta), expectedBuckets([0.3, 3], 3));
  assert.deepEqual([b.schema, b.sampleCount, b.bucket.length], [0, 1, 2]);
  assert.match(await register.metrics(), /^nh_compat_seconds_count\{route="\/a"\} 2$/m);
});
