// OpenTelemetry API benchmark: the same instruments and measurements through
// slotmetrics/otel's MeterProvider and through @opentelemetry/sdk-metrics' (with a
// reader attached, as every real pipeline has: without one the SDK stores nothing).
// Each library runs in a process of its own. Reported: ns per measurement (median of
// rounds of ~100 ms), the JS thread's CPU per collection with observable callbacks,
// and memory per series.
//   npm run bench:otel
//   node benches/otel.js --quick     fewer rounds and series (a smoke run)
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const { measure } = require('./measure');
const { runtimeName } = require('./runtime');

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 3 : 7;
const MEMORY_SERIES = QUICK ? 10_000 : 100_000;
const COLLECTIONS = QUICK ? 20 : 200;
const OBSERVABLES = 10;
const OBSERVED_SERIES = 10;
const LIBRARIES = ['slotmetrics', 'opentelemetry'];

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const ROUTES = ['/users', '/users/:id', '/orders', '/orders/:id', '/health', '/login', '/cart', '/search'];

/** The instrumentation-http server attributes of request `i`, as a new object each call. */
function serverAttributes(i) {
  return {
    'http.request.method': METHODS[i & 3],
    'url.scheme': 'http',
    'network.protocol.version': '1.1',
    'http.route': ROUTES[i & 7],
    'http.response.status_code': 200,
  };
}

/** A MeterProvider of `library`; `collect()` runs one collection as a reader or a scrape would. */
function providerOf(library, cardinalityLimit) {
  if (library === 'slotmetrics') {
    const { MeterProvider } = require('../dist/otel');
    const { Registry } = require('..');
    const registry = new Registry();
    const provider = new MeterProvider({ registry, cardinalityLimit, withoutTargetInfo: true });
    return { provider, collect: () => registry.metrics() };
  }
  const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
  class InMemoryReader extends MetricReader {
    onForceFlush() {
      return Promise.resolve();
    }
    onShutdown() {
      return Promise.resolve();
    }
  }
  const reader = new InMemoryReader({ cardinalitySelector: () => cardinalityLimit });
  return { provider: new MeterProvider({ readers: [reader] }), collect: () => reader.collect() };
}

/** ns per measurement of each recording pattern. */
function recording(library) {
  const meter = providerOf(library, 2000).provider.getMeter('bench', '1.0.0');
  // An instrument per case, as an instrumentation has: each sees one set of attribute keys.
  const counter = (name) => meter.createCounter(name);
  const histogram = (name) =>
    meter.createHistogram(name, {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] },
    });
  const [requests, duration, serverRequests, serverDuration] = [
    counter('bench.requests'),
    histogram('bench.duration'),
    counter('http.server.requests'),
    histogram('http.server.request.duration'),
  ];
  const twoAttributes = ROUTES.map((route, i) => ({ 'http.request.method': METHODS[i & 3], 'http.route': route }));
  const oneAttribute = ROUTES.map((route) => ({ 'http.route': route }));
  const cases = {
    'counter.add(1, {2 attributes})': (n) => {
      for (let i = 0; i < n; i++) requests.add(1, twoAttributes[i & 7]);
    },
    'histogram.record(v, {1 attribute})': (n) => {
      for (let i = 0; i < n; i++) duration.record((i & 1023) / 1000, oneAttribute[i & 7]);
    },
    'counter.add(1, new {5 attributes})': (n) => {
      for (let i = 0; i < n; i++) serverRequests.add(1, serverAttributes(i));
    },
    'histogram.record(v, new {5 attributes})': (n) => {
      for (let i = 0; i < n; i++) serverDuration.record((i & 1023) / 1000, serverAttributes(i));
    },
  };
  const result = {};
  for (const [name, loop] of Object.entries(cases)) result[name] = measure(loop, { rounds: ROUNDS }).nsPerOp;
  return result;
}

/** CPU time of this process's main thread so far, in ms (Linux). */
function jsThreadCpuMs() {
  const [onCpuNs] = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
  return Number(onCpuNs) / 1e6;
}

/** The JS thread's CPU per collection of 10 observable gauges of 10 series each. */
async function observing(library) {
  const { provider, collect } = providerOf(library, 2000);
  const meter = provider.getMeter('bench', '1.0.0');
  for (let o = 0; o < OBSERVABLES; o++) {
    meter.createObservableGauge(`bench.observed.${o}`).addCallback((result) => {
      for (let s = 0; s < OBSERVED_SERIES; s++) result.observe(s * o, { 'v8js.heap.space.name': `space_${s}` });
    });
  }
  for (let i = 0; i < 5; i++) await collect();
  const start = jsThreadCpuMs();
  for (let i = 0; i < COLLECTIONS; i++) await collect();
  return (jsThreadCpuMs() - start) / COLLECTIONS;
}

const kept = [];

/** Bytes per series: the JS heap's and the process's (RSS) growth for MEMORY_SERIES new series. */
function memory(library) {
  const { provider } = providerOf(library, MEMORY_SERIES * 2);
  const counter = provider.getMeter('bench', '1.0.0').createCounter('bench.memory');
  counter.add(1, { 'http.route': 'warm-up', 'user.id': -1 });
  globalThis.gc();
  const before = process.memoryUsage();
  for (let i = 0; i < MEMORY_SERIES; i++) counter.add(1, { 'http.route': ROUTES[i & 7], 'user.id': i });
  globalThis.gc();
  const after = process.memoryUsage();
  // Kept reachable until measured: else the second gc() collects the provider's series too.
  kept.push(provider, counter);
  return { heap: (after.heapUsed - before.heapUsed) / MEMORY_SERIES, rss: (after.rss - before.rss) / MEMORY_SERIES };
}

async function child(library) {
  const result = { recording: recording(library), collection: await observing(library), memory: memory(library) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(library) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', __filename, '--child', library, ...(QUICK ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
    });
    proc.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`${library} exited with ${code}`)),
    );
  });
}

async function main() {
  const results = {};
  for (const library of LIBRARIES) results[library] = await runChild(library);
  const [ours, sdk] = [results.slotmetrics, results.opentelemetry];
  console.log(`bench:otel on ${runtimeName()}: slotmetrics/otel against @opentelemetry/sdk-metrics with a reader\n`);
  console.log('| measurement | slotmetrics | OpenTelemetry SDK | slotmetrics is |');
  console.log('|---|---:|---:|---:|');
  for (const name of Object.keys(ours.recording)) {
    const [a, b] = [ours.recording[name], sdk.recording[name]];
    console.log(`| \`${name}\` | ${a.toFixed(1)} ns | ${b.toFixed(0)} ns | ${(b / a).toFixed(0)}× faster |`);
  }
  const [ca, cb] = [ours.collection, sdk.collection];
  console.log(
    `| collection, ${OBSERVABLES} observable gauges × ${OBSERVED_SERIES} series (JS thread CPU) | ${ca.toFixed(3)} ms | ${cb.toFixed(3)} ms | ${(cb / ca).toFixed(1)}× less |`,
  );
  const kib = (bytes) => `${bytes.toFixed(0)} B`;
  console.log(`| JS heap per series (${MEMORY_SERIES.toLocaleString('en')} series) | ${kib(ours.memory.heap)} | ${kib(sdk.memory.heap)} | |`);
  console.log(`| RSS per series | ${kib(ours.memory.rss)} | ${kib(sdk.memory.rss)} | |`);
  console.log('\ngoals: ≥ 20× on the first two rows, ≥ 10× with a new attributes object per call');
}

if (process.argv[2] === '--child') child(process.argv[3]);
else main();
