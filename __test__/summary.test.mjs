// Summaries: quantiles over a sliding window, from every thread, checked by promtool
// and both prometheus_client parsers, and their window and pruning against prom-client.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { DEFAULT_PERCENTILES, Registry, registry, summarySchema } from 'slotmetrics';
import * as compat from 'slotmetrics/prom-client';
import { parseOpenMetricsStrict, parseSamples, parseTextFormat, promtoolCheck } from './helpers.mjs';

const require = createRequire(import.meta.url);
const real = require('prom-client');

test("a summary exposes prom-client's quantiles, then _sum and _count, valid for every consumer", async () => {
  const registry = new Registry();
  const latency = summarySchema('job_seconds').help('Job duration').requireDynamicKey('queue').build({ registry });
  const fast = latency.with({ queue: 'fast' });
  // A shuffled 1..1000: the median is 500.5, the 99th percentile about 990.
  for (let i = 1; i <= 1000; i++) fast.observe(((i * 7919) % 1000) + 1);
  latency.with({ queue: 'idle' });

  const text = await registry.metrics();
  assert.equal(promtoolCheck(text).status, 0, promtoolCheck(text).output);
  const samples = parseSamples(text);
  assert.equal(samples.get('job_seconds_count{queue="fast"}'), 1000);
  assert.equal(samples.get('job_seconds_sum{queue="fast"}'), 500_500);
  assert.deepEqual(
    [...samples.keys()].filter((k) => k.startsWith('job_seconds{queue="fast"')).map((k) => k.match(/quantile="(.*)"/)[1]),
    DEFAULT_PERCENTILES.map(String),
  );
  for (const [q, exact] of [
    [0.5, 500.5],
    [0.9, 900.5],
    [0.99, 990.5],
  ]) {
    const estimate = samples.get(`job_seconds{queue="fast",quantile="${q}"}`);
    assert.ok(Math.abs(estimate - exact) <= 10, `quantile ${q}: ${estimate}, exact ${exact}`);
  }
  // No observation yet: no quantiles (NaN, as Prometheus' own clients write it).
  assert.ok(Number.isNaN(samples.get('job_seconds{queue="idle",quantile="0.5"}')));
  assert.equal(samples.get('job_seconds_count{queue="idle"}'), 0);

  const parsed = parseTextFormat(text).filter((s) => s.labels.queue === 'fast');
  assert.equal(parsed.length, DEFAULT_PERCENTILES.length + 2);
  const om = parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' }));
  assert.equal(om.find((s) => s.name === 'job_seconds_count' && s.labels.queue === 'fast').value, 1000);
  assert.ok(om.every((s) => s.type === 'summary'));
});

test('observations from workers reach the same quantiles; counts are exact', { timeout: 60_000 }, async () => {
  // Built in each thread into the default registry, it is one metric.
  const size = summarySchema('threads_size').percentiles([0, 0.5, 1]).build();
  // The main thread observes 0..999, each worker 1000 values of its own range above.
  for (let i = 0; i < 1000; i++) size.observe(i);
  const worker = (n) =>
    new Promise((resolve, reject) => {
      const source = `
        const { workerData } = require('node:worker_threads');
        const { summarySchema } = require('slotmetrics');
        const size = summarySchema('threads_size').percentiles([0, 0.5, 1]).build();
        for (let i = 0; i < 1000; i++) size.observe(workerData * 1000 + i);`;
      const w = new Worker(source, { eval: true, workerData: n });
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
    });
  await Promise.all([worker(1), worker(2), worker(3)]);
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('threads_size_count'), 4000);
  assert.equal(samples.get('threads_size_sum'), (3999 * 4000) / 2);
  assert.equal(samples.get('threads_size{quantile="0"}'), 0);
  assert.equal(samples.get('threads_size{quantile="1"}'), 3999);
  const median = samples.get('threads_size{quantile="0.5"}');
  assert.ok(Math.abs(median - 2000) < 40, `median ${median} of all four threads' values`);
});

