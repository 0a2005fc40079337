// Worker threads share the metrics with no setup, and nothing a worker counted is
// lost when it exits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { counterSchema, gaugeSchema, histogramSchema } from 'slotmetrics';
import { binding } from '../dist/base/native.js';
import { parseSamples, unsupportedOn } from './helpers.mjs';
import { registry } from 'slotmetrics';

const ITERATIONS = 200_000;

// The same schemas in every thread: built in each, they are the same metrics.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { counterSchema, gaugeSchema, histogramSchema } = require('slotmetrics');
const ops = counterSchema('ops_total').help('Operations').requireDynamicKey('kind').build();
const size = histogramSchema('op_size').help('Op sizes').buckets([1, 10, 100]).build();
const inFlight = gaugeSchema('in_flight').help('In flight').build();
inFlight.inc();
const handle = ops.with({ kind: 'work' });
for (let i = 0; i < workerData.iterations; i++) {
  handle.increment();
  ops.with({ kind: 'lookup' }).add(2);
  size.observe(i % 200);
}
inFlight.dec();
`;

function runWorker(iterations) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { iterations } });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  });
}

test('main + 3 workers: /metrics shows exactly the sums after the workers exit', async () => {
  const ops = counterSchema('ops_total').help('Operations').requireDynamicKey('kind').build();
  const size = histogramSchema('op_size').help('Op sizes').buckets([1, 10, 100]).build();
  gaugeSchema('in_flight').help('In flight').build(); // the workers' gauge: each incs and decs it

  const workers = Promise.all([runWorker(ITERATIONS), runWorker(ITERATIONS), runWorker(ITERATIONS)]);
  // The main thread counts at the same time.
  for (let i = 0; i < ITERATIONS; i++) {
    ops.with({ kind: 'work' }).increment();
    size.observe(i % 200);
  }
  await workers;

  const s = parseSamples(await registry.metrics());
  const threads = 4;
  assert.equal(s.get('ops_total{kind="work"}'), threads * ITERATIONS);
  assert.equal(s.get('ops_total{kind="lookup"}'), 3 * 2 * ITERATIONS);
  // i % 200 over 200k iterations: each value 0..199 appears 1000 times per thread.
  const perValue = (ITERATIONS / 200) * threads;
  assert.equal(s.get('op_size_bucket{le="1"}'), 2 * perValue);
  assert.equal(s.get('op_size_bucket{le="10"}'), 11 * perValue);
  assert.equal(s.get('op_size_bucket{le="100"}'), 101 * perValue);
  assert.equal(s.get('op_size_bucket{le="+Inf"}'), threads * ITERATIONS);
  assert.equal(s.get('op_size_count'), threads * ITERATIONS);
  assert.equal(s.get('op_size_sum'), threads * (ITERATIONS / 200) * ((199 * 200) / 2));
  assert.equal(s.get('in_flight'), 0, 'each worker incremented and decremented the shared gauge');
});

test('stripes of exited workers are recycled, and their counts kept', async () => {
  const c = counterSchema('churn_total').help('Churn').build();
  const before = binding.stripeStats();
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise((resolve, reject) => {
            const w = new Worker(`require('slotmetrics').counterSchema('churn_total').help('Churn').build().add(10);`, { eval: true });
            w.on('error', reject);
            w.on('exit', resolve);
          }),
      ),
    );
  }
  c.increment();
  const after = binding.stripeStats();
  assert.equal(after.live, 1, 'only the main thread holds a stripe now');
  assert.ok(
    after.live + after.free <= Math.max(before.live + before.free, 1 + 3),
    `15 workers, 3 at a time, need at most 3 worker stripes: ${JSON.stringify(after)}`,
  );
  assert.equal(parseSamples(await registry.metrics()).get('churn_total'), 151);
});

test('a worker terminated mid-loop never corrupts what others counted', {
  skip: unsupportedOn({ deno: "Deno's worker.terminate() does not stop a worker busy in a loop: it runs on after terminate() resolves" }),
}, async () => {
  const c = counterSchema('terminated_total').help('t').requireDynamicKey('who').build();
  const w = new Worker(
    `const { parentPort } = require('worker_threads');
       const c = require('slotmetrics').counterSchema('terminated_total').help('t').requireDynamicKey('who').build();
       const h = c.with({ who: 'worker' });
       h.increment();
       parentPort.postMessage('ready');
       for (;;) h.increment();`,
    { eval: true },
  );
  await new Promise((resolve) => w.once('message', resolve));
  const mine = c.with({ who: 'main' });
  for (let i = 0; i < 100_000; i++) mine.increment();
  await w.terminate();
  const s = parseSamples(await registry.metrics());
  assert.equal(s.get('terminated_total{who="main"}'), 100_000);
  const theirs = s.get('terminated_total{who="worker"}');
  assert.ok(Number.isInteger(theirs) && theirs > 0, `the terminated worker's count was kept: ${theirs}`);
  const again = parseSamples(await registry.metrics()).get('terminated_total{who="worker"}');
  assert.equal(again, theirs, 'and it no longer changes');
});
