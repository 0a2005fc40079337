// Exemplars through slotmetrics/prom-client: the same program run against prom-client
// 15.1.3 gives the same OpenMetrics text and data (timestamps aside), the same errors,
// and exemplars set on any thread reach every scrape, the Rust server's included.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import * as compat from 'slotmetrics/prom-client';
import { outcomeOf, parseOpenMetricsStrict, promtoolCheck } from './helpers.mjs';

const require = createRequire(import.meta.url);
const real = require('prom-client');
const OPENMETRICS = real.Registry.OPENMETRICS_CONTENT_TYPE;

/** A program written for prom-client's exemplars, run against `client`. */
function program(client) {
  const registry = new client.Registry(OPENMETRICS);
  const requests = new client.Counter({
    name: 'ex_requests',
    help: 'Requests',
    labelNames: ['method', 'code'],
    enableExemplars: true,
    registers: [registry],
  });
  requests.inc({ labels: { method: 'GET', code: 200 }, value: 2, exemplarLabels: { traceId: 'a1', spanId: 7 } });
  requests.inc({ labels: { method: 'GET', code: 200 }, value: 0.5, exemplarLabels: { traceId: 'a2' } }); // replaces a1
  requests.inc({ labels: { method: 'GET', code: 200 } }); // keeps a2
  requests.inc({ labels: { method: 'POST' }, value: 0, exemplarLabels: {} }); // an empty exemplar, value 1
  requests.inc({ labels: { method: 'PUT', code: 201 }, value: 3 }); // no exemplar
  // Escapes, but no `"`: the strict parser's exemplar reader takes an escaped quote
  // for a closing one (crates/slotmetrics_engine/src/encode.rs checks quotes against prometheus-client instead).
  requests.inc({ labels: { method: 'DELETE' }, exemplarLabels: { note: 'back\\slash\nline' } });
  const total = new client.Counter({ name: 'ex_jobs_total', help: 'Jobs', enableExemplars: true, registers: [registry] });
  total.inc();
  total.inc({ value: 1e21, exemplarLabels: { traceId: 'big' } });
  const latency = new client.Histogram({
    name: 'ex_latency_seconds',
    help: 'Latency',
    labelNames: ['route'],
    buckets: [0.1, 0.5, 1],
    enableExemplars: true,
    registers: [registry],
  });
  latency.observe({ labels: { route: '/a' }, value: 0.05, exemplarLabels: { traceId: 'h1' } });
  latency.observe({ labels: { route: '/a' }, value: 0.3, exemplarLabels: { traceId: 'h2' } });
  latency.observe({ labels: { route: '/a' }, value: 0.35, exemplarLabels: { traceId: 'h3' } }); // same bucket as h2
  latency.observe({ labels: { route: '/a' }, value: 7, exemplarLabels: { traceId: 'h4' } }); // +Inf
  latency.observe({ labels: { route: '/a' }, value: 0.01, exemplarLabels: {} }); // counted, no exemplar
  latency.observe({ labels: { route: '/b' }, value: 0.2 });
  latency.zero({ route: '/empty' });
  const end = latency.startTimer({ route: '/timed' }, { traceId: 't1' });
  end({}, { spanId: 's1' });
  // Exemplars enabled on a gauge or a summary change nothing but where they may be registered.
  const gauge = new client.Gauge({ name: 'ex_gauge', help: 'G', enableExemplars: true, registers: [registry] });
  gauge.set(3);
  const summary = new client.Summary({ name: 'ex_summary', help: 'S', percentiles: [0.5], enableExemplars: true, registers: [registry] });
  summary.observe(2);
  registry.setDefaultLabels({ service: 'api' });
  return registry;
}

/**
 * Exemplar timestamps are the moment each was set, and a timer's value its duration:
 * the same text with those replaced.
 */
const withoutTimestamps = (text) =>
  text
    .replace(/^(.* # \{.*\} \S+) \d+(\.\d+)?$/gm, '$1 <ts>')
    .replace(/^(.*route="\/timed".*)$/gm, (line) => line.replace(/ [\d.e+-]+(?= |$)/g, ' <n>'));
/** The same for data: timestamps replaced, and label values as strings (a documented difference). */
function dataWithoutTimestamps(metric) {
  const strings = (labels) => Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, k === 'le' || k === 'quantile' ? v : String(v)]));
  return {
    ...metric,
    values: metric.values.map(({ sharedLabels, ...value }) => ({
      ...value,
      labels: strings(value.labels),
      ...(value.labels.route === '/timed' ? { value: '<n>' } : {}),
      ...(value.exemplar
        ? {
            exemplar: {
              labelSet: strings(value.exemplar.labelSet),
              value: value.labels.route === '/timed' ? '<n>' : value.exemplar.value,
              timestamp: '<ts>',
            },
          }
        : {}),
    })),
  };
}

