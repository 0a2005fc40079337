// Runs one benchmark case of one library in this process (so no library's JIT
// feedback leaks into another's) and prints the result as JSON.
//   node benches/case.js <library> <case>
'use strict';

const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const libraries = require('./libraries');
const { measure, calibrate } = require('./measure');

const STATUS = ['200', '404', '500', '201'];
const METHOD = ['GET', 'POST'];
const ROUTES = ['/users', '/orders', '/health', '/login'];
// Trace ids for exemplars, 16 hex digits as OpenTelemetry's span ids.
const TRACES = Array.from({ length: 1024 }, (_, i) => (0x9e3779b97f4a7c15n * BigInt(i + 1)).toString(16).padStart(16, '0').slice(-16));
// Mostly fast requests with a long tail, as latencies are.
const VALUES = Float64Array.from({ length: 1024 }, (_, i) => (i % 10 === 0 ? (i % 7) * 0.7 : (i % 97) / 1000));

/** Each case: how to drive the library's operation in a loop. */
const LOOPS = {
  unlabeledIncrement: (op) => (n) => {
    for (let i = 0; i < n; i++) op();
  },
  cachedIncrement: (op) => (n) => {
    for (let i = 0; i < n; i++) op();
  },
  labeledIncrement: (op) => (n) => {
    for (let i = 0; i < n; i++) op(STATUS[i & 3], METHOD[(i >> 2) & 1]);
  },
  exemplarIncrement: (op) => (n) => {
    for (let i = 0; i < n; i++) op(STATUS[i & 3], METHOD[(i >> 2) & 1], TRACES[i & 1023]);
  },
  gaugeSet: (op) => (n) => {
    for (let i = 0; i < n; i++) op(i);
  },
  cachedObserve: (op) => (n) => {
    for (let i = 0; i < n; i++) op(VALUES[i & 1023]);
  },
  labeledObserve: (op) => (n) => {
    for (let i = 0; i < n; i++) op(VALUES[i & 1023], ROUTES[(i >> 3) & 3]);
  },
  cachedNativeObserve: (op) => (n) => {
    for (let i = 0; i < n; i++) op(VALUES[i & 1023]);
  },
  labeledNativeObserve: (op) => (n) => {
    for (let i = 0; i < n; i++) op(VALUES[i & 1023], ROUTES[(i >> 3) & 3]);
  },
  summaryObserve: (op) => (n) => {
    for (let i = 0; i < n; i++) op(VALUES[i & 1023], ROUTES[(i >> 3) & 3]);
  },
  helperIncrement: (op) => (n) => {
    for (let i = 0; i < n; i++) op(STATUS[i & 3], METHOD[(i >> 2) & 1]);
  },
  helperGauge: (op) => (n) => {
    for (let i = 0; i < n; i++) op(i, STATUS[i & 3], METHOD[(i >> 2) & 1]);
  },
  helperHistogram: (op) => (n) => {
    for (let i = 0; i < n; i++) op(VALUES[i & 1023], STATUS[i & 3], METHOD[(i >> 2) & 1]);
  },
};

const WORKERS = 2;

/** Two worker threads incrementing one unlabeled counter at full speed, together. */
async function twoWorkers(library) {
  const workers = Array.from({ length: WORKERS }, () => new Worker(__filename, { workerData: { library } }));
  const calibrations = await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  const n = Math.min(...calibrations.map((c) => c.n));
  const results = workers.map(
    (w) =>
      new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  for (const w of workers) w.postMessage(n);
  const perWorker = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  const nsPerOp = perWorker.reduce((sum, r) => sum + r.nsPerOp, 0) / WORKERS;
  // Only slotmetrics shares the counter between threads; check it counted every op.
  const expected = [...calibrations, ...perWorker].reduce((sum, r) => sum + r.operations, 0);
  const counted = await libraries[library]().read('bench_events_total');
  return { nsPerOp, perWorker: perWorker.map((r) => r.nsPerOp), operations: expected, counted: counted ?? null };
}

function workerMain() {
  const loop = LOOPS.unlabeledIncrement(libraries[workerData.library]().unlabeledIncrement());
  parentPort.postMessage(calibrate(loop));
  parentPort.once('message', (n) => parentPort.postMessage(measure(loop, { n })));
}

async function main() {
  const [library, name] = process.argv.slice(2);
  if (!libraries[library] || !(name in LOOPS || name === 'twoWorkers')) {
    throw new Error(`usage: case.js <${Object.keys(libraries).join('|')}> <${[...Object.keys(LOOPS), 'twoWorkers'].join('|')}>`);
  }
  const operation = libraries[library]()[name];
  // A library without this instrument (the OTel SDK has no summary): no figure.
  const result = name === 'twoWorkers' ? await twoWorkers(library) : operation === undefined ? { nsPerOp: null } : measure(LOOPS[name](operation()));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  workerMain();
}
