// The apps of examples/ run as their comments say: each is started, sent traffic and
// scraped (the serverless handler is invoked, and its push received), on loopback; the
// NestJS app is type-checked and compiled by TypeScript first, as its users build it.
// examples/pm2 runs under real PM2 in pm2.test.mjs; demo and prom-client-migration
// have tests of their own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { decodeOtlp, eventually, freePort, loopbackReceiver, parseSamples, promtoolCheck } from './helpers.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const example = (file) => path.resolve(ROOT, 'examples', file);

/**
 * Starts `examples/<file>` with `env`; resolves once it prints its `listening: APP
 * metrics: URL` line, to `{ app, metrics, stop() }`.
 */
function start(file, env) {
  const child = spawn(process.execPath, [example(file)], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start within 30 s:\n${output}`)), 30_000);
    const read = (chunk) => {
      output += chunk;
      const ready = output.match(/listening: (\S+) metrics: (\S+)/);
      if (!ready) return;
      clearTimeout(timer);
      const stop = async () => {
        child.kill('SIGTERM');
        await exited;
      };
      resolve({ app: ready[1], metrics: ready[2], stop });
    };
    child.stdout.on('data', read);
    child.stderr.on('data', (chunk) => (output += chunk));
    exited.then((code) => reject(new Error(`${file} exited (${code}) before it was ready:\n${output}`)));
  });
}

/** The samples of a scrape of `url`, after promtool has read it. */
async function scrape(url, { lint = true } = {}) {
  const body = await (await fetch(url)).text();
  const { status, output } = promtoolCheck(body);
  // promtool's lint (exit 3) notes prom-client's default metrics' names, kept on purpose.
  assert.ok(status === 0 || (!lint && status === 3), output);
  return parseSamples(body);
}

/** The value of the sample named `series`, or of the first whose name `series` accepts when it is a function. */
function sampleOf(samples, series) {
  if (typeof series === 'string') return samples.get(series);
  for (const [name, value] of samples) if (series(name)) return value;
}

/**
 * Scrapes `url` until `series` reads `value`: an app records a request as it finishes
 * it, which may be after the client has read the whole response.
 */
function until(url, series, value, options) {
  return eventually(
    () => scrape(url, options),
    (samples) => sampleOf(samples, series) === value,
  );
}

test('examples/express: request metrics by route pattern, default metrics, Rust-served /metrics', async () => {
  const { app, metrics, stop } = await start('express/app.js');
  try {
    await fetch(`${app}/users/7`);
    await fetch(`${app}/orders?payment=paypal`, { method: 'POST' });
    const series = 'http_requests_total{method="POST",route="/orders",status_code="201"}';
    const samples = await until(metrics, series, 1, { lint: false });
    assert.equal(samples.get(series), 1);
    assert.equal(samples.get('http_requests_total{method="GET",route="/users/:id",status_code="200"}'), 1);
    assert.equal(samples.get('shop_orders_total{payment="paypal"}'), 1);
    assert.ok(samples.get('process_resident_memory_bytes') > 0);
    assert.equal((await fetch(new URL('/health/ready', metrics))).status, 200);
  } finally {
    await stop();
  }
});

test('examples/fastify: /metrics from its own route, in the format the scraper asks for', async () => {
  const { app, metrics, stop } = await start('fastify/app.js');
  try {
    for (const id of [1, 2]) await fetch(`${app}/items/${id}`);
    const series = 'http_requests_total{method="GET",route="/items/:itemId",status_code="200"}';
    const samples = await until(metrics, series, 2);
    assert.equal(samples.get(series), 2);
    assert.equal(samples.get('inventory_lookup_seconds_count'), 2);
    const openMetrics = await fetch(metrics, { headers: { accept: 'application/openmetrics-text;version=1.0.0' } });
    assert.match(openMetrics.headers.get('content-type'), /^application\/openmetrics-text; version=1\.0\.0/);
    assert.match(await openMetrics.text(), /# EOF\n$/);
    const protobuf = await fetch(metrics, {
      headers: { accept: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited' },
    });
    assert.match(protobuf.headers.get('content-type'), /^application\/vnd\.google\.protobuf/);
    assert.ok((await protobuf.arrayBuffer()).byteLength > 0);
  } finally {
    await stop();
  }
});

test('examples/cluster: two workers, one group, every scrape the group total', async () => {
  const group = fs.mkdtempSync(path.join(os.tmpdir(), 'slotmetrics-cluster-example-'));
  const { app, metrics, stop } = await start('cluster/app.js', {
    WORKERS: '2',
    METRICS_PORT: String(await freePort()),
    SLOTMETRICS_MULTIPROCESS_DIR: group,
  });
  try {
    // New connections each, so the kernel spreads them over the workers.
    for (let i = 0; i < 20; i++) await fetch(app, { headers: { connection: 'close' } });
    for (let i = 0; i < 5; i++) {
      const samples = await until(metrics, 'http_requests_total{method="GET",route="/",status_code="200"}', 20);
      assert.equal(samples.get('http_requests_total{method="GET",route="/",status_code="200"}'), 20);
      const byWorker = [...samples].filter(([name]) => name.startsWith('cluster_requests_by_worker_total'));
      assert.equal(
        byWorker.reduce((total, [, value]) => total + value, 0),
        20,
      );
    }
  } finally {
    await stop();
    fs.rmSync(group, { recursive: true, force: true });
  }
});

test('examples/opentelemetry: instrumentation-http records into slotmetrics beside the app', async () => {
  const { app, metrics, stop } = await start('opentelemetry/app.js');
  try {
    for (let i = 0; i < 3; i++) await fetch(app);
    const requests = (name) => name.startsWith('http_server_request_duration_seconds_count{');
    const samples = await until(metrics, requests, 3, { lint: false });
    assert.equal(sampleOf(samples, requests), 3, 'http.server.request.duration counts every request');
    assert.equal(
      sampleOf(samples, (name) => name.startsWith('greeter_greetings_total{')),
      3,
    );
  } finally {
    await stop();
  }
});

test('examples/nestjs: compiled as its tsconfig says, request metrics by route from the Express adapter', async () => {
  const config = ts.getParsedCommandLineOfConfigFile(
    example('nestjs/tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => assert.fail(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')),
    },
  );
  const program = ts.createProgram(config.fileNames, config.options);
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  assert.deepEqual(
    diagnostics.map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')),
    [],
  );
  const { app, metrics, stop } = await start(path.join(config.options.outDir, 'main.mjs'));
  try {
    await fetch(`${app}/items/1`);
    await fetch(`${app}/items/404`);
    const series = 'http_requests_total{method="GET",route="/items/:id",status_code="404"}';
    const samples = await until(metrics, series, 1);
    assert.equal(samples.get(series), 1);
    assert.equal(samples.get('http_requests_total{method="GET",route="/items/:id",status_code="200"}'), 1);
    assert.equal(samples.get('catalog_lookups_total{found="true"}'), 1);
    assert.equal(samples.get('catalog_lookups_total{found="false"}'), 1);
  } finally {
    await stop();
  }
});

test('examples/serverless: an invocation returns, and its metrics were pushed before it did', async () => {
  const receiver = await loopbackReceiver(() => ({ headers: { 'content-type': 'application/x-protobuf' } }));
  try {
    const event = JSON.stringify({ items: [{ price: 2, quantity: 3 }] });
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/invoke-handler.mjs', import.meta.url)), event], {
      cwd: ROOT,
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'checkout' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 0);
    assert.deepEqual(JSON.parse(output), { statusCode: 200, body: JSON.stringify({ total: 6 }) });

    assert.ok(receiver.requests.length >= 1, 'the invocation pushed before it returned');
    const metrics = decodeOtlp(receiver.requests.map((request) => request.body)).flatMap((request) =>
      request.resourceMetrics.flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics)),
    );
    const invocations = metrics.find((metric) => metric.name === 'checkout_invocations_total');
    assert.ok(invocations, 'checkout_invocations_total was pushed');
    const points = invocations.sum.dataPoints;
    assert.equal(
      points.reduce((total, point) => total + Number(point.asDouble ?? point.asInt), 0),
      1,
    );
  } finally {
    await receiver.close();
  }
});
