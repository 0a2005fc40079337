// The first use of a label set without a native call: counters and classic histograms
// count a new label set in leased slots at once and the engine registers it later
// (crates/slotmetrics_engine/src/registry/leases.rs). Threads that use the same label
// sets first each in their own slots must still show one series with the exact sums;
// limits, remove() and exemplars must see through it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { counterSchema, histogramSchema, registry } from 'slotmetrics';
import * as compat from 'slotmetrics/prom-client';
import { eventually, parseOpenMetricsStrict, parseSamples, unsupportedOn } from './helpers.mjs';

const ROUTES = 300;

/** Runs `source` in a worker (CommonJS, `workerData` given); resolves when it exits. */
function inWorker(source, workerData) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  });
}

test('threads that first use the same label sets at once share one series each, with exact sums', { timeout: 60_000 }, async () => {
  const schemas = `
    const { counterSchema, histogramSchema } = require('slotmetrics');
    const hits = counterSchema('leased_hits_total').requireDynamicKey('route').requireDynamicKey('code').build();
    const sizes = histogramSchema('leased_sizes').buckets([1, 10]).requireDynamicKey('route').build();`;
  const count = `
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < ${ROUTES}; i++) {
        hits.with({ route: '/r/' + i, code: i % 2 ? 200 : '404' }).add(round + 1);
        sizes.with({ route: '/r/' + i }).observe(i % 20);
      }
    }`;
  const run = new Function('require', `${schemas}\n${count}`);
  const workers = [1, 2, 3].map(() => inWorker(`${schemas}\n${count}`));
  run((name) => (name === 'slotmetrics' ? { counterSchema, histogramSchema } : undefined));
  await Promise.all(workers);

  const samples = parseSamples(await registry.metrics());
  const hits = [...samples.keys()].filter((key) => key.startsWith('leased_hits_total{'));
  assert.equal(hits.length, ROUTES, 'one series per label set, however many threads made it first');
  for (let i = 0; i < ROUTES; i++) {
    const code = i % 2 ? 200 : 404;
    assert.equal(samples.get(`leased_hits_total{route="/r/${i}",code="${code}"}`), 4 * 6, `/r/${i}`);
    assert.equal(samples.get(`leased_sizes_count{route="/r/${i}"}`), 4 * 3);
    assert.equal(samples.get(`leased_sizes_bucket{route="/r/${i}",le="10"}`), i % 20 <= 10 ? 12 : 0);
    assert.equal(samples.get(`leased_sizes_sum{route="/r/${i}"}`), 12 * (i % 20));
  }

  // remove() takes the series back to zero whichever thread's slots counted it.
  const hitsFamily = counterSchema('leased_hits_total').requireDynamicKey('route').requireDynamicKey('code').build();
  hitsFamily.remove({ route: '/r/1', code: 200 });
  await inWorker(`${schemas}\n hits.with({ route: '/r/1', code: 200 }).add(5);`);
  const after = parseSamples(await registry.metrics());
  assert.equal(after.get('leased_hits_total{route="/r/1",code="200"}'), 5);
});

/** New label sets a dying worker makes, each counted once, before it dies mid-loop. */
const NEW_SERIES = 10_000;

/**
 * The `user` series of `metric`: a dead worker that counted `u0`, `u1`, … once each,
 * at least `made` of them, must have left exactly a run of them from `u0`, every one
 * registered with its count (the last may be registered uncounted, if it died between
 * the two).
 */
async function checkNoSeriesLost(metric, made) {
  const series = new RegExp(`^${metric}\\{user="u(\\d+)"\\}$`);
  const read = async () => {
    const counts = new Map();
    for (const [key, value] of parseSamples(await registry.metrics())) {
      const match = key.match(series);
      if (match) counts.set(Number(match[1]), value);
    }
    return counts;
  };
  // The environment's teardown, which hands over its rings, runs after 'exit'.
  const counts = await eventually(read, (found) => found.size >= made);
  assert.ok(counts.size >= made, `${counts.size} series of the ${made} or more the worker made`);
  const last = counts.size - 1;
  const wrong = [...Array(counts.size).keys()].filter((i) => !(counts.get(i) === 1 || (i === last && i >= made && counts.get(i) === 0)));
  assert.deepEqual(wrong.slice(0, 5), [], `every series from u0 to u${last} registered with its count`);
}