test("this thread's observations, more than a ring holds, are in its very next read; another thread's once its turn ends", {
  timeout: 60_000,
}, async () => {
  // Observations reach quantiles through each thread's ring, drained before every read.
  // A thread publishes its entries 16 at a time, and the rest before its own reads and
  // when the turn of its event loop ends, even when its script has ended. A full ring is
  // drained by its own thread rather than lose one.
  const size = summarySchema('ringed_size').percentiles([0, 0.5, 1]).build();
  const quantiles = async () => {
    const samples = parseSamples(await registry.metrics());
    return {
      count: samples.get('ringed_size_count'),
      min: samples.get('ringed_size{quantile="0"}'),
      max: samples.get('ringed_size{quantile="1"}'),
      median: samples.get('ringed_size{quantile="0.5"}'),
    };
  };
  for (let i = 0; i < 20_003; i++) size.observe(i / 2); // 20,003: not a multiple of 16
  let seen = await quantiles();
  assert.equal(seen.count, 20_003);
  assert.equal(seen.min, 0);
  assert.equal(seen.max, 10_001, "this thread's last observation, written after its last batch");
  assert.ok(Math.abs(seen.median - 5000) < 100, `median ${seen.median}: every one of this thread's 20,003`);

  const observeIn = (first, stay) =>
    new Worker(
      `const { parentPort } = require('node:worker_threads');
       const size = require('slotmetrics').summarySchema('ringed_size').percentiles([0, 0.5, 1]).build();
       for (let i = 0; i < 10; i++) size.observe(${first} + i);
       parentPort.postMessage('observed');
       if (${stay}) parentPort.on('message', () => process.exit(0));`,
      { eval: true },
    );
  const live = observeIn(20_000, true);
  try {
    await new Promise((resolve, reject) => live.once('message', resolve).once('error', reject));
    seen = await quantiles();
    assert.equal(seen.count, 20_013, 'counts are in slots: at once');
    while (seen.max !== 20_009) {
      // Some of the 10 may be published already: a recycled ring's batches start anywhere.
      assert.ok(seen.max === 10_001 || (seen.max >= 20_000 && seen.max < 20_009), `${seen.max}`);
      await sleep(2);
      seen = await quantiles();
    }
  } finally {
    live.postMessage('exit');
    await new Promise((resolve) => live.once('exit', resolve));
  }
  // A thread whose script ends publishes before it exits.
  const ending = observeIn(30_000, false);
  await new Promise((resolve, reject) => ending.once('exit', resolve).once('error', reject));
  seen = await quantiles();
  assert.equal(seen.max, 30_009, "the ended thread's last observation");
});

test('a sliding window forgets old observations, and pruneAgedBuckets removes empty series, as in prom-client', { timeout: 30_000 }, async () => {
  const program = (client) => {
    const registry = new client.Registry();
    const options = { help: 'h', labelNames: ['route'], percentiles: [0, 1], maxAgeSeconds: 1, ageBuckets: 2, registers: [registry] };
    const windowed = new client.Summary({ name: 'windowed', ...options });
    const pruned = new client.Summary({ name: 'pruned', ...options, pruneAgedBuckets: true });
    for (const summary of [windowed, pruned]) summary.observe({ route: '/a' }, 100);
    return { registry, windowed, pruned };
  };
  const clients = [real, compat].map(program);
  const texts = async () => Promise.all(clients.map(({ registry }) => registry.metrics()));

  let [theirs, ours] = await texts();
  assert.equal(ours, theirs);
  assert.match(ours, /^windowed\{quantile="1",route="\/a"\} 100$/m);

  // Past the window (two periods of 0.5 s): the old observation is forgotten, the
  // count and sum are not; the pruned summary's series is gone.
  await sleep(1300);
  for (const { windowed } of clients) windowed.observe({ route: '/a' }, 1);
  [theirs, ours] = await texts();
  assert.equal(ours, theirs);
  assert.match(ours, /^windowed\{quantile="1",route="\/a"\} 1$/m);
  assert.match(ours, /^windowed_count\{route="\/a"\} 2$/m);
  assert.doesNotMatch(ours, /^pruned/m);

  // Used again, the pruned series starts over.
  for (const { pruned } of clients) pruned.observe({ route: '/a' }, 7);
  [theirs, ours] = await texts();
  assert.equal(ours, theirs);
  assert.match(ours, /^pruned_count\{route="\/a"\} 1$/m);
});

