// slotmetrics/client: @prometheus-io/client 0.16's API, side by side with the real
// 0.16.1; and cluster fleets mixing prom-client 15, 0.16 and slotmetrics on either side.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as ours from 'slotmetrics/client';
import { EXPORTER_NAMES, eventually, parseOpenMetricsStrict, parseSamples, promtoolCheck } from './helpers.mjs';

const require = createRequire(import.meta.url);
const real = require('@prometheus-io/client');
const fleet = fileURLToPath(new URL('./fixtures/cluster-fleet.cjs', import.meta.url));
// 0.16 needs Node 22+ (its engines field): its registry and shutdown() use iterator
// helpers. Where they are missing, the comparisons that need it running are skipped.
const iteratorHelpers = typeof Iterator === 'function' && typeof Iterator.prototype.map === 'function';
const needsNode22 = { skip: iteratorHelpers ? false : '@prometheus-io/client 0.16 needs Node 22+ (iterator helpers)' };

test("the entry exports @prometheus-io/client 0.16's names and the exporters, nothing else", () => {
  const names = Object.keys(require('slotmetrics/client')).sort();
  assert.deepEqual(
    names.filter((name) => !EXPORTER_NAMES.includes(name)),
    Object.keys(real).sort(),
  );
  assert.deepEqual(
    names.filter((name) => EXPORTER_NAMES.includes(name)),
    EXPORTER_NAMES,
  );
  assert.equal(ours.AggregatorRegistry, ours.ClusterRegistry, 'the old name is kept');
});

/** The same program on either library: its registry's text in both formats and its 0.16 additions. */
async function program(client) {
  const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const registers = [registry];
  const requests = new client.Counter({ name: 'requests_total', help: 'Requests', labelNames: ['code'], registers, enableExemplars: true });
  requests.inc({ labels: { code: '200' }, value: 2, exemplarLabels: { traceId: 'a1' } });
  requests.inc({ labels: { code: '200' }, value: 3, exemplarLabels: { traceId: 'b2' } });
  new client.Gauge({ name: 'peak', help: 'Peak', aggregator: 'max', registers }).set(4);
  new client.Histogram({ name: 'latency', help: 'Latency', buckets: [0.1, 1], registers }).observe(0.5);
  new client.Summary({ name: 'size', help: 'Size', percentiles: [0.5], registers }).observe(3);
  const sums = (await registry.getMetricsAsJSON('sum')).map((metric) => metric.name);
  const maxima = registry.getMetricsAsArray('max').map((metric) => metric.name);
  const one = await registry.getMetricsAsString(registry.getSingleMetric('peak'));
  registry.setContentType(client.Registry.PROMETHEUS_CONTENT_TYPE);
  const text = await registry.metrics();
  const aggregated = await client.Registry.aggregate([await registry.getMetricsAsJSON(), await registry.getMetricsAsJSON()]).metrics();
  // Last: both libraries strip `_total` off a counter's own name for good when they
  // write OpenMetrics (a documented difference: slotmetrics leaves the name alone).
  registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const openMetrics = await registry.metrics();
  return { openMetrics, sums, maxima, one, text, aggregated };
}

