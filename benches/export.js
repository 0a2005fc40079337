// Export benchmark: pushing 10k and 100k counter series over OTLP/HTTP (protobuf,
// gzip) to a loopback receiver, slotmetrics' exportOtlp() against the OpenTelemetry JS
// SDK (PeriodicExportingMetricReader with the OTLP proto exporter) in the same run.
// Each library runs in a process of its own; the receiver is a third, which counts the
// bytes it is sent. Per export: CPU time of the JS thread (its schedstat) and of the
// whole process (process.cpuUsage()), bytes on the wire, and the event loop's worst
// delay meanwhile. With --delta both send delta temporality (what Datadog takes), and
// every series counts once more before each export, so that every export has every
// point to send.
//   npm run bench:export [-- --delta]
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const readline = require('node:readline');
const { runtimeName } = require('./runtime');

const SERIES = [10_000, 100_000];
const EXPORTS = 8;
const METRICS = 10;
const LIBRARIES = ['slotmetrics', 'opentelemetry'];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** CPU time of this process's main thread so far, in ms (Linux). */
function jsThreadCpuMs() {
  const [onCpuNs] = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
  return Number(onCpuNs) / 1e6;
}

function processCpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * In a child: records `series` series of counters with `library`, then exports on
 * command, each series counting once more before each export if `delta`.
 */
async function child(library, series, receiver, delta) {
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const perMetric = series / METRICS;
  let flush;
  let count;
  if (library === 'slotmetrics') {
    const { counterSchema, exportOtlp } = require('..');
    const counters = [];
    for (let m = 0; m < METRICS; m++) {
      const counter = counterSchema(`bench_requests_${m}`).requireDynamicKey('route').build();
      counters.push(Array.from({ length: perMetric }, (_, i) => counter.with({ route: `/route/${i}` })));
    }
    count = () => {
      for (const handles of counters) for (let i = 0; i < handles.length; i++) handles[i].add(i + 1);
    };
    const exporter = exportOtlp({
      endpoint: receiver,
      intervalMs: 3_600_000,
      compression: 'gzip',
      temporality: delta ? 'delta' : 'cumulative',
    });
    flush = () => exporter.flush();
  } else {
    const { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
    const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');
    const { CompressionAlgorithm } = require('@opentelemetry/otlp-exporter-base');
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({
        url: `${receiver}/v1/metrics`,
        compression: CompressionAlgorithm.GZIP,
        temporalityPreference: delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
      }),
      exportIntervalMillis: 3_600_000,
      // The SDK keeps 2000 series per instrument by default; every series is exported here.
      cardinalityLimits: { default: 1_000_000 },
    });
    const meter = new MeterProvider({ readers: [reader] }).getMeter('bench');
    const counters = Array.from({ length: METRICS }, (_, m) => meter.createCounter(`bench_requests_${m}_total`));
    const attributes = Array.from({ length: perMetric }, (_, i) => ({ route: `/route/${i}` }));
    count = () => {
      for (const counter of counters) for (let i = 0; i < attributes.length; i++) counter.add(i + 1, attributes[i]);
    };
    flush = () => reader.forceFlush();
  }
  count();
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  await flush(); // warm-up: connections, first encodings
  // CPU of each export in a window of its own, outside the counting before it: the
  // thread's schedstat is current only after it has slept, so a window opens and closes
  // with a sleep. Idle windows are taken beside them; medians, so that a collection of
  // the counting's garbage landing in one window does not count as an export's.
  const window = async (work) => {
    await sleep(20);
    const [js, whole] = [jsThreadCpuMs(), processCpuMs()];
    await work();
    await sleep(20);
    return { js: jsThreadCpuMs() - js, process: processCpuMs() - whole };
  };
  const [idle, busy, walls] = [[], [], []];
  for (let i = 0; i < EXPORTS; i++) {
    if (delta) count();
    idle.push(await window(() => {}));
    busy.push(
      await window(async () => {
        const start = performance.now();
        await flush();
        walls.push(performance.now() - start);
      }),
    );
  }
  const cost = (key) => median(busy.map((w) => w[key])) - median(idle.map((w) => w[key]));
  const cpu = { js: cost('js'), process: cost('process') };
  // The event loop's worst delay, in exports of their own: watching it wakes the loop
  // every millisecond, which would count in the CPU above.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let maxDelay = 0;
  for (let i = 0; i < EXPORTS; i++) {
    if (delta) count();
    await sleep(20);
    delay.reset();
    delay.enable();
    await flush();
    await new Promise((resolve) => setImmediate(resolve));
    delay.disable();
    maxDelay = Math.max(maxDelay, delay.max / 1e6);
  }
  process.stdout.write(`${JSON.stringify({ ...cpu, wall: median(walls), maxDelay })}\n`);
  process.exit(0);
}

/** A receiver in a process of its own: answers 200 and counts the bytes of each request. */
function receiverProcess() {
  let bytes = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/count') {
      res.end(JSON.stringify({ bytes, requests }));
      bytes = 0;
      requests = 0;
      return;
    }
    requests++;
    req.on('data', (chunk) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
}

function spawnLines(args) {
  const proc = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return { proc, next: async () => (await lines.next()).value };
}

async function main() {
  const delta = process.argv.includes('--delta');
  const receiver = spawnLines(['--receiver']);
  const url = `http://127.0.0.1:${await receiver.next()}`;
  console.log(
    `bench:export on ${runtimeName()}: ${EXPORTS} exports each after a warm-up, OTLP http/protobuf with gzip, ${delta ? 'delta' : 'cumulative'} temporality`,
  );
  const rows = [];
  for (const series of SERIES) {
    const measured = {};
    for (const library of LIBRARIES) {
      await fetch(`${url}/count`);
      const run = spawnLines(['--child', library, String(series), url, delta ? 'delta' : 'cumulative']);
      const result = JSON.parse(await run.next());
      const { bytes, requests } = await (await fetch(`${url}/count`)).json();
      // Every export sends the same: the warm-up, the CPU runs and the delay runs.
      const exports = 1 + 2 * EXPORTS;
      measured[library] = { ...result, bytes: bytes / exports, requests: requests / exports };
    }
    rows.push({ series, ...measured });
  }
  receiver.proc.kill();
  const ms = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  console.log('\n| series | library | JS thread CPU / export | process CPU / export | wall | worst event-loop delay | bytes sent / export |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    for (const library of LIBRARIES) {
      const m = row[library];
      console.log(
        `| ${row.series.toLocaleString('en')} | ${library} | ${ms(m.js)} ms | ${ms(m.process)} ms | ${ms(m.wall)} ms | ${ms(m.maxDelay)} ms | ${Math.round(m.bytes).toLocaleString('en')} B |`,
      );
    }
  }
  console.log('\nslotmetrics against the OpenTelemetry SDK (goals: JS thread < 0.01×, process ≤ 0.2×):');
  for (const row of rows) {
    const [a, b] = [row.slotmetrics, row.opentelemetry];
    console.log(
      `  ${row.series.toLocaleString('en')} series: JS thread ${(a.js / b.js).toFixed(4)}×, process ${(a.process / b.process).toFixed(3)}×, event-loop delay ${ms(a.maxDelay)} vs ${ms(b.maxDelay)} ms`,
    );
  }
}

if (process.argv[2] === '--child') child(process.argv[3], Number(process.argv[4]), process.argv[5], process.argv[6] === 'delta');
else if (process.argv[2] === '--receiver') receiverProcess();
else main();
