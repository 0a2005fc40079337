// slotmetrics/prom-client: the same program run against prom-client 15.1.3 and against
// this entry gives the same text, the same data and the same errors.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { registry as engineRegistry, setCardinalityLimit } from 'slotmetrics';
import * as compat from 'slotmetrics/prom-client';
import { EXPORTER_NAMES, outcomeOf, parseOpenMetricsStrict, promtoolCheck } from './helpers.mjs';

const require = createRequire(import.meta.url);
const real = require('prom-client');

/** A program written for prom-client, run against `client` in a registry of its own. */
async function program(client, contentType) {
  const registry = new client.Registry(contentType);
  const requests = new client.Counter({
    name: 'compat_requests',
    help: 'Requests "served"\nby route',
    labelNames: ['method', 'route', 'code'],
    registers: [registry],
  });
  requests.inc({ method: 'GET', route: '/users', code: 200 });
  requests.inc({ method: 'GET', route: '/users', code: 200 }, 2.5);
  requests.inc({ method: 'POST', route: '/a"b\\c\nd' }); // a partial label set
  requests.labels('PUT', '/x', '201').inc(1e21);
  requests.labels({ method: 'DELETE', route: '/y', code: '404' }).inc();
  const total = new client.Counter({ name: 'compat_jobs_total', help: 'Jobs', registers: [registry] });
  total.inc(0.1);
  total.inc(0.2);
  const temperature = new client.Gauge({ name: 'compat_temperature', help: 'Temperature', labelNames: ['room'], registers: [registry] });
  temperature.set({ room: 'a' }, -1.5e-7);
  temperature.inc({ room: 'b' }, 3);
  temperature.dec({ room: 'b' });
  temperature.labels('c').set(Infinity);
  const idle = new client.Gauge({ name: 'compat_idle', help: 'Idle', registers: [registry] });
  idle.set(4);
  idle.dec(0.5);
  const latency = new client.Histogram({
    name: 'compat_latency_seconds',
    help: 'Latency',
    labelNames: ['route'],
    buckets: client.linearBuckets(0.1, 0.2, 4),
    registers: [registry],
  });
  latency.observe({ route: '/users' }, 0.05);
  latency.observe({ route: '/users' }, 0.3);
  latency.labels('/orders').observe(5);
  latency.zero({ route: '/empty' });
  const sizes = new client.Histogram({ name: 'compat_sizes', help: 'Sizes', buckets: client.exponentialBuckets(1, 10, 3), registers: [registry] });
  sizes.observe(50);
  // Few and distinct observations: both libraries' digests keep each as its own
  // centroid, so their quantiles agree exactly.
  const durations = new client.Summary({
    name: 'compat_duration_seconds',
    help: 'Duration',
    labelNames: ['route'],
    percentiles: [0.1, 0.5, 0.9, 0.99],
    registers: [registry],
  });
  for (let i = 1; i <= 60; i++) durations.observe({ route: '/users' }, ((i * 37) % 61) / 8);
  durations.labels('/orders').observe(2);
  durations.observe({}, 1.25);
  const queue = new client.Summary({ name: 'compat_queue', help: 'Queue', registers: [registry] });
  queue.observe(3);
  queue.observe(0);
  registry.setDefaultLabels({ service: 'api', region: 7 });
  return registry;
}

