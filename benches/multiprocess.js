// One metric set over 8 processes: slotmetrics' multi-process group (shared memory)
// against prom-client 15.1.3's AggregatorRegistry (IPC to every worker, merged in the
// primary), each in a fresh node:cluster with the same 10k counter series in every
// worker; and prom-client's code on slotmetrics/prom-client in a group. Reports the
// scrape time and the event-loop delay of the process that serves.
//   npm run bench:multiprocess [-- --json FILE]
'use strict';

const cluster = require('node:cluster');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { runtimeName } = require('./runtime');

const WORKERS = 8;
const SERIES = 10_000;
const ROUNDS = 21;

/** Counts every one of the 10k series once: route × code, as a web app's would be. */
function countEverySeries(increment) {
  for (let i = 0; i < SERIES; i++) increment(`/api/v1/resource/${i % 1000}`, String(200 + Math.floor(i / 1000)));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** Times `scrape` ROUNDS times with the event loop of this process watched. */
async function timeScrapes(scrape) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const times = [];
  let bytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    bytes = (await scrape()).length;
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  delay.disable();
  return { ms: median(times), bytes, loopDelayMaxMs: delay.max / 1e6 };
}

/** Forks a worker and resolves with it and its first message. */
function forkWorker(env) {
  return new Promise((resolve) => {
    const worker = cluster.fork(env);
    worker.once('message', (message) => resolve({ worker, message }));
  });
}

/**
 * prom-client's API: the primary's AggregatorRegistry.clusterMetrics(), through
 * `library`. prom-client asks every worker over IPC and merges the answers;
 * slotmetrics/prom-client in a group reads shared memory.
 */
async function aggregatorPrimary(library) {
  const { AggregatorRegistry } = require(library);
  const aggregator = new AggregatorRegistry();
  const workers = await Promise.all(Array.from({ length: WORKERS }, () => forkWorker({ LIBRARY: library })));
  const result = await timeScrapes(() => aggregator.clusterMetrics());
  for (const { worker } of workers) worker.kill();
  return result;
}

function aggregatorWorker(library) {
  const client = require(library);
  // As prom-client's cluster example does: every worker answers the primary's requests.
  new client.AggregatorRegistry();
  const requests = new client.Counter({ name: 'bench_requests_total', help: 'Requests', labelNames: ['route', 'code'] });
  countEverySeries((route, code) => requests.inc({ route, code }));
  process.send('ready');
}

/** GET /metrics on a new connection, so the kernel may hand it to any worker's listener. */
function scrape(port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/**
 * slotmetrics' way: every worker is in the group and serves the same port; the
 * primary scrapes it over HTTP (a cost prom-client's figure does not include), and the
 * workers report their own event loops' delay while they served.
 */
async function slotmetricsPrimary() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-bench-group-'));
  const env = { LIBRARY: 'slotmetrics', SLOTMETRICS_MULTIPROCESS_DIR: dir };
  // The first worker takes a free port; the others listen on it too.
  const first = await forkWorker({ ...env, PORT: '0' });
  const others = await Promise.all(Array.from({ length: WORKERS - 1 }, () => forkWorker({ ...env, PORT: String(first.message.port) })));
  const workers = [first, ...others];
  const ask = (worker, request) =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.send(request);
    });
  // Every worker watches its event loop from now until it reports.
  await Promise.all(workers.map(({ worker }) => ask(worker, 'watch')));
  const result = await timeScrapes(() => scrape(first.message.port));
  const delays = await Promise.all(workers.map(({ worker }) => ask(worker, 'report')));
  const inProcess = await ask(first.worker, 'time registry.metrics()');
  for (const { worker } of workers) worker.kill();
  fs.rmSync(dir, { recursive: true });
  return { ...result, loopDelayMaxMs: Math.max(...delays.map((d) => d.loopDelayMaxMs)), registryMetricsMs: inProcess.ms };
}

async function slotmetricsWorker() {
  const { counterSchema, registry, serve } = require('slotmetrics');
  const requests = counterSchema('bench_requests_total').requireDynamicKey('route').requireDynamicKey('code').build();
  countEverySeries((route, code) => requests.with({ route, code }).increment());
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const server = await serve({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.on('message', async (message) => {
    if (message === 'watch') {
      delay.enable();
      process.send('watching');
    } else if (message === 'report') process.send({ loopDelayMaxMs: delay.max / 1e6 });
    else process.send(await timeScrapes(() => registry.metrics()));
  });
  process.send({ port: server.port });
}

function main() {
  const json = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
  const run = (library, env = {}) =>
    JSON.parse(execFileSync(process.execPath, [__filename, library], { encoding: 'utf8', env: { ...process.env, ...env } }));
  const theirs = run('prom-client');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-bench-group-'));
  const compat = run('slotmetrics/prom-client', { SLOTMETRICS_MULTIPROCESS_DIR: dir });
  fs.rmSync(dir, { recursive: true });
  const ours = run('slotmetrics');
  console.log(`${runtimeName()}: ${WORKERS} processes, each with the same ${SERIES} counter series; median of ${ROUNDS} scrapes:`);
  console.log(
    `  prom-client 15.1.3 AggregatorRegistry.clusterMetrics() in the primary   ${theirs.ms.toFixed(1)} ms (${theirs.bytes} bytes), event loop delayed up to ${theirs.loopDelayMaxMs.toFixed(1)} ms`,
  );
  console.log(
    `  slotmetrics group, GET /metrics from any worker                         ${ours.ms.toFixed(1)} ms (${ours.bytes} bytes), event loops delayed up to ${ours.loopDelayMaxMs.toFixed(1)} ms`,
  );
  console.log(`  slotmetrics group, registry.metrics() in a worker                       ${ours.registryMetricsMs.toFixed(1)} ms`);
  console.log(
    `  slotmetrics/prom-client group, clusterMetrics() in the primary          ${compat.ms.toFixed(1)} ms (${compat.bytes} bytes), event loop delayed up to ${compat.loopDelayMaxMs.toFixed(1)} ms`,
  );
  console.log(`  ${(theirs.ms / ours.ms).toFixed(1)}× faster scrapes, with no message to any worker`);
  if (json)
    fs.writeFileSync(
      json,
      `${JSON.stringify({ workers: WORKERS, series: SERIES, rounds: ROUNDS, promClient: theirs, slotmetrics: ours, promClientEntry: compat }, null, 2)}\n`,
    );
}

if (cluster.isWorker) {
  if (process.env.LIBRARY === 'slotmetrics') slotmetricsWorker();
  else aggregatorWorker(process.env.LIBRARY);
} else if (process.argv[2] === 'prom-client' || process.argv[2] === 'slotmetrics/prom-client') {
  aggregatorPrimary(process.argv[2]).then((result) => process.stdout.write(`${JSON.stringify(result)}\n`));
} else if (process.argv[2] === 'slotmetrics') {
  slotmetricsPrimary().then((result) => process.stdout.write(`${JSON.stringify(result)}\n`));
} else {
  main();
}
