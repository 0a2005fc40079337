// Worker churn: a thousand workers that start, count and exit, a few at a time. Every
// count survives, stripes and scratch buffers are recycled, and memory stays flat.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { counterSchema, histogramSchema, registry } from 'slotmetrics';
import { binding } from '../dist/base/native.js';
import { eventually, inLanes, parseSamples } from './helpers.mjs';

const CYCLES = 1000;
const AT_ONCE = 4;
const PER_WORKER = 1000;

// Each worker registers a label set of its own (new series keep coming) and one shared
// by all, then exits.
const WORKER = `
const { workerData } = require('node:worker_threads');
const { counterSchema, histogramSchema } = require('slotmetrics');
const jobs = counterSchema('churn_jobs_total').requireDynamicKey('worker').cardinalityLimit(2000).build();
const sizes = histogramSchema('churn_sizes').buckets([10, 100]).build();
const shared = jobs.with({ worker: 'all' });
for (let i = 0; i < ${PER_WORKER}; i++) {
  shared.increment();
  sizes.observe(i % 200);
}
jobs.with({ worker: String(workerData.cycle) }).add(workerData.cycle);
`;

function runWorker(cycle) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { cycle } });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${cycle} exited with ${code}`))));
  });
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

test(`${CYCLES} worker start/count/exit cycles, ${AT_ONCE} at a time: totals exact, stripes recycled, RSS flat`, { timeout: 300_000 }, async () => {
  const jobs = counterSchema('churn_jobs_total').requireDynamicKey('worker').cardinalityLimit(2000).build();
  histogramSchema('churn_sizes').buckets([10, 100]).build();
  const stripesBefore = binding.stripeStats();
  let rssAfterWarmUp = 0;
  await inLanes(CYCLES, AT_ONCE, async (cycle) => {
    await runWorker(cycle);
    if (cycle === 200) rssAfterWarmUp = rssMiB();
  });
  // The last environments' teardown, which gives their stripes back, runs after 'exit'.
  await eventually(
    () => binding.stripeStats(),
    (stats) => stats.live === stripesBefore.live,
  );
  const rssAtEnd = rssMiB();

  const s = parseSamples(await registry.metrics());
  assert.equal(s.get('churn_jobs_total{worker="all"}'), CYCLES * PER_WORKER);
  assert.equal(s.get('churn_jobs_total{worker="999"}'), 999);
  let perWorker = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) perWorker += s.get(`churn_jobs_total{worker="${cycle}"}`);
  assert.equal(perWorker, (CYCLES * (CYCLES - 1)) / 2, 'every worker’s own series, exactly');
  assert.equal(s.get('churn_sizes_count'), CYCLES * PER_WORKER);
  assert.equal(s.get('churn_sizes_bucket{le="10"}'), CYCLES * (PER_WORKER / 200) * 11);
  jobs.with({ worker: 'main' }).increment();

  const stripes = binding.stripeStats();
  assert.equal(stripes.live, stripesBefore.live, `only the threads that were there before hold stripes: ${JSON.stringify(stripes)}`);
  assert.ok(
    stripes.live + stripes.free <= stripesBefore.live + stripesBefore.free + AT_ONCE,
    `at most ${AT_ONCE} worker stripes ever: ${JSON.stringify(stripes)}`,
  );
  // Generous: V8 and glibc keep some of what 1,000 isolates used. A leak of a stripe
  // chunk (64 KiB) or a scratch buffer per worker would add 60+ MiB.
  const growth = rssAtEnd - rssAfterWarmUp;
  console.log(`RSS after 200 cycles ${rssAfterWarmUp.toFixed(1)} MiB, after ${CYCLES} ${rssAtEnd.toFixed(1)} MiB (+${growth.toFixed(1)})`);
  assert.ok(growth < 48, `RSS grew by ${growth.toFixed(1)} MiB over ${CYCLES - 200} cycles`);
});