test('reset() of a summary without labels forgets the observations made before it in the same turn, in its quantiles too', async () => {
  const registry = new Registry();
  const job = summarySchema('reset_job_seconds').percentiles([0.5, 0.99]).build({ registry });
  // Fewer than a batch: these are not published yet when reset() runs.
  for (let i = 0; i < 3; i++) job.observe(1000);
  job.reset();
  job.observe(1);
  await new Promise((resolve) => setImmediate(resolve)); // this turn's observations are handed over
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('reset_job_seconds_count'), 1);
  assert.equal(samples.get('reset_job_seconds{quantile="0.5"}'), 1);
  assert.equal(samples.get('reset_job_seconds{quantile="0.99"}'), 1);
});

test('observations handed over a few at a time, across the end of the ring, are each taken once', { timeout: 60_000 }, async () => {
  const registry = new Registry();
  const job = summarySchema('lapped_seconds').percentiles([0, 0.5, 1]).build({ registry });
  // Seven at a time (each turn's end hands them over) for more than a ring (rings.rs'
  // OBSERVATIONS: 16,384 entries), so that some copy runs past the end of the ring and
  // wraps: first -1s, then, after a reset, 1s over them. A wrapped copy written
  // anywhere else would leave a -1 in the window.
  const turns = Math.ceil(16_384 / 7) + 50;
  const lap = async (value) => {
    for (let turn = 0; turn < turns; turn++) {
      for (let i = 0; i < 7; i++) job.observe(value);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await lap(-1);
  job.reset();
  await lap(1);
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('lapped_seconds_count'), 7 * turns);
  for (const q of ['0', '0.5', '1']) assert.equal(samples.get(`lapped_seconds{quantile="${q}"}`), 1, `quantile ${q}`);
});

test('remove() restarts a series; bad definitions and observations are refused and change nothing', async () => {
  const registry = new Registry();
  const jobs = summarySchema('jobs').percentiles([0.5]).requireDynamicKey('queue').build({ registry });
  const kept = jobs.with({ queue: 'a' });
  kept.observe(10);
  jobs.remove({ queue: 'a' });
  assert.doesNotMatch(await registry.metrics(), /queue="a"/);
  kept.observe(2); // a kept handle brings the series back, counting from zero
  const samples = parseSamples(await registry.metrics());
  assert.equal(samples.get('jobs{queue="a",quantile="0.5"}'), 2);
  assert.equal(samples.get('jobs_count{queue="a"}'), 1);

  const before = await registry.metrics();
  assert.throws(() => kept.observe(NaN), { name: 'RangeError', message: /summary "jobs" observe\(\) takes a finite number, got NaN/ });
  assert.throws(() => kept.observe('1'), { name: 'TypeError', message: /summary "jobs" observe\(\) takes a number, got the string "1"/ });
  assert.equal(await registry.metrics(), before);

  assert.throws(() => summarySchema('q').percentiles([0.5, 2]).build({ registry }), {
    name: 'TypeError',
    message: 'quantile 2 of summary "q" is not between 0 and 1',
  });
  assert.throws(() => summarySchema('q').percentiles([0.9, 0.9]).build({ registry }), {
    name: 'TypeError',
    message: /quantile 0.9 of summary "q" appears twice/,
  });
  assert.throws(() => summarySchema('q').requireDynamicKey('quantile').build({ registry }), {
    name: 'TypeError',
    message: /"quantile" is reserved on summary "q"/,
  });
  assert.throws(() => summarySchema('q').slidingWindow(0, 5), { name: 'RangeError', message: /maxAgeSeconds must be a number of seconds above 0/ });
  assert.throws(() => summarySchema('q').slidingWindow(60, 0), { name: 'RangeError', message: /ageBuckets must be an integer from 1 to 1000/ });
  assert.throws(() => summarySchema('jobs').percentiles([0.9]).requireDynamicKey('queue').build({ registry }), {
    message: /metric "jobs" is already defined as a summary with labels \[queue\]; this definition has other quantiles/,
  });
});
