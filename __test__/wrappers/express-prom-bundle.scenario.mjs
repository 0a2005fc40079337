// express-prom-bundle 8 on slotmetrics/prom-client (its `prom-client` resolved to the
// entry by scripts/test-wrappers.mjs): the middleware's metrics, its /metrics route,
// default metrics, and the internals its users' tests read.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(`${process.cwd()}/`);
const express = require('express');
const bundle = require('express-prom-bundle');
const promClient = require('prom-client');

async function listen(app) {
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('prom-client resolves to slotmetrics/prom-client', () => {
  assert.equal(promClient.register, require('slotmetrics/prom-client').register);
});

test('requests are counted by method, path and status, served at /metrics with up and default metrics', { timeout: 30_000 }, async () => {
  promClient.register.clear();
  const metrics = bundle({ includeMethod: true, includePath: true, promClient: { collectDefaultMetrics: {} } });
  const app = express();
  app.use(metrics);
  app.get('/users/:id', (_req, res) => res.send('ok'));
  app.get('/fail', (_req, res) => res.status(500).send('no'));
  const { url, close } = await listen(app);
  try {
    for (const path of ['/users/1', '/users/2', '/fail']) await (await fetch(url + path)).text();
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /^up 1$/m);
    assert.match(text, /^http_request_duration_seconds_count\{status_code="200",method="GET",path="\/users\/#val"\} 2$/m);
    assert.match(text, /^http_request_duration_seconds_count\{status_code="500",method="GET",path="\/fail"\} 1$/m);
    assert.match(text, /^process_cpu_user_seconds_total \d/m, 'default metrics');
    // What express-prom-bundle's own tests (and their users') read: prom-client's internal map.
    const histogram = metrics.metrics.http_request_duration_seconds;
    const series = histogram.hashMap['method:GET,path:/users/#val,status_code:200,'];
    assert.equal(series.count, 2);
    assert.deepEqual(
      Object.keys(series.bucketValues)
        .map(Number)
        .sort((a, b) => a - b),
      histogram.buckets,
    );
    assert.equal(
      Object.values(series.bucketValues).reduce((a, b) => a + b),
      2,
      'per-bucket counts, as prom-client keeps them',
    );
    // The same series in slotmetrics' own registry, which serve() exposes from Rust.
    assert.match(
      await require('slotmetrics').registry.metrics(),
      /^http_request_duration_seconds_count\{status_code="200",method="GET",path="\/users\/#val"\} 2$/m,
    );
  } finally {
    await close();
  }
});

test('excluded routes and a custom metrics path and type', { timeout: 30_000 }, async () => {
  promClient.register.clear();
  const app = express();
  app.use(bundle({ metricsPath: '/prometheus', excludeRoutes: ['/health'], metricType: 'summary', includeMethod: true }));
  app.get('/health', (_req, res) => res.send('ok'));
  app.get('/work', (_req, res) => res.send('ok'));
  const { url, close } = await listen(app);
  try {
    await (await fetch(`${url}/health`)).text();
    await (await fetch(`${url}/work`)).text();
    const text = await (await fetch(`${url}/prometheus`)).text();
    assert.match(text, /^# TYPE http_request_duration_seconds summary$/m);
    assert.match(text, /^http_request_duration_seconds_count\{status_code="200",method="GET"\} 1$/m, 'only /work');
  } finally {
    await close();
  }
});
