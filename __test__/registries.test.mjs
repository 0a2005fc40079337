// Isolated registries, and prom-client's remove / reset / zero on the shared-memory
// engine: a series restarts in place, so handles held by any thread stay valid.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Registry, counterSchema, gaugeSchema, gaugeSchemaFloat, histogramSchema, metrics, registry, serve, startReporter } from 'slotmetrics';
import { parseOpenMetricsStrict, parseSamples, promtoolCheck } from './helpers.mjs';

const samples = async (r = registry) => parseSamples(await r.metrics());

test('remove(labels) hides a series until it is used again, then it counts from zero', async () => {
  const jobs = counterSchema('removed_jobs_total').requireDynamicKey('queue').build();
  const kept = jobs.with({ queue: 'a' });
  kept.add(5);
  jobs.with({ queue: 'b' }).add(2);
  jobs.remove({ queue: 'a' });
  jobs.remove({ queue: 'never-used' });
  let s = await samples();
  assert.equal(s.has('removed_jobs_total{queue="a"}'), false);
  assert.equal(s.get('removed_jobs_total{queue="b"}'), 2);

  // The kept handle still works, as a kept prom-client child does: the series is back.
  kept.increment();
  s = await samples();
  assert.equal(s.get('removed_jobs_total{queue="a"}'), 1);

  // with() after remove() registers again: shown at 0 even before an update.
  jobs.remove({ queue: 'b' });
  jobs.with({ queue: 'b' });
  s = await samples();
  assert.equal(s.get('removed_jobs_total{queue="b"}'), 0);
});

test('reset() removes every series; zero(labels) shows one at 0; both for each metric type', async () => {
  const depth = gaugeSchema('reset_depth').requireDynamicKey('queue').build();
  const load = gaugeSchemaFloat('reset_load').requireDynamicKey('cpu').build();
  const latency = histogramSchema('reset_latency').buckets([0.1, 1]).requireDynamicKey('route').build();
  depth.with({ queue: 'a' }).set(7);
  depth.with({ queue: 'b' }).set(3);
  load.with({ cpu: '0' }).set(0.5);
  latency.with({ route: '/x' }).observe(0.05);
  latency.with({ route: '/x' }).observe(5);

  depth.reset();
  load.reset();
  latency.reset();
  let s = await samples();
  for (const name of s.keys()) assert.doesNotMatch(name, /^reset_/, `${name} survived reset()`);

  depth.zero({ queue: 'a' });
  latency.zero({ route: '/y' });
  latency.with({ route: '/x' }).observe(0.5);
  load.with({ cpu: '0' }).set(0);
  s = await samples();
  assert.equal(s.get('reset_depth{queue="a"}'), 0);
  assert.equal(s.has('reset_depth{queue="b"}'), false);
  assert.equal(s.get('reset_load{cpu="0"}'), 0, 'set(0) after reset: registered again in this thread');
  assert.equal(s.get('reset_latency_count{route="/y"}'), 0);
  assert.equal(s.get('reset_latency_bucket{route="/x",le="0.1"}'), 0);
  assert.equal(s.get('reset_latency_bucket{route="/x",le="1"}'), 1);
  assert.equal(s.get('reset_latency_count{route="/x"}'), 1);
  assert.equal(s.get('reset_latency_sum{route="/x"}'), 0.5);
});

test('reset() on a metric without dynamic keys sets it to zero; on a labeled series handle it names the fix', async () => {
  const total = counterSchema('reset_plain_total').build();
  const inFlight = gaugeSchema('reset_plain_gauge').build();
  total.add(4);
  inFlight.set(9);
  total.reset();
  inFlight.reset();
  total.increment();
  const s = await samples();
  assert.equal(s.get('reset_plain_total'), 1);
  assert.equal(s.get('reset_plain_gauge'), 0);

  const labeled = counterSchema('reset_labeled_total').requireDynamicKey('k').build();
  assert.throws(() => labeled.with({ k: 'x' }).reset(), {
    name: 'TypeError',
    message: /reset\(\) on a series of labeled metric "reset_labeled_total": use zero\(labels\) or reset\(\) on the metric/,
  });
});

test('remove and zero check their labels like with(), and a bad call changes nothing', async () => {
  const jobs = counterSchema('checked_remove_total').requireDynamicKey('queue').build();
  jobs.with({ queue: 'a' }).add(3);
  assert.throws(() => jobs.remove({ queue: 'a', extra: '1' }), { name: 'TypeError', message: /unexpected label "extra"/ });
  assert.throws(() => jobs.remove({}), { name: 'TypeError', message: /missing dynamic label "queue"/ });
  assert.throws(() => jobs.zero({ queue: {} }), { name: 'TypeError', message: /label "queue" of metric "checked_remove_total" must be a string/ });
  assert.throws(() => jobs.remove(null), { name: 'TypeError', message: /takes its dynamic labels as an object/ });
  assert.equal((await samples()).get('checked_remove_total{queue="a"}'), 3);
  // A number and its string are one label set.
  jobs.with({ queue: 7 }).increment();
  jobs.remove({ queue: '7' });
  assert.equal((await samples()).has('checked_remove_total{queue="7"}'), false);
  jobs.with({ queue: 7 });
  assert.equal((await samples()).get('checked_remove_total{queue="7"}'), 0, 'the number key was forgotten too');
});

const WORKER = `
const { parentPort } = require('node:worker_threads');
const { counterSchema } = require('slotmetrics');
const hits = counterSchema('cross_thread_hits_total').requireDynamicKey('route').build();
const handle = hits.with({ route: '/a' });
parentPort.on('message', (n) => {
  if (n === 'exit') return process.exit(0);
  for (let i = 0; i < n; i++) handle.increment();
  parentPort.postMessage('done');
});
parentPort.postMessage('ready');
`;