for (const contentType of [real.Registry.PROMETHEUS_CONTENT_TYPE, real.Registry.OPENMETRICS_CONTENT_TYPE]) {
  test(`the same program gives prom-client's exact text (${contentType.split(';')[0]})`, async () => {
    let theirs = await (await program(real, contentType)).metrics();
    const ours = await (await program(compat, contentType)).metrics();
    if (contentType === real.Registry.OPENMETRICS_CONTENT_TYPE) {
      // The one documented difference: OpenMetrics wants `"` escaped in HELP, which
      // prom-client does not do.
      theirs = theirs.replace(/^(# HELP .*)$/gm, (line) => line.replaceAll('"', '\\"'));
    }
    assert.equal(ours, theirs);
    if (contentType === real.Registry.PROMETHEUS_CONTENT_TYPE) {
      // prom-client's text breaks promtool's style lint (exit 3: a counter without
      // "_total"), but parses.
      const { status, output } = promtoolCheck(ours);
      assert.ok(status === 3 && !/error/.test(output), output);
    } else {
      parseOpenMetricsStrict(ours);
    }
  });
}

test("getMetricsAsJSON(), get() and getSingleMetricAsString() give prom-client's data", async () => {
  const theirs = await program(real);
  const ours = await program(compat);
  // Label values given as numbers come back as those numbers (`code: 200`), as prom-client keeps them.
  const normalise = (metric) => ({
    ...metric,
    values: metric.values.map(({ sharedLabels, ...value }) => value),
  });
  // get() first: prom-client's getMetricsAsJSON() writes the default labels into its
  // metrics' own values, which later get() calls then show.
  for (const name of ['compat_requests', 'compat_latency_seconds', 'compat_idle', 'compat_duration_seconds']) {
    const [a, b] = [await ours.getSingleMetric(name).get(), await theirs.getSingleMetric(name).get()];
    assert.deepEqual(normalise(a), normalise(b));
    assert.equal(await ours.getSingleMetricAsString(name), await theirs.getSingleMetricAsString(name));
  }
  assert.deepEqual((await ours.getMetricsAsJSON()).map(normalise), (await theirs.getMetricsAsJSON()).map(normalise));
  assert.deepEqual(
    ours.getMetricsAsArray().map((m) => m.name),
    theirs.getMetricsAsArray().map((m) => m.name),
  );
});

test('remove, reset, resetMetrics, removeSingleMetric and clear behave as prom-client', async () => {
  const results = new Map();
  for (const client of [real, compat]) {
    const texts = [];
    results.set(client, texts);
    const registry = await program(client);
    registry.getSingleMetric('compat_requests').remove('GET', '/users', '200');
    registry.getSingleMetric('compat_temperature').remove({ room: 'a' });
    registry.getSingleMetric('compat_latency_seconds').reset();
    registry.getSingleMetric('compat_duration_seconds').remove('/orders');
    registry.getSingleMetric('compat_queue').reset();
    registry.getSingleMetric('compat_jobs_total').reset();
    registry.removeSingleMetric('compat_sizes');
    texts.push(await registry.metrics());
    registry.resetMetrics();
    texts.push(await registry.metrics());
    // A histogram without labels shows nothing after reset(), until it observes again.
    const plain = new client.Histogram({ name: 'compat_plain_seconds', help: 'Plain', buckets: [1], registers: [registry] });
    texts.push(JSON.stringify((await plain.get()).values));
    plain.observe(0.5);
    plain.reset();
    texts.push(await registry.getSingleMetricAsString('compat_plain_seconds'), JSON.stringify((await plain.get()).values));
    plain.observe(2);
    texts.push(await registry.getSingleMetricAsString('compat_plain_seconds'));
    registry.clear();
    texts.push(await registry.metrics());
  }
  assert.deepEqual(results.get(compat), results.get(real));
});

test('the same misuse throws the same errors', () => {
  const cases = [
    () => new CLIENT.Counter(),
    () => new CLIENT.Counter({ name: 'x' }),
    () => new CLIENT.Counter({ help: 'h' }),
    () => new CLIENT.Counter({ name: '1x', help: 'h' }),
    () => new CLIENT.Counter({ name: 'x', help: 'h', labelNames: ['a-b'] }),
    () => new CLIENT.Histogram({ name: 'x', help: 'h', labelNames: ['le'] }),
    () => new CLIENT.Summary({ name: 'x', help: 'h', labelNames: ['quantile'], registers: [] }),
    () => summary().observe('x'),
    () => summary().observe({ route: '/a' }, NaN),
    () => summary().observe({ nope: 1 }, 1),
    () => summary().labels('a', 'b'),
    () => counter().inc(-1),
    () => counter().inc('5'),
    () => counter().inc({ nope: 'x' }),
    () => counter().labels('only one').inc(),
    () => gauge().set('x'),
    () => gauge().inc({ room: 'a' }, 'x'),
    () => gauge().labels({ nope: 1 }),
    () => histogram().observe('x'),
    () => histogram().observe({ nope: 1 }, 1),
    () => CLIENT.linearBuckets(0, 1, 0),
    () => CLIENT.exponentialBuckets(0, 2, 3),
    () => CLIENT.exponentialBuckets(1, 1, 3),
    () => new CLIENT.Registry('text/html'),
    () => {
      const registry = new CLIENT.Registry();
      new CLIENT.Gauge({ name: 'twice', help: 'h', registers: [registry] });
      new CLIENT.Gauge({ name: 'twice', help: 'h', registers: [registry] });
    },
  ];
  let CLIENT;
  let fresh;
  const counter = () => new CLIENT.Counter({ name: 'err_c', help: 'h', labelNames: ['a', 'b'], registers: [fresh] });
  const gauge = () => new CLIENT.Gauge({ name: 'err_g', help: 'h', labelNames: ['room'], registers: [fresh] });
  const histogram = () => new CLIENT.Histogram({ name: 'err_h', help: 'h', labelNames: ['route'], registers: [fresh] });
  const summary = () => new CLIENT.Summary({ name: 'err_s', help: 'h', labelNames: ['route'], registers: [fresh] });
  const outcome = (client, call) => {
    CLIENT = client;
    fresh = new client.Registry();
    return outcomeOf(call);
  };
  for (const call of cases) assert.equal(outcome(compat, call), outcome(real, call), String(call));
  assert.equal(compat.validateMetricName('a:b_c'), real.validateMetricName('a:b_c'));
  assert.equal(compat.validateMetricName('a-b'), real.validateMetricName('a-b'));
});

test("the entry exports prom-client's names and the exporters, and contentType is the global registry's", () => {
  const ours = require('slotmetrics/prom-client');
  const names = Object.keys(ours).sort();
  assert.deepEqual(
    names.filter((name) => !EXPORTER_NAMES.includes(name)),
    Object.keys(real).sort(),
  );
  assert.deepEqual(
    names.filter((name) => EXPORTER_NAMES.includes(name)),
    EXPORTER_NAMES,
  );
  for (const client of [ours, real]) {
    assert.equal(client.contentType, client.Registry.PROMETHEUS_CONTENT_TYPE);
    client.contentType = client.openMetricsContentType;
    assert.equal(client.register.contentType, client.Registry.OPENMETRICS_CONTENT_TYPE);
    assert.throws(() => (client.contentType = 'text/html'), { message: 'Content type text/html is unsupported' });
    client.register.setContentType(client.prometheusContentType);
    assert.equal(client.contentType, client.Registry.PROMETHEUS_CONTENT_TYPE);
  }
});

test('metrics of the global register are slotmetrics metrics: counted from workers, in the default registry', async () => {
  const shared = new compat.Counter({ name: 'compat_shared_total', help: 'Shared', labelNames: ['thread'] });
  shared.inc({ thread: 'main' }, 5);
  await new Promise((resolve, reject) => {
    const worker = new Worker(
      `const { Counter } = require('slotmetrics/prom-client');
       const c = new Counter({ name: 'compat_shared_total', help: 'Shared', labelNames: ['thread'] });
       for (let i = 0; i < 1000; i++) c.inc({ thread: 'worker' });
       c.inc({ thread: 'main' }, 2);`,
      { eval: true },
    );
    worker.on('error', reject);
    worker.on('exit', resolve);
  });
  const text = await compat.register.metrics();
  assert.match(text, /^compat_shared_total\{thread="main"\} 7$/m);
  assert.match(text, /^compat_shared_total\{thread="worker"\} 1000$/m);
  assert.equal(await engineRegistry.metrics(), text, "the same registry as slotmetrics' own");
});

test('register.scrape(accept) negotiates as serve() does, protobuf included, after collect callbacks', async () => {
  const registry = new compat.Registry();
  let collected = 0;
  new compat.Gauge({ name: 'compat_scrape_gauge', help: 'G', registers: [registry], collect: () => collected++ });
  new compat.Histogram({ name: 'compat_scrape_seconds', help: 'H', buckets: [1], registers: [registry] }).observe(0.5);
  const protobuf = await registry.scrape(
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9,*/*;q=0.1',
  );
  assert.match(protobuf.contentType, /^application\/vnd\.google\.protobuf; proto=io\.prometheus\.client\.MetricFamily; encoding=delimited/);
  assert.ok(protobuf.body instanceof Uint8Array);
  assert.ok(Buffer.from(protobuf.body).includes('compat_scrape_seconds'));
  assert.equal(collected, 1);
  const text = await registry.scrape('garbage');
  assert.equal(text.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(collected, 2);
  assert.equal(text.body, await registry.metrics(), "text 0.0.4 is metrics()' text");
});

test('a label set is looked up, not registered again, on every later call (one, two and three labels)', () => {
  const registry = new compat.Registry();
  for (const labelNames of [['a'], ['a', 'b'], ['a', 'b', 'c']]) {
    const counter = new compat.Counter({ name: `lookup_${labelNames.length}`, help: 'h', labelNames, registers: [registry] });
    let registrations = 0;
    const source = counter.engine.source;
    const handleOf = source.handleOf.bind(source);
    source.handleOf = (values) => {
      registrations++;
      return handleOf(values);
    };
    const labels = Object.fromEntries(labelNames.map((name) => [name, 'x']));
    for (let i = 0; i < 5; i++) counter.inc(labels);
    counter.inc({ a: 'x' }); // partial: another label set, unless it is the full one
    for (let i = 0; i < 5; i++) counter.inc({ ...labels });
    assert.equal(registrations, labelNames.length === 1 ? 1 : 2, `${labelNames.length} labels`);
  }
});

test('a label set past the series limit is not kept: each use asks the engine again, so a flood cannot grow memory', async () => {
  const registry = new compat.Registry();
  setCardinalityLimit(2);
  let counter;
  try {
    counter = new compat.Counter({ name: 'capped_compat_total', help: 'h', labelNames: ['user'], registers: [registry] });
  } finally {
    setCardinalityLimit(10_000);
  }
  const asked = [];
  const source = counter.engine.source;
  const handleOf = source.handleOf.bind(source);
  source.handleOf = (values) => {
    asked.push(values[0]);
    return handleOf(values);
  };
  const warned = new Promise((resolve) => process.once('warning', resolve));
  for (const user of ['a', 'b', 'c', 'a', 'c', 'b', 'c']) counter.inc({ user });
  assert.equal((await warned).code, 'SLOTMETRICS_CARDINALITY');
  assert.deepEqual(asked, ['a', 'b', 'c', 'c', 'c'], 'a and b kept once registered; c, in the overflow series, asked for each time');
  const samples = (await counter.get()).values.map(({ labels, value }) => [labels.user, value]);
  assert.deepEqual(samples.sort(), [
    ['__overflow__', 3],
    ['a', 2],
    ['b', 2],
  ]);
});

test('a label value whose toString() updates the same metric counts both label sets, as prom-client does', async () => {
  const texts = [];
  for (const client of [real, compat]) {
    const registry = new client.Registry();
    const counter = new client.Counter({ name: 'nested_total', help: 'h', labelNames: ['route', 'code'], registers: [registry] });
    // Converting this value registers another label set of the same metric first.
    const route = {
      toString() {
        counter.inc({ route: '/inner', code: '500' }, 2);
        return '/outer';
      },
    };
    counter.inc({ route, code: '200' }, 3);
    counter.inc({ route: '/outer', code: '200' });
    counter.inc({ route: '/inner', code: '200' });
    counter.inc({ route: '/later', code: '404' });
    texts.push(await registry.metrics());
  }
  assert.match(texts[1], /nested_total\{route="\/outer",code="200"\} 4\n/);
  assert.match(texts[1], /nested_total\{route="\/inner",code="500"\} 2\n/);
  assert.match(texts[1], /nested_total\{route="\/inner",code="200"\} 1\n/);
  assert.match(texts[1], /nested_total\{route="\/later",code="404"\} 1\n/);
  assert.deepEqual(texts[1].split('\n').sort(), texts[0].split('\n').sort());
});

test('collect callbacks (sync and async) run before metrics(), get() and getSingleMetricAsString()', async () => {
  const registry = new compat.Registry();
  let calls = 0;
  new compat.Gauge({
    name: 'collected',
    help: 'h',
    registers: [registry],
    collect() {
      this.set(++calls);
    },
  });
  new compat.Gauge({
    name: 'collected_async',
    help: 'h',
    registers: [registry],
    async collect() {
      await new Promise((resolve) => setTimeout(resolve, 5));
      this.set(calls * 10);
    },
  });
  assert.match(await registry.metrics(), /^collected 1$[\s\S]*^collected_async 10$/m);
  assert.equal((await registry.getSingleMetric('collected').get()).values[0].value, 2);
  assert.equal(await registry.getSingleMetricAsString('collected'), '# HELP collected h\n# TYPE collected gauge\ncollected 3');
});

test('a scrape served by serve() runs collect callbacks first, and serves the last values when JS is blocked', { timeout: 30_000 }, async () => {
  const { serve } = await import('slotmetrics');
  let calls = 0;
  new compat.Gauge({
    name: 'served_collected',
    help: 'h',
    collect() {
      this.set(++calls);
    },
  });
  const server = await serve({ port: 0, host: '127.0.0.1', health: false, collectTimeoutMs: 300 });
  try {
    const scrape = async () => (await (await fetch(server.url)).text()).match(/^served_collected (\d+)$/m)?.[1];
    assert.equal(await scrape(), '1');
    assert.equal(await scrape(), '2');
    // Block this thread's event loop while a worker scrapes: the server waits for the
    // hook no longer than collectTimeoutMs, then serves the last value.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       parentPort.postMessage('start');
       fetch(workerData.url).then((r) => r.text()).then((text) => parentPort.postMessage({ text, at: Date.now() }));`,
      { eval: true, workerData: { url: server.url } },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    const reply = new Promise((resolve) => worker.on('message', resolve));
    const blockedUntil = Date.now() + 3000;
    while (Date.now() < blockedUntil); // the event loop is stuck here
    const { text, at } = await reply;
    assert.ok(at < blockedUntil, 'the scrape was answered while the event loop was blocked');
    assert.match(text, /^served_collected 2$/m);
    await worker.terminate();
  } finally {
    await server.close();
  }
});

test("hashMap, prom-client's internal series map that wrappers' tests read, has prom-client's keys and values", () => {
  const views = [real, compat].map((client) => {
    const registers = [new client.Registry()];
    const counter = new client.Counter({ name: 'hashed_total', help: 'h', labelNames: ['route', 'code'], registers });
    counter.inc({ route: '/a', code: '200' }, 2);
    counter.inc({ code: '500' });
    const histogram = new client.Histogram({ name: 'hashed_seconds', help: 'h', labelNames: ['route'], buckets: [0.1, 1, 10], registers });
    for (const value of [0.05, 0.5, 0.7, 20]) histogram.observe({ route: '/a' }, value);
    const gauge = new client.Gauge({ name: 'hashed_gauge', help: 'h', registers });
    gauge.set(4);
    const plain = (map) => Object.fromEntries(Object.entries(map).map(([key, entry]) => [key, { ...entry, labels: { ...entry.labels } }]));
    return { counter: plain(counter.hashMap), histogram: plain(histogram.hashMap), gauge: plain(gauge.hashMap) };
  });
  assert.deepEqual(views[1].counter, views[0].counter);
  assert.deepEqual(views[1].gauge, views[0].gauge);
  const [theirs, ours] = views.map((view) => view.histogram['route:/a,']);
  assert.deepEqual(ours.bucketValues, theirs.bucketValues, 'per-bucket counts, +Inf left out');
  assert.deepEqual([ours.sum, ours.count, ours.labels], [theirs.sum, theirs.count, theirs.labels]);
});
