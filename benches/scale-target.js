// The process a scale benchmark scrapes: it registers N series in one library, serves
// them, watches its own event loop, and answers commands on stdin with JSON lines.
//   node --expose-gc benches/scale-target.js <slotmetrics|prom-client> <counters|histograms> <series> [--workers]
'use strict';

const http = require('node:http');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const readline = require('node:readline');
const { Worker, isMainThread, workerData } = require('node:worker_threads');

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];
const ROUTES = 1000;

/** Labels of series i: 1000 routes × as many codes as it takes. */
function labels(i) {
  return { route: `/api/v1/resource/${i % ROUTES}`, code: String(Math.floor(i / ROUTES)) };
}

function slotmetricsMetrics(kind) {
  const { counterSchema, histogramSchema } = require('slotmetrics');
  if (kind === 'counters') {
    const c = counterSchema('scale_requests_total')
      .help('Requests')
      .requireDynamicKey('route')
      .requireDynamicKey('code')
      .cardinalityLimit(1e6)
      .build();
    return {
      touch: (i) => c.with(labels(i)).add(i % 7),
      handle: (i) => {
        const h = c.with(labels(i));
        return () => h.increment();
      },
    };
  }
  const h = histogramSchema('scale_duration_seconds')
    .help('Duration')
    .buckets(BUCKETS)
    .requireDynamicKey('route')
    .requireDynamicKey('code')
    .cardinalityLimit(1e6)
    .build();
  return {
    touch: (i) => h.with(labels(i)).observe((i % 100) / 50),
    handle: (i) => {
      const s = h.with(labels(i));
      return () => s.observe(0.07);
    },
  };
}

function promClientMetrics(kind, registry) {
  const client = require('prom-client');
  if (kind === 'counters') {
    const c = new client.Counter({ name: 'scale_requests_total', help: 'Requests', labelNames: ['route', 'code'], registers: [registry] });
    return { touch: (i) => c.inc(labels(i), i % 7) };
  }
  const h = new client.Histogram({
    name: 'scale_duration_seconds',
    help: 'Duration',
    labelNames: ['route', 'code'],
    buckets: BUCKETS,
    registers: [registry],
  });
  return { touch: (i) => h.observe(labels(i), (i % 100) / 50) };
}

async function startServer(library, registry) {
  if (library === 'slotmetrics') {
    const server = await require('slotmetrics').serve({ port: 0, host: '127.0.0.1' });
    return server.url;
  }
  // prom-client has no server: this is the usual way to expose it.
  const server = http.createServer(async (_req, res) => {
    const body = await registry.metrics();
    res.setHeader('Content-Type', registry.contentType);
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}/metrics`;
}

function rss() {
  global.gc();
  return process.memoryUsage().rss;
}

// Update threads: increment one series as fast as they can and publish how many
// increments they made, so the parent can time windows with and without scrapes.
function updateWorker() {
  const { kind, counters, index } = workerData;
  const done = new BigInt64Array(counters);
  const op = slotmetricsMetrics(kind).handle(0);
  for (;;) {
    for (let i = 0; i < 10000; i++) op();
    done[index] += 10000n;
  }
}

async function main() {
  const [library, kind, seriesArg] = process.argv.slice(2);
  const series = Number(seriesArg);
  const withWorkers = process.argv.includes('--workers');
  const registry = library === 'prom-client' ? new (require('prom-client').Registry)() : undefined;
  const metrics = library === 'slotmetrics' ? slotmetricsMetrics(kind) : promClientMetrics(kind, registry);

  const rssBefore = rss();
  const start = process.hrtime.bigint();
  for (let i = 0; i < series; i++) metrics.touch(i);
  const registerNs = Number(process.hrtime.bigint() - start) / series;
  const rssAfter = rss();
  const url = await startServer(library, registry);

  const counters = new SharedArrayBuffer(16);
  const workers = withWorkers ? [0, 1].map((index) => new Worker(__filename, { workerData: { kind, counters, index } })) : [];
  const done = new BigInt64Array(counters);

  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const reply = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
  reply({ url, registerUsPerSeries: registerNs / 1000, rssBytesPerSeries: (rssAfter - rssBefore) / series });

  const commands = readline.createInterface({ input: process.stdin });
  for await (const command of commands) {
    if (command === 'reset') {
      delay.reset();
      reply({ ok: true });
    } else if (command === 'delay') {
      // The histogram records whole timer intervals; the delay is what exceeds the
      // 1 ms resolution.
      const late = (ns) => Math.max(0, ns / 1e6 - 1);
      reply({ p99Ms: late(delay.percentile(99)), maxMs: late(delay.max), meanMs: late(delay.mean) });
    } else if (command === 'updates') {
      reply({ increments: Number(done[0] + done[1]), at: Number(process.hrtime.bigint()) });
    } else if (command === 'exit') {
      break;
    }
  }
  commands.close();
  await Promise.all(workers.map((w) => w.terminate()));
  process.exit(0);
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  updateWorker();
}