test('a series removed by one thread comes back with what another thread adds through its kept handle', async () => {
  const hits = counterSchema('cross_thread_hits_total').requireDynamicKey('route').build();
  const worker = new Worker(WORKER, { eval: true });
  const next = () => new Promise((resolve) => worker.once('message', resolve));
  try {
    await next();
    worker.postMessage(1000);
    await next();
    hits.with({ route: '/a' }).add(10);
    assert.equal((await samples()).get('cross_thread_hits_total{route="/a"}'), 1010);
    hits.remove({ route: '/a' });
    assert.equal((await samples()).has('cross_thread_hits_total{route="/a"}'), false);
    worker.postMessage(25);
    await next();
    assert.equal((await samples()).get('cross_thread_hits_total{route="/a"}'), 25);
  } finally {
    worker.postMessage('exit');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
  assert.equal((await samples()).get('cross_thread_hits_total{route="/a"}'), 25, 'nothing lost when the worker exits');
});

test('new Registry(): its own names, prefix and default labels, served and exported on its own', async () => {
  const billing = new Registry({ prefix: 'billing_', defaultLabels: { service: 'billing' } });
  assert.equal(billing.prefix, 'billing_');
  const invoices = counterSchema('invoices_total').help('Invoices issued').requireDynamicKey('plan').build({ registry: billing });
  // The same name in the default registry is another metric, even of another type.
  const defaultOne = gaugeSchema('billing_invoices').build();
  invoices.with({ plan: 'pro' }).add(3);
  defaultOne.set(42);

  const body = await billing.metrics();
  assert.equal(
    body,
    '# HELP billing_invoices_total Invoices issued\n# TYPE billing_invoices_total counter\nbilling_invoices_total{service="billing",plan="pro"} 3\n',
  );
  assert.equal(promtoolCheck(body).status, 0);
  parseOpenMetricsStrict(await billing.metrics({ format: 'openmetrics' }));
  const main = await samples();
  assert.equal(main.get('billing_invoices'), 42);
  assert.equal(
    [...main.keys()].some((k) => k.startsWith('billing_invoices_total')),
    false,
    'isolated from the default registry',
  );
  assert.deepEqual(
    (await billing.getMetricsAsJSON()).map((m) => m.name),
    ['billing_invoices_total'],
  );

  const server = await serve({ port: 0, host: '127.0.0.1', registry: billing, health: false });
  try {
    const scraped = await (await fetch(server.url, { signal: AbortSignal.timeout(10_000) })).text();
    assert.equal(scraped, body);
  } finally {
    await server.close();
  }

  // The reporter's timer is unref'd: this one keeps the test alive until it exports.
  const keepAlive = setTimeout(() => {}, 10_000);
  const exported = await new Promise((resolve) => {
    const stop = startReporter({
      intervalMs: 10,
      registry: billing,
      onExport: (text) => {
        stop();
        resolve(text);
      },
    });
  });
  clearTimeout(keepAlive);
  assert.equal(exported, body);
});

test('registry.clear() unlists every metric so names can be defined again; old handles write nowhere visible', async () => {
  const scratch = new Registry();
  const old = counterSchema('cleared_total').build({ registry: scratch });
  old.add(5);
  assert.equal(parseSamples(await scratch.metrics()).get('cleared_total'), 5);
  scratch.clear();
  assert.equal(await scratch.metrics(), '');
  const again = gaugeSchema('cleared_total').build({ registry: scratch });
  assert.notEqual(again, old);
  again.set(2);
  old.increment();
  assert.equal(await scratch.metrics(), '# TYPE cleared_total gauge\ncleared_total 2\n');
});

test('registry.resetMetrics() resets every metric of that registry only', async () => {
  const a = new Registry();
  const ours = counterSchema('reset_all_total').requireDynamicKey('k').build({ registry: a });
  const plain = gaugeSchemaFloat('reset_all_gauge').build({ registry: a });
  const elsewhere = counterSchema('reset_all_elsewhere_total').build();
  ours.with({ k: 'x' }).increment();
  plain.set(1.5);
  elsewhere.add(2);
  a.resetMetrics();
  assert.equal(await a.metrics(), '# TYPE reset_all_total counter\n# TYPE reset_all_gauge gauge\nreset_all_gauge 0\n');
  assert.equal((await samples()).get('reset_all_elsewhere_total'), 2);
});

test('metrics.* helpers define their metrics again after the default registry is cleared', async () => {
  metrics.increment('clear_helper', { kind: 'a' });
  assert.equal((await samples()).get('js_user_clear_helper_total{kind="a"}'), 1);
  registry.clear();
  assert.equal(await registry.metrics(), '');
  metrics.increment('clear_helper', { kind: 'a' });
  assert.equal((await samples()).get('js_user_clear_helper_total{kind="a"}'), 1);
});

test('bad registry options name the problem', async () => {
  assert.throws(() => new Registry({ prefix: '9x' }), { name: 'TypeError', message: /prefix must be the start of a metric name/ });
  assert.throws(() => new Registry({ prefx: 'a_' }), { name: 'TypeError', message: /unknown option "prefx"/ });
  assert.throws(() => new Registry({ defaultLabels: { 'bad-name': 'x' } }), { name: 'TypeError', message: /invalid label name "bad-name"/ });
  assert.throws(() => counterSchema('x_total').build({ registry: {} }), { name: 'TypeError', message: /registry must be a Registry, got an object/ });
  await assert.rejects(serve({ registry: 'main' }), { name: 'TypeError', message: /serve\(\): registry must be a Registry/ });
});