test("exemplars give prom-client's OpenMetrics text, which the strict parser reads", async () => {
  const before = Date.now() / 1000;
  const ours = await program(compat).metrics();
  const theirs = await program(real).metrics();
  assert.equal(withoutTimestamps(ours), withoutTimestamps(theirs));
  const exemplarLines = ours.split('\n').filter((line) => line.includes(' # {'));
  assert.equal(exemplarLines.length, 8, ours);
  for (const line of exemplarLines) {
    const timestamp = Number(line.split(' ').at(-1));
    assert.ok(timestamp >= Math.floor(before) && timestamp <= Date.now() / 1000 + 1, line);
  }
  assert.match(ours, /^ex_requests_total\{method="GET",code="200",service="api"\} 3\.5 # \{traceId="a2"\} 0\.5 \d+/m);
  assert.match(ours, /^ex_latency_seconds_bucket\{le="0\.5",service="api",route="\/a"\} 4 # \{traceId="h3"\} 0\.35 /m);
  assert.match(ours, /^ex_latency_seconds_bucket\{le="0\.1",service="api",route="\/timed"\} 1 # \{traceId="t1",spanId="s1"\} /m);
  // The strict parser reads every exemplar back: labels, value and timestamp.
  const parsed = parseOpenMetricsStrict(ours).filter((sample) => sample.exemplar !== null);
  assert.equal(parsed.length, exemplarLines.length);
  const get = parsed.find((sample) => sample.labels.method === 'GET').exemplar;
  assert.deepEqual(get.labels, { traceId: 'a2' });
  assert.equal(get.value, 0.5);
  assert.ok(Math.abs(get.timestamp - before) < 60, `${get.timestamp}`);
  assert.deepEqual(parsed.find((sample) => sample.labels.method === 'DELETE').exemplar.labels, { note: 'back\\slash\nline' });
});

test("get() and getMetricsAsJSON() give prom-client's exemplars", async () => {
  const [ours, theirs] = [program(compat), program(real)];
  for (const name of ['ex_requests', 'ex_latency_seconds', 'ex_jobs_total']) {
    const [a, b] = [await ours.getSingleMetric(name).get(), await theirs.getSingleMetric(name).get()];
    assert.deepEqual(dataWithoutTimestamps(a), dataWithoutTimestamps(b));
  }
  const [a, b] = [await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON()];
  assert.deepEqual(a.map(dataWithoutTimestamps), b.map(dataWithoutTimestamps));
  const buckets = (await ours.getSingleMetric('ex_latency_seconds').get()).values;
  assert.deepEqual(
    buckets.filter((v) => v.labels.route === '/a').map((v) => v.exemplar?.labelSet.traceId ?? v.exemplar),
    ['h1', 'h3', null, 'h4', undefined, undefined],
    'bucket exemplars, then _sum and _count without',
  );
});

test('exemplars are written only in OpenMetrics, and go with their series', async () => {
  const registry = program(compat);
  registry.setContentType(compat.Registry.PROMETHEUS_CONTENT_TYPE);
  const text = await registry.metrics();
  assert.doesNotMatch(text, / # \{/);
  const { status, output } = promtoolCheck(text);
  assert.ok(status === 3 && !/error/.test(output), output); // lint only: prom-client's counter names
  registry.setContentType(OPENMETRICS);

  const requests = registry.getSingleMetric('ex_requests');
  requests.remove({ method: 'GET', code: 200 });
  requests.inc({ labels: { method: 'GET', code: 200 } });
  const latency = registry.getSingleMetric('ex_latency_seconds');
  latency.zero({ route: '/a' });
  const after = await registry.metrics();
  assert.match(after, /^ex_requests_total\{method="GET",code="200",service="api"\} 1$/m, 'a removed series comes back without its exemplar');
  assert.doesNotMatch(after, /route="\/a".* # /, 'zero() forgets the exemplars');
  assert.match(after, /route="\/timed".* # \{traceId="t1"/);
  latency.reset();
  assert.doesNotMatch(await registry.metrics(), /ex_latency.* # /);
});

test('the same misuse of exemplars throws the same errors', () => {
  let CLIENT;
  let openMetrics;
  const counter = () => new CLIENT.Counter({ name: 'exm_c', help: 'h', labelNames: ['a'], enableExemplars: true, registers: [openMetrics] });
  const histogram = () => new CLIENT.Histogram({ name: 'exm_h', help: 'h', labelNames: ['a'], enableExemplars: true, registers: [openMetrics] });
  const cases = [
    () => new CLIENT.Counter({ name: 'x', help: 'h', enableExemplars: true, registers: [new CLIENT.Registry()] }),
    () => new CLIENT.Histogram({ name: 'x', help: 'h', enableExemplars: true, registers: [openMetrics, new CLIENT.Registry()] }),
    () => new CLIENT.Summary({ name: 'x', help: 'h', enableExemplars: true, registers: [new CLIENT.Registry()] }),
    () => new CLIENT.Gauge({ name: 'x', help: 'h', enableExemplars: true, registers: [openMetrics] }),
    () => CLIENT.collectDefaultMetrics({ enableExemplars: true, register: new CLIENT.Registry() }),
    () => counter().inc({ labels: { a: 'x' }, exemplarLabels: { traceId: 'x'.repeat(130) } }),
    // 128 characters as JavaScript counts them (UTF-16 units) pass, 129 do not.
    () => counter().inc({ labels: { a: 'x' }, exemplarLabels: { k: 'é'.repeat(127) } }),
    () => counter().inc({ labels: { a: 'x' }, exemplarLabels: { k: '😀'.repeat(64) } }),
    () => counter().inc({ labels: { nope: 'x' }, exemplarLabels: { traceId: 'x' } }),
    // Both wrong: the labels' error first.
    () => counter().inc({ labels: { nope: 'x' }, exemplarLabels: { traceId: 'x'.repeat(130) } }),
    () => counter().inc({ labels: { a: 'x' }, value: -1, exemplarLabels: { traceId: 'x' } }),
    () => counter().inc({ value: 'x', exemplarLabels: { traceId: 'x' } }),
    () => histogram().observe({ labels: { a: 'x' }, exemplarLabels: { traceId: 'x' } }),
    () => histogram().observe({ labels: { a: 'x' }, value: NaN }),
    () => histogram().observe({ labels: { nope: 'x' }, value: 1, exemplarLabels: { traceId: 'x' } }),
    () => histogram().observe({ labels: { a: 'x' }, value: 1, exemplarLabels: { traceId: 'y'.repeat(128) } }),
    () => histogram().observe({ a: 'x' }, 1), // the data form with exemplars: no `value`
  ];
  const outcome = (client, call) => {
    CLIENT = client;
    openMetrics = new client.Registry(OPENMETRICS);
    return outcomeOf(call);
  };
  for (const call of cases) assert.equal(outcome(compat, call), outcome(real, call), String(call));
});

test('a refused exemplar records nothing, and the documented differences hold', async () => {
  const registry = new compat.Registry(OPENMETRICS);
  const counter = new compat.Counter({ name: 'exd_c', help: 'h', labelNames: ['a'], enableExemplars: true, registers: [registry] });
  const histogram = new compat.Histogram({ name: 'exd_h', help: 'h', buckets: [1], enableExemplars: true, registers: [registry] });
  // prom-client counts these, then throws; here nothing is recorded.
  assert.throws(() => counter.inc({ labels: { a: 'x' }, exemplarLabels: { traceId: 'x'.repeat(200) } }), RangeError);
  assert.throws(() => histogram.observe({ value: 0.5, exemplarLabels: null }), /exemplarLabels must be an object of label names to values, got null/);
  // A label name no parser would read (prom-client writes it as given).
  assert.throws(
    () => counter.inc({ labels: { a: 'x' }, exemplarLabels: { 'trace-id': 'x' } }),
    /Invalid exemplar label name "trace-id": it must match/,
  );
  assert.doesNotMatch(await registry.metrics(), /exd_c_total\{|exd_h_count 1/);
  // prom-client counts `inc(5)` as 1 and throws on `observe(0.5)` once exemplars are
  // enabled, and its kept children drop their labels; here they count as written.
  counter.inc(5);
  counter.labels('kept').inc(2);
  histogram.observe(0.5);
  histogram.labels().startTimer()();
  const text = await registry.metrics();
  assert.match(text, /^exd_c_total 5$/m);
  assert.match(text, /^exd_c_total\{a="kept"\} 2$/m);
  assert.match(text, /^exd_h_count 2$/m);
  parseOpenMetricsStrict(text);
});

test('exemplars set on worker threads reach the Rust server through any scrape', { timeout: 30_000 }, async () => {
  const { serve } = await import('slotmetrics');
  compat.register.setContentType(OPENMETRICS);
  try {
    new compat.Counter({ name: 'exw_jobs', help: 'Jobs', labelNames: ['thread'], enableExemplars: true });
    const worker = new Worker(
      `const client = require('slotmetrics/prom-client');
       const { parentPort } = require('node:worker_threads');
       client.register.setContentType(client.openMetricsContentType);
       const jobs = new client.Counter({ name: 'exw_jobs', help: 'Jobs', labelNames: ['thread'], enableExemplars: true });
       jobs.inc({ labels: { thread: 'worker' }, value: 4, exemplarLabels: { traceId: 'from-worker' } });
       parentPort.postMessage('done');`,
      { eval: true },
    );
    await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    const server = await serve({ port: 0, host: '127.0.0.1', health: false });
    try {
      const response = await fetch(server.url, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
      const text = await response.text();
      assert.match(text, /^exw_jobs_total\{thread="worker"\} 4 # \{traceId="from-worker"\} 4 \d+\.?\d*$/m);
      parseOpenMetricsStrict(text);
      const plain = await (await fetch(server.url)).text();
      assert.match(plain, /^exw_jobs\{thread="worker"\} 4$/m); // 0.0.4, prom-client style
    } finally {
      await server.close();
    }
  } finally {
    compat.register.removeSingleMetric('exw_jobs');
    compat.register.setContentType(compat.Registry.PROMETHEUS_CONTENT_TYPE);
  }
});

test("a series' first exemplar of a turn of the event loop is set at once, its last when the turn ends", { timeout: 30_000 }, async () => {
  // The global registry: the one registry every thread shares.
  compat.register.setContentType(OPENMETRICS);
  new compat.Histogram({ name: 'exp_h', help: 'h', buckets: [1], enableExemplars: true });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const client = require('slotmetrics/prom-client');
     const { parentPort, workerData } = require('node:worker_threads');
     client.register.setContentType(client.openMetricsContentType);
     const h = new client.Histogram({ name: 'exp_h', help: 'h', buckets: [1], enableExemplars: true });
     for (const traceId of ['a1', 'a2', 'a3']) h.observe({ value: 0.5, exemplarLabels: { traceId } });
     h.observe({ value: 5, exemplarLabels: { traceId: 'b1' } }); // another bucket: set at once too
     parentPort.postMessage('observed');
     // The event loop blocked: the turn cannot end until the test lets it.
     Atomics.wait(workerData, 0, 0);`,
    { eval: true, workerData: gate },
  );
  const release = () => {
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
  };
  try {
    await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    const exemplarOf = (text, le) => text.match(new RegExp(`^exp_h_bucket\\{le="${le}"\\} \\d+ # \\{traceId="(\\w+)"\\}`, 'm'))?.[1];
    const during = await compat.register.getSingleMetricAsString('exp_h');
    assert.equal(exemplarOf(during, '1'), 'a1', during);
    assert.equal(exemplarOf(during, '\\+Inf'), 'b1', during);
    release();
    let after = during;
    while (exemplarOf(after, '1') === 'a1') {
      await new Promise((resolve) => setTimeout(resolve, 5));
      after = await compat.register.getSingleMetricAsString('exp_h');
    }
    assert.equal(exemplarOf(after, '1'), 'a3', after);
    assert.equal(exemplarOf(after, '\\+Inf'), 'b1', after);
  } finally {
    release();
    await worker.terminate();
    compat.register.removeSingleMetric('exp_h');
    compat.register.setContentType(compat.Registry.PROMETHEUS_CONTENT_TYPE);
  }
});

test('any value as exemplar labels or as one of their values is taken or refused cleanly', async () => {
  const registry = new compat.Registry(OPENMETRICS);
  const counter = new compat.Counter({ name: 'exv_c', help: 'h', enableExemplars: true, registers: [registry] });
  const histogram = new compat.Histogram({ name: 'exv_h', help: 'h', buckets: [1], enableExemplars: true, registers: [registry] });
  const values = [
    undefined,
    null,
    true,
    0,
    -0,
    NaN,
    Infinity,
    1n,
    '',
    'x'.repeat(1 << 16),
    Symbol('s'),
    {},
    [],
    ['a'],
    () => {},
    Object.create(null),
    new Map([[1, 2]]),
    new Date(0),
    JSON.parse('{"__proto__": {"p": 1}}'),
  ];
  let counted = 0;
  for (const value of values) {
    for (const exemplarLabels of [value, { traceId: value }]) {
      for (const update of [() => counter.inc({ exemplarLabels }), () => histogram.observe({ value: 0.5, exemplarLabels })]) {
        try {
          update();
          counted++;
        } catch (error) {
          assert.ok(error instanceof TypeError || error instanceof RangeError, `${String(error)} for ${typeof value}`);
        }
      }
    }
  }
  const text = await registry.metrics();
  // Every update taken was counted once, by whichever metric took it.
  const count = (name) => Number(text.match(new RegExp(`^${name} (\\S+)`, 'm'))[1]);
  assert.equal(count('exv_c_total') + count('exv_h_count'), counted);
  assert.ok(counted > values.length, `${counted} updates taken`);
  parseOpenMetricsStrict(text);
});

test("through each thread's ring: the newest exemplar wins, a full ring loses none, labels too long for an entry still go", async () => {
  const registry = new compat.Registry(OPENMETRICS);
  const counter = new compat.Counter({ name: 'ringed_exemplars', help: 'h', labelNames: ['k'], enableExemplars: true, registers: [registry] });
  const histogram = new compat.Histogram({ name: 'ringed_seconds', help: 'h', buckets: [1], enableExemplars: true, registers: [registry] });
  // More than a ring holds (1,024 entries), in one synchronous loop: the last of each series stays.
  for (let i = 0; i < 3000; i++) counter.inc({ labels: { k: String(i % 3) }, value: 1, exemplarLabels: { traceId: `t${i}` } });
  histogram.observe({ value: 0.5, exemplarLabels: { traceId: 'low' } });
  histogram.observe({ value: 5, exemplarLabels: { traceId: 'high' } });
  // Non-ASCII labels, and labels longer than an entry holds, take the native call instead.
  counter.inc({ labels: { k: 'ü' }, value: 1, exemplarLabels: { traceId: 'é'.repeat(100) } });
  const text = await registry.metrics();
  for (const [k, last] of [
    ['0', 2997],
    ['1', 2998],
    ['2', 2999],
  ]) {
    assert.match(text, new RegExp(`^ringed_exemplars_total\\{k="${k}"\\} 1000 # \\{traceId="t${last}"\\} 1 \\d+(\\.\\d+)?$`, 'm'));
  }
  assert.match(text, /^ringed_seconds_bucket\{le="1"\} 1 # \{traceId="low"\} 0\.5 /m);
  assert.match(text, /^ringed_seconds_bucket\{le="\+Inf"\} 2 # \{traceId="high"\} 5 /m);
  assert.match(text, new RegExp(`^ringed_exemplars_total\\{k="ü"\\} 1 # \\{traceId="${'é'.repeat(100)}"\\} 1 `, 'm'));
  parseOpenMetricsStrict(text);
});

test('an exemplar is stamped when it is set, not when it is read: the engine takes it in within about 10 ms', async () => {
  const registry = new compat.Registry(OPENMETRICS);
  const counter = new compat.Counter({ name: 'stamped', help: 'h', labelNames: ['n'], enableExemplars: true, registers: [registry] });
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // Quiet spells between them, so each wakes the engine's draining thread from its
  // sleep of up to a second: an exemplar that did not wake it would be stamped by the
  // read below, or by the drain a second brings, on average half a second late.
  const setAt = [];
  for (let n = 0; n < 5; n++) {
    await pause(250);
    setAt.push(Date.now() / 1000);
    counter.inc({ labels: { n }, value: 1, exemplarLabels: { traceId: `t${n}` } });
  }
  await pause(400);
  const text = await registry.metrics();
  for (let n = 0; n < 5; n++) {
    const line = text.split('\n').find((l) => l.startsWith(`stamped_total{n="${n}"}`));
    const stamped = Number(line?.split(' ').at(-1));
    // Milliseconds, as prom-client: the stamp may read up to 1 ms before the set.
    assert.ok(stamped >= setAt[n] - 0.001 && stamped - setAt[n] < 0.2, `set at ${setAt[n]}: ${line}`);
  }
});