test('a worker that makes 10k new series in one turn and dies of an uncaught exception loses none', { timeout: 60_000 }, async () => {
  const source = `
    const { counterSchema } = require('slotmetrics');
    const users = counterSchema('crashed_users_total').requireDynamicKey('user').cardinalityLimit(1e6).build();
    for (let i = 0; ; i++) {
      if (i === ${NEW_SERIES}) throw new Error('crash mid-loop');
      users.with({ user: 'u' + i }).increment();
    }`;
  await assert.rejects(inWorker(source), /crash mid-loop/);
  await checkNoSeriesLost('crashed_users_total', NEW_SERIES);
});

test('a worker terminated while it makes new series loses none of them', {
  timeout: 60_000,
  skip: unsupportedOn({ deno: "Deno's worker.terminate() does not stop a worker busy in a loop: it runs on after terminate() resolves" }),
}, async () => {
  // How many series the worker has counted, as it says after each one.
  const made = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    const { counterSchema } = require('slotmetrics');
    const users = counterSchema('terminated_users_total').requireDynamicKey('user').cardinalityLimit(1e6).build();
    for (let i = 0; ; i++) {
      if (i === ${NEW_SERIES}) parentPort.postMessage('counted');
      users.with({ user: 'u' + i }).increment();
      Atomics.store(workerData, 0, i + 1);
    }`,
    { eval: true, workerData: made },
  );
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  await checkNoSeriesLost('terminated_users_total', Atomics.load(made, 0));
});

test("a worker's unused leased places go back to the metric's limit when it exits", { timeout: 60_000 }, async () => {
  const limited = `
    const { counterSchema } = require('slotmetrics');
    const users = counterSchema('leased_users_total').requireDynamicKey('user').cardinalityLimit(50).build();`;
  // Each worker takes a lease of several places and uses one.
  for (let w = 0; w < 10; w++) await inWorker(`${limited}\n users.with({ user: 'worker-${w}' }).increment();`);
  const users = counterSchema('leased_users_total').requireDynamicKey('user').cardinalityLimit(50).build();
  for (let i = 0; i < 40; i++) users.with({ user: `main-${i}` }).increment();
  const samples = parseSamples(await registry.metrics());
  const listed = [...samples.keys()].filter((key) => key.startsWith('leased_users_total{'));
  assert.equal(listed.length, 50, 'all 50 label sets have series of their own');
  assert.equal(samples.has('leased_users_total{user="__overflow__"}'), false);
  users.with({ user: 'one-too-many' }).increment();
  const full = parseSamples(await registry.metrics());
  assert.equal(full.get('leased_users_total{user="__overflow__"}'), 1);
});

test('an exemplar set with the first use of a label set reaches the scrape', async () => {
  const own = new compat.Registry(compat.Registry.OPENMETRICS_CONTENT_TYPE);
  const calls = new compat.Counter({ name: 'leased_traced', help: 'Traced', labelNames: ['route'], enableExemplars: true, registers: [own] });
  for (let i = 0; i < 20; i++) calls.inc({ labels: { route: `/t/${i}` }, exemplarLabels: { traceId: `trace-${i}` } });
  const traced = parseOpenMetricsStrict(await own.metrics()).filter((s) => s.name === 'leased_traced_total');
  assert.equal(traced.length, 20);
  for (const sample of traced) {
    assert.equal(sample.value, 1);
    assert.equal(sample.exemplar?.labels.traceId, `trace-${sample.labels.route.slice(3)}`, sample.labels.route);
  }
});

test('the thread that drains the rings is a batch thread: waking it does not preempt this one', {
  skip: process.platform !== 'linux' && 'the scheduling policy is set on Linux only',
}, () => {
  counterSchema('leased_drainer_total').requireDynamicKey('route').build().with({ route: '/started' }).increment();
  const drainers = readdirSync('/proc/self/task').filter((task) => readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'slotmetrics-rin');
  assert.equal(drainers.length, 1, 'one draining thread, named slotmetrics-rings (cut to 15 characters)');
  // Field 41 of stat, counted after the parenthesised name: the policy, SCHED_BATCH = 3.
  const stat = readFileSync(`/proc/self/task/${drainers[0]}/stat`, 'utf8');
  const policy = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
  assert.equal(policy, 3);
});