test("the same program gives 0.16's text, exemplars valued at the counter's total, and 0.16's registry additions", needsNode22, async () => {
  // Exemplar timestamps differ by when each ran.
  const stamped = ({ openMetrics, ...rest }) => ({ openMetrics: openMetrics.replace(/(# \{[^}]*\} \S+) \d+(\.\d+)?$/gm, '$1 <timestamp>'), ...rest });
  const theirs = stamped(await program(real));
  const raw = await program(ours);
  const mine = stamped(raw);
  assert.deepEqual(mine, theirs);
  assert.match(
    mine.openMetrics,
    /^requests_total\{code="200"\} 5 # \{traceId="b2"\} 5 <timestamp>$/m,
    "0.16: the counter's value, not the increment",
  );
  assert.deepEqual(mine.sums, ['requests_total', 'latency', 'size']);
  assert.deepEqual(mine.maxima, ['peak']);
  parseOpenMetricsStrict(raw.openMetrics);
  assert.equal(promtoolCheck(mine.text).status, 0);
});

test("slotmetrics/prom-client keeps prom-client 15's exemplar value, the increment", async () => {
  const compat = require('slotmetrics/prom-client');
  const registry = new compat.Registry(compat.Registry.OPENMETRICS_CONTENT_TYPE);
  const counter = new compat.Counter({ name: 'increments_total', help: 'h', registers: [registry], enableExemplars: true });
  counter.inc({ value: 2, exemplarLabels: { traceId: 'a1' } });
  counter.inc({ value: 3, exemplarLabels: { traceId: 'b2' } });
  assert.match(await registry.metrics(), /^increments_total 5 # \{traceId="b2"\} 3 /m);
});

/** clusterMetrics() of a cluster whose primary runs `primary` and whose 3 workers run `worker`. */
function clusterMetrics(primary, worker, goodbye = false) {
  const env = { ...process.env, PRIMARY: primary, WORKER: worker, GOODBYE: goodbye ? '1' : '' };
  const run = spawnSync(process.execPath, [fleet], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, `${primary} ← ${worker}: ${run.stderr}`);
  return parseSamples(run.stdout);
}

test('mixed fleets: a primary of either generation aggregates workers of the other', { timeout: 180_000 }, () => {
  // [primary, workers, whether the primary counts its own metrics (0.16's ClusterRegistry)]
  const fleets = [
    ['slotmetrics/prom-client', '@prometheus-io/client', false],
    ['slotmetrics/client', '@prometheus-io/client', true],
    ['slotmetrics/client', 'prom-client', true],
    ['@prometheus-io/client', 'slotmetrics/client', true],
    ['@prometheus-io/client', 'slotmetrics/prom-client', true],
    ['prom-client', 'slotmetrics/client', false],
    ['slotmetrics/client', 'slotmetrics/client', true],
  ];
  for (const [primary, worker, includesPrimary] of fleets) {
    const samples = clusterMetrics(primary, worker);
    assert.equal(samples.get('jobs_total{queue="a"}'), 6, `${primary} ← ${worker}`);
    assert.equal(samples.get('jobs_total{queue="primary"}'), includesPrimary ? 100 : undefined, `${primary} ← ${worker}`);
  }
  assert.deepEqual(clusterMetrics('slotmetrics/client', 'slotmetrics/client'), clusterMetrics('@prometheus-io/client', '@prometheus-io/client'));
});

test("shutdown(): a worker's last counts stay in the aggregation after it exits, across generations", { timeout: 120_000, ...needsNode22 }, () => {
  for (const [primary, worker] of [
    ['@prometheus-io/client', 'slotmetrics/client'],
    ['@prometheus-io/client', 'slotmetrics/prom-client'],
    ['slotmetrics/client', '@prometheus-io/client'],
    ['slotmetrics/client', 'slotmetrics/client'],
  ]) {
    assert.equal(clusterMetrics(primary, worker, true).get('jobs_total{queue="a"}'), 6, `${primary} ← ${worker}: worker 0's 1 kept`);
  }
});

test("WorkerRegistry: every worker thread's counts with no setup in the threads; shutdown() has nothing to wait for", async () => {
  const registry = new ours.WorkerRegistry();
  const counter = new ours.Counter({ name: 'threads_jobs_total', help: 'Jobs' });
  counter.inc();
  await Promise.all(
    [1, 2].map(
      (n) =>
        new Promise((resolve, reject) => {
          const source = `new (require('slotmetrics/client').Counter)({ name: 'threads_jobs_total', help: 'Jobs' }).inc(${n * 10});`;
          const worker = new Worker(source, { eval: true });
          worker.on('error', reject);
          worker.on('exit', resolve);
        }),
    ),
  );
  assert.equal(parseSamples(await registry.workerMetrics()).get('threads_jobs_total'), 31);
  await registry.shutdown();
  assert.throws(() => ours.WorkerRegistry.setRegistries([{}]), /Expected Registry, got object/);
  assert.ok(registry instanceof ours.Registry);
  assert.equal(ours.WorkerRegistry.globalRegistry, ours.register, "Registry's statics, as 0.16's");
  assert.equal(ours.WorkerRegistry.OPENMETRICS_CONTENT_TYPE, real.Registry.OPENMETRICS_CONTENT_TYPE);
});

/** Whether one worker has announced itself within 10 s: messages between threads cross on turns of their own. */
const oneWorkerAnnounced = () => eventually(() => ours.WorkerRegistry.workerCount() === 1, Boolean, { every: 10 });

test('WorkerRegistry gathers a worker running the genuine 0.16 over its channels, and keeps its goodbye counts', needsNode22, async () => {
  const registry = new ours.WorkerRegistry();
  new ours.Counter({ name: 'mixed_jobs_total', help: 'Jobs' }).inc(1);
  const source = `
    const { parentPort } = require('node:worker_threads');
    const client = require('@prometheus-io/client');
    const registry = new client.WorkerRegistry();
    new client.Counter({ name: 'mixed_jobs_total', help: 'Jobs' }).inc(10);
    parentPort.once('message', () => registry.shutdown());
    parentPort.postMessage('ready');`;
  const worker = new Worker(source, { eval: true });
  await once(worker, 'message');
  assert.ok(await oneWorkerAnnounced(), 'the worker announced itself');
  assert.equal(parseSamples(await registry.workerMetrics()).get('mixed_jobs_total'), 11, "the main thread's 1 and the worker's 10");
  worker.postMessage('bye');
  await once(worker, 'exit');
  assert.equal(ours.WorkerRegistry.workerCount(), 0);
  assert.equal(parseSamples(await registry.workerMetrics()).get('mixed_jobs_total'), 11, 'its goodbye counts stay');
});

test('WorkerRegistry speaks the protocol under its earlier prefix too (prom-client:)', async () => {
  const registry = new ours.WorkerRegistry();
  const source = `
    const { BroadcastChannel, threadId, parentPort } = require('node:worker_threads');
    const name = 'prom-client:worker:' + threadId;
    const announce = new BroadcastChannel('prom-client:announce');
    const own = new BroadcastChannel(name);
    const metrics = [[{ name: 'legacy_jobs_total', help: 'Jobs', type: 'counter', aggregator: 'sum', values: [{ value: 4, labels: {} }] }]];
    announce.onmessage = ({ data }) => {
      if (data.type === 'prom-client:getMetricsReq') own.postMessage({ type: 'prom-client:getMetricsRes', requestId: data.requestId, threadId, metrics });
    };
    own.onmessage = ({ data }) => {
      if (data.type === 'prom-client:ack') { announce.close(); own.close(); }
    };
    parentPort.once('message', () => own.postMessage({ type: 'prom-client:goodbye', requestId: 7, threadId, metrics }));
    announce.postMessage({ type: 'prom-client:announcement', name, threadId, primary: false });
    parentPort.postMessage('ready');`;
  const worker = new Worker(source, { eval: true });
  await once(worker, 'message');
  assert.ok(await oneWorkerAnnounced(), 'the worker announced itself');
  assert.equal(parseSamples(await registry.workerMetrics()).get('legacy_jobs_total'), 4);
  worker.postMessage('bye');
  await once(worker, 'exit');
  assert.equal(ours.WorkerRegistry.workerCount(), 0, 'acknowledged and gone');
  assert.equal(parseSamples(await registry.workerMetrics()).get('legacy_jobs_total'), 4, 'its goodbye counts stay');
});

test("collectDefaultMetrics() gives 0.16's default metrics, event-loop utilization included", needsNode22, async () => {
  const types = async (client) => {
    const registry = new client.Registry();
    const stop = client.collectDefaultMetrics({ register: registry, eventLoopUtilizationTimeout: 10 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await registry.metrics();
    if (typeof stop === 'function') stop();
    return { text, types: [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => `${name} ${type}`).sort() };
  };
  const theirs = await types(real);
  const mine = await types(ours);
  assert.deepEqual(mine.types, theirs.types);
  const samples = parseSamples(mine.text);
  assert.ok(samples.get('nodejs_eventloop_utilization_histogram_count') > 0, 'sampled on the timer');
  assert.ok(samples.get('nodejs_eventloop_utilization_summary{quantile="0.5"}') >= 0);
});
